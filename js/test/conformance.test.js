// Every recorded conformance case through the WebAssembly build: load
// verdict and error code, the figures, and every output byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { Model, CvmError } from '../index.js';
import { collect, readCase, dataDir, sharedModelsDir } from '../test-support/cases.js';

const figures = [
  ['gas', 'gas'],
  ['storage_size', 'storageSize'],
  ['input_length', 'inputLength'],
  ['output_length', 'outputLength'],
  ['input_type_size', 'inputTypeSize'],
  ['output_type_size', 'outputTypeSize'],
];

async function rejects(promiseOrFn, code) {
  try {
    await promiseOrFn();
  } catch (e) {
    assert.ok(e instanceof CvmError, `expected a CvmError, got ${e}`);
    assert.equal(e.code, code, `error code ${e.code} (${e.message}), expected ${code}`);
    return;
  }
  assert.fail(`succeeded, expected error ${code}`);
}

// tests/data/regressions: cases found by fuzzing or review, with the
// expected codes of loading and inference ("model" cases run here; the
// parser-only ones are for the C++ suite).
async function runRegression(c, t) {
  const info = JSON.parse(readFileSync(path.join(c.dir, 'case.json'), 'utf8'));
  if (info.target !== 'model') {
    t.skip(`target ${info.target}: the C++ suite runs it`);
    return false;
  }
  const file = (name) => readFileSync(path.join(c.dir, name));
  if (info.load !== 0) {
    await rejects(() => Model.load(file('symbol.json'), file('params.bin')), info.load);
    return true;
  }
  const model = await Model.load(file('symbol.json'), file('params.bin'));
  try {
    // The input file is a seed, repeated to the model's input length (as
    // tests/regression_test.cpp does).
    const seed = file('input.bin');
    const input = new Uint8Array(model.inputLength);
    for (let i = 0; i < input.length && seed.length > 0; ++i) input[i] = seed[i % seed.length];
    if (info.infer !== 0) {
      await rejects(() => model.inferBytes(input), info.infer);
    } else {
      assert.equal(model.inferBytes(input).length, model.outputLength);
    }
  } finally {
    model.free();
  }
  return true;
}

async function runCase(c, t) {
  if (c.id.startsWith('regressions/')) return runRegression(c, t);
  const k = readCase(c);
  if (k.status === 'load_error') {
    await rejects(() => Model.load(k.symbol, k.params), k.errorCode);
    return true;
  }
  const model = await Model.load(k.symbol, k.params);
  try {
    for (const [field, property] of figures) {
      if (field in k.info) assert.equal(model[property], k.info[field], field);
    }
    if (k.status === 'infer_error') {
      await rejects(() => model.inferBytes(new Uint8Array(k.input)), k.errorCode);
      return true;
    }
    const output = model.inferBytes(new Uint8Array(k.input));
    assert.equal(output.length, k.expected.length, 'output length');
    assert.ok(Buffer.from(output).equals(k.expected), 'output bytes differ');
  } finally {
    model.free();
  }
  return true;
}

function group(name, root, depth) {
  const cases = collect(root, name, depth);
  test(`conformance: ${name} (${cases.length} cases)`, async (t) => {
    let passed = 0, run = 0;
    for (const c of cases) {
      await t.test(c.id, async (tc) => {
        let ran = true;  // false: skipped
        try {
          ran = await runCase(c, tc);
          if (ran) ++passed;
        } finally {
          if (ran) ++run;
        }
      });
    }
    t.diagnostic(`${name}: ${passed} of ${run} cases pass`);
  });
  return cases;
}

const ops = group('ops', path.join(dataDir, 'ops'), 2);
const hostile = group('hostile', path.join(dataDir, 'hostile'), 1);
const post = group('postprocess', path.join(dataDir, 'postprocess'), 1);
group('regressions', path.join(dataDir, 'regressions'), 1);
if (!process.env.CVM_JS_NO_MODELS) group('models', sharedModelsDir, 1);

test('the recorded cases are all there', () => {
  assert.ok(ops.length >= 500, `${ops.length} operator cases`);
  assert.ok(hostile.length >= 50, `${hostile.length} hostile cases`);
  assert.ok(post.length >= 12, `${post.length} postprocess cases`);
});
