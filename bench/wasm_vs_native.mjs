// WebAssembly latency under Node beside native, in one run: for each model,
// the median of inferBytes() of the js/ package (wasm32, scalar kernels, one
// thread) and the median of cvm-run --repeat on this machine, one thread,
// with the best kernels and with CVM_ISA=scalar (the same algorithm as the
// wasm build), as ratios. Models alternate so that a change of load on the
// host touches every column alike.
//
//   node bench/wasm_vs_native.mjs [--runs N] [--rounds R] [--cvm-run PATH]
//                                 [--wasm FILE.wasm] [model...]
//
// Needs js/dist (tools/wasm_build.sh --no-test) and a native build
// (build/cvm-run). Models: lenet_28 cifar_resnet20 mobilenet1_0 from
// ../shared/conformance/models (else examples/models).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { Model, init } from '../js/index.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
let runs = 20, rounds = 3, cvmRun = path.join(root, 'build', 'cvm-run');
const names = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--rounds') rounds = Number(args[++i]);
  else if (args[i] === '--cvm-run') cvmRun = args[++i];
  else if (args[i] === '--wasm') await init({ wasmBinary: readFileSync(args[++i]) });
  else names.push(args[i]);
}
if (names.length === 0) names.push('lenet_28', 'cifar_resnet20', 'mobilenet1_0');

function modelDir(name) {
  for (const base of [path.join(root, '..', 'shared', 'conformance', 'models'),
                      path.join(root, 'examples', 'models')]) {
    if (existsSync(path.join(base, name, 'symbol.json'))) return path.join(base, name);
  }
  throw new Error(`model ${name} not found`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function wasmMs(model, input) {
  model.inferBytes(input);  // first inference allocates the storage
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    model.inferBytes(input);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

function nativeMs(dir, isa) {
  const env = { ...process.env };
  if (isa) env.CVM_ISA = isa; else delete env.CVM_ISA;
  const out = execFileSync(cvmRun, ['--model', dir, '--input', path.join(dir, 'input.bin'),
                                    '--repeat', String(runs), '--threads', '1'], { env }).toString();
  const m = out.match(/median ([0-9.]+) ms/);
  if (!m) throw new Error(`no latency in cvm-run's output:\n${out}`);
  return Number(m[1]);
}

const models = [];
for (const name of names) {
  const dir = modelDir(name);
  const model = await Model.load(readFileSync(path.join(dir, 'symbol.json')),
                                 readFileSync(path.join(dir, 'params.bin')));
  models.push({ name, dir, model, input: new Uint8Array(readFileSync(path.join(dir, 'input.bin'))),
                wasm: [], native: [], scalar: [] });
}
for (let r = 0; r < rounds; ++r) {
  for (const m of models) {
    m.wasm.push(await wasmMs(m.model, m.input));
    m.native.push(nativeMs(m.dir, null));
    m.scalar.push(nativeMs(m.dir, 'scalar'));
  }
}
console.log(`medians of ${runs} runs, best of ${rounds} rounds (ms), one thread`);
console.log('model            wasm      native    native-scalar  wasm/native  wasm/native-scalar');
for (const m of models) {
  const w = Math.min(...m.wasm), n = Math.min(...m.native), s = Math.min(...m.scalar);
  console.log(`${m.name.padEnd(15)} ${w.toFixed(3).padStart(9)} ${n.toFixed(3).padStart(9)} ` +
              `${s.toFixed(3).padStart(12)}   ${(w / n).toFixed(2).padStart(9)}  ${(w / s).toFixed(2).padStart(12)}`);
  m.model.free();
}
