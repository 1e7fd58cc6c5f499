// cvm for JavaScript: the deterministic integer runtime compiled to
// WebAssembly (wasm32, scalar kernels, one thread), giving the same output
// bytes and gas as the native library on every machine.
//
//   import { Model, CvmError } from 'cvm-wasm';
//   const model = await Model.load(symbolJson, paramsBytes);
//   const out = model.inferBytes(inputBytes);  // Uint8Array, the C API's layout
//   model.free();
//
// Errors are thrown as CvmError with the reference's classes in `.code`:
// 1 for an invalid model or input, 2 for a failure of the runtime. A failed
// call leaves the WebAssembly instance and every other model usable.
import createCvmModule from './dist/cvm_wasm.mjs';

export class CvmError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'CvmError';
    this.code = code;
  }
}

const kLogic = 1;
const kRuntime = 2;
const isNode = typeof process === 'object' && !!(process.versions && process.versions.node);

let instance = null;

// The .wasm bytes: from the file beside the module under Node, else fetched.
async function wasmBytes(url) {
  if (isNode) {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new CvmError(kRuntime, `cannot fetch ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// Starts the WebAssembly instance (once; Model.load calls it). `options`:
// `wasmBinary` (the bytes of cvm_wasm.wasm) or `wasmUrl` (where to read them).
export function init(options = {}) {
  if (!instance) {
    instance = (async () => {
      const binary = options.wasmBinary ||
        (await wasmBytes(options.wasmUrl || new URL('./dist/cvm_wasm.wasm', import.meta.url)));
      return createCvmModule({ wasmBinary: binary, print: () => {}, printErr: () => {} });
    })();
    instance.catch(() => { instance = null; });
  }
  return instance;
}

const encoder = new TextEncoder();

function toBytes(value, what) {
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new CvmError(kLogic, `${what}: expected a string, Uint8Array or ArrayBuffer`);
}

// Copies `bytes` into the instance's memory; returns the address (free it).
function copyIn(m, bytes) {
  const ptr = m._malloc(Math.max(bytes.length, 1));
  if (!ptr) throw new CvmError(kRuntime, 'out of memory');
  m.HEAPU8.set(bytes, ptr);
  return ptr;
}

function allocate(m, size) {
  const ptr = m._malloc(Math.max(size, 1));
  if (!ptr) throw new CvmError(kRuntime, 'out of memory');
  return ptr;
}

function fail(m, code) {
  throw new CvmError(code, m.UTF8ToString(m._cvmjs_last_error()));
}

function product(shape) {
  return shape.reduce((n, d) => n * d, 1);
}

export class Model {
  #m;
  #handle;
  #info;

  constructor(m, handle) {
    this.#m = m;
    this.#handle = handle;
    const text = m._cvmjs_describe(handle);
    if (!text) fail(m, kRuntime);
    this.#info = JSON.parse(m.UTF8ToString(text));
  }

  // Loads a model from its graph JSON (string or bytes) and params blob
  // (Uint8Array or ArrayBuffer). `options.deviceType`: 0 (CPU) or 2 (the
  // reference's specification build; the same bytes). Throws CvmError.
  static async load(symbolJson, paramsBytes, options = {}) {
    const m = await init(options);
    const json = toBytes(symbolJson, 'symbolJson');
    const params = toBytes(paramsBytes, 'paramsBytes');
    const deviceType = options.deviceType ?? 0;
    let jsonPtr = 0, paramsPtr = 0, outPtr = 0;
    try {
      jsonPtr = copyIn(m, json);
      paramsPtr = copyIn(m, params);
      outPtr = allocate(m, 4);
      const rc = m._cvmjs_load(jsonPtr, json.length, paramsPtr, params.length, deviceType, outPtr);
      if (rc !== 0) fail(m, rc);
      return new Model(m, m.HEAPU32[outPtr >>> 2]);
    } finally {
      for (const ptr of [jsonPtr, paramsPtr, outPtr]) if (ptr) m._free(ptr);
    }
  }

  #live() {
    if (!this.#handle) throw new CvmError(kRuntime, 'the model has been freed');
    return this.#m;
  }

  // The reference's gas figure (a number); throws CvmError (code 1) when the
  // graph exceeds its limits, as the reference reports it when asked.
  get gas() {
    this.#live();
    const e = this.#info.gas_error;
    if (e) throw new CvmError(e.code, e.message);
    return this.#info.gas;
  }
  get input() { return structuredClone(this.#info.input); }
  get outputs() { return structuredClone(this.#info.outputs); }
  get version() { return this.#info.version; }
  get postprocess() { return this.#info.postprocess; }
  get storageSize() { return this.#info.storage_size; }
  get inputLength() { return this.#info.input_length; }
  get outputLength() { return this.#info.output_length; }
  get inputTypeSize() { return this.#info.input_type_size; }
  get outputTypeSize() { return this.#info.output_type_size; }

  // Runs the model on bytes in the C API's layout (int8 values, or
  // little-endian int32 when the input precision is over 8) and returns the
  // output bytes (int8 or little-endian int32, or as "postprocess" says).
  inferBytes(input) {
    const m = this.#live();
    if (!(input instanceof Uint8Array)) {
      throw new CvmError(kLogic, 'inferBytes: expected a Uint8Array');
    }
    const outLength = this.#info.output_length;
    const inPtr = copyIn(m, input);
    let outPtr = 0;
    try {
      outPtr = allocate(m, outLength);
      const rc = m._cvmjs_infer(this.#handle, inPtr, input.length, outPtr, outLength);
      if (rc !== 0) fail(m, rc);
      return m.HEAPU8.slice(outPtr, outPtr + outLength);
    } finally {
      m._free(inPtr);
      if (outPtr) m._free(outPtr);
    }
  }

  // Runs the model on input values (Int8Array or Int32Array, clamped to the
  // input precision like any input) and returns every head's int32 values,
  // before post-processing.
  run(values) {
    const m = this.#live();
    if (!(values instanceof Int8Array) && !(values instanceof Int32Array)) {
      throw new CvmError(kLogic, 'run: expected an Int8Array or Int32Array');
    }
    const sizes = this.#info.outputs.map((o) => product(o.shape));
    const total = sizes.reduce((a, b) => a + b, 0);
    const inPtr = allocate(m, 4 * values.length);
    let outPtr = 0;
    try {
      m.HEAP32.set(values, inPtr >>> 2);  // widens int8 values
      outPtr = allocate(m, 4 * total);
      const rc = m._cvmjs_run(this.#handle, inPtr, values.length, outPtr, total);
      if (rc !== 0) fail(m, rc);
      const heads = [];
      let at = outPtr >>> 2;
      for (const n of sizes) {
        heads.push(m.HEAP32.slice(at, at + n));
        at += n;
      }
      return heads;
    } finally {
      m._free(inPtr);
      if (outPtr) m._free(outPtr);
    }
  }

  // Releases the model's memory; the model cannot be used afterwards.
  free() {
    if (this.#handle) {
      this.#m._cvmjs_free(this.#handle);
      this.#handle = 0;
    }
  }
}
