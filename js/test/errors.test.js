// Bad input from JavaScript: a thrown CvmError with the reference's code,
// and the same instance (and model) still usable afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { Model, CvmError } from '../index.js';
import { dataDir, sourceDir } from '../test-support/cases.js';

const lenetDir = path.join(sourceDir, 'examples', 'models', 'lenet_28');
const lenet = (name) => readFileSync(path.join(lenetDir, name));
const hostile = (kind, name) => readFileSync(path.join(dataDir, 'hostile', kind, name));

async function expectCode(fn, code) {
  await assert.rejects(async () => fn(), (e) => {
    assert.ok(e instanceof CvmError, `expected a CvmError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.length > 0);
    return true;
  });
}

// The recorded output of the bundled LeNet: the model still works.
function assertLenetWorks(model) {
  const out = model.inferBytes(new Uint8Array(lenet('input.bin')));
  assert.ok(Buffer.from(out).equals(lenet('output.bin')));
}

test('model figures', async () => {
  const model = await Model.load(lenet('symbol.json').toString(), lenet('params.bin'));
  const recorded = JSON.parse(lenet('case.json'));
  assert.deepEqual(model.input, { name: 'data', shape: [1, 1, 28, 28], precision: 8 });
  assert.equal(model.outputs.length, 1);
  assert.equal(model.outputs[0].shape.reduce((a, b) => a * b, 1) * model.outputTypeSize,
               recorded.output_length);
  assert.equal(model.gas, recorded.gas);
  assert.equal(model.inputLength, 784);
  model.free();
});

test('run() gives the values inferBytes() encodes, from Int8Array and Int32Array', async () => {
  const model = await Model.load(lenet('symbol.json'), lenet('params.bin'));
  const bytes = new Uint8Array(lenet('input.bin'));
  const expected = lenet('output.bin');
  const fromInt8 = model.run(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  const fromInt32 = model.run(Int32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length)));
  assert.equal(fromInt8.length, 1);
  assert.deepEqual(fromInt8[0], fromInt32[0]);
  // The output is int8 (precision <= 8) or little-endian int32.
  const size = model.outputTypeSize;
  const view = new DataView(expected.buffer, expected.byteOffset, expected.length);
  const decoded = Int32Array.from({ length: expected.length / size },
    (_, i) => (size === 1 ? view.getInt8(i) : view.getInt32(4 * i, true)));
  assert.deepEqual(fromInt8[0], decoded);
  // Values beyond the input precision (8 bits) are clamped to it.
  assert.deepEqual(model.run(new Int32Array(784).fill(1000000))[0],
                   model.run(new Int8Array(784).fill(127))[0]);
  assert.deepEqual(model.run(new Int32Array(784).fill(-1000000))[0],
                   model.run(new Int8Array(784).fill(-127))[0]);
  model.free();
});

test('wrong typed array, wrong length: code 1, and the model keeps working', async () => {
  const model = await Model.load(lenet('symbol.json'), lenet('params.bin'));
  const bytes = new Uint8Array(lenet('input.bin'));
  await expectCode(() => model.inferBytes(new Int8Array(784)), 1);
  await expectCode(() => model.inferBytes([1, 2, 3]), 1);
  await expectCode(() => model.inferBytes(bytes.subarray(0, 783)), 1);
  await expectCode(() => model.inferBytes(new Uint8Array(785)), 1);
  await expectCode(() => model.run(new Float32Array(784)), 1);
  await expectCode(() => model.run(new Uint8Array(784)), 1);
  await expectCode(() => model.run(new Int32Array(783)), 1);
  await expectCode(() => model.run(new Int8Array(0)), 1);
  assertLenetWorks(model);
  model.free();
  await expectCode(() => model.inferBytes(bytes), 2);
  model.free();  // a second free does nothing
});

test('hostile models: their codes, and the instance keeps working', async () => {
  const model = await Model.load(lenet('symbol.json'), lenet('params.bin'));
  // Malformed JSON is the reference's runtime error (2); an impossible shape,
  // truncated params and a storage bomb are invalid models (1).
  await expectCode(() => Model.load(hostile('040_json_garbage', 'symbol.json'),
                                    hostile('040_json_garbage', 'params.bin')), 2);
  await expectCode(() => Model.load(hostile('016_shape_huge', 'symbol.json'),
                                    hostile('016_shape_huge', 'params.bin')), 1);
  await expectCode(() => Model.load(hostile('042_params_truncated', 'symbol.json'),
                                    hostile('042_params_truncated', 'params.bin')), 1);
  await expectCode(() => Model.load(hostile('050_gas_bomb', 'symbol.json'),
                                    hostile('050_gas_bomb', 'params.bin')), 1);
  await expectCode(() => Model.load(lenet('symbol.json'), new Uint8Array(0)), 1);
  await expectCode(() => Model.load(42, lenet('params.bin')), 1);
  await expectCode(() => Model.load(lenet('symbol.json'), lenet('params.bin'), { deviceType: 1 }), 2);
  assertLenetWorks(model);
  const again = await Model.load(lenet('symbol.json'), lenet('params.bin'), { deviceType: 2 });
  assertLenetWorks(again);
  again.free();
  model.free();
});

// A model within the format's 4 GiB of storage that wasm32's address space
// cannot hold: data (1, 4096, 4096) tiled 32 times, 2^31 bytes of int32.
// The 64-bit runtime loads it; here it is an invalid model, code 1 at load,
// before anything is allocated.
test('storage beyond the 32-bit address space: code 1 at load', async () => {
  const graph = JSON.parse(hostile('050_gas_bomb', 'symbol.json'));
  graph.attrs.op_attrs[1][1] = '{"reps": "(32, 1, 1)"}';
  graph.attrs.shape[1][1] = [32, 4096, 4096];
  await expectCode(() => Model.load(JSON.stringify(graph), hostile('050_gas_bomb', 'params.bin')), 1);
  const model = await Model.load(lenet('symbol.json'), lenet('params.bin'));
  assertLenetWorks(model);
  model.free();
});
