// The recorded conformance cases (tests/data and ../shared/conformance/models)
// and what a conforming runtime does with each, as tests/conformance_test.cpp
// reads the conformance README.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const sourceDir = fileURLToPath(new URL('../../', import.meta.url));
export const dataDir = path.join(sourceDir, 'tests', 'data');
export const sharedModelsDir = path.join(sourceDir, '..', 'shared', 'conformance', 'models');

// Case folders `depth` levels under `root` (those holding case.json), sorted.
export function collect(root, group, depth) {
  const out = [];
  const walk = (dir, rel, level) => {
    if (level === depth) {
      if (existsSync(path.join(dir, 'case.json'))) out.push({ id: `${group}/${rel}`, dir });
      return;
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name), rel ? `${rel}/${e.name}` : e.name, level + 1);
    }
  };
  if (existsSync(root)) walk(root, '', 0);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function readCase(c) {
  const info = JSON.parse(readFileSync(path.join(c.dir, 'case.json'), 'utf8'));
  const file = (name) => readFileSync(path.join(c.dir, name));
  let status = info.status || '';
  let errorCode = info.error_code || 0;
  let outputFile = 'output.bin';
  if (status === 'crash' || info.kind === 'heads_bad' || info.kind === 'params_truncated') {
    // The reference crashed or read past its buffers: a clean rejection.
    status = 'load_error';
    errorCode = 1;
  } else if (info.op === 'cvm_left_shift' && 'formal_status' in info) {
    // The CPU build's left shift always fails: follow the specification build.
    status = info.formal_status;
    outputFile = 'output.formal.bin';
  }
  return {
    info,
    status,
    errorCode,
    symbol: file('symbol.json'),
    params: file('params.bin'),
    input: file('input.bin'),
    expected: status === 'ok' ? file(outputFile) : null,
  };
}
