// TypeScript declarations of the cvm WebAssembly package (index.js).

/** An error of the runtime: `code` 1 for an invalid model or input, 2 for a runtime failure. */
export class CvmError extends Error {
  readonly code: 1 | 2;
  constructor(code: 1 | 2, message: string);
}

export interface TensorInfo {
  name: string;
  shape: number[];
  precision: number;
}

export interface InitOptions {
  /** The bytes of dist/cvm_wasm.wasm (else read or fetched from beside index.js). */
  wasmBinary?: Uint8Array | ArrayBuffer;
  /** Where to read or fetch the .wasm file from. */
  wasmUrl?: string | URL;
}

export interface LoadOptions extends InitOptions {
  /** 0 (CPU, the default) or 2 (the reference's specification build; the same bytes). */
  deviceType?: number;
}

/** Starts the WebAssembly instance once (Model.load calls it). */
export function init(options?: InitOptions): Promise<unknown>;

export class Model {
  private constructor();
  /** Loads a model from its graph JSON and params blob. Rejects with a CvmError. */
  static load(
    symbolJson: string | Uint8Array | ArrayBuffer,
    paramsBytes: Uint8Array | ArrayBuffer,
    options?: LoadOptions,
  ): Promise<Model>;

  /** The reference's gas figure; throws a CvmError (code 1) when the graph exceeds its limits. */
  readonly gas: number;
  readonly input: TensorInfo;
  readonly outputs: TensorInfo[];
  readonly version: string;
  readonly postprocess: string;
  readonly storageSize: number;
  /** Bytes inferBytes() takes and returns. */
  readonly inputLength: number;
  readonly outputLength: number;
  readonly inputTypeSize: number;
  readonly outputTypeSize: number;

  /** Runs the model on bytes in the C API's layout; returns the output bytes. */
  inferBytes(input: Uint8Array): Uint8Array;
  /** Runs the model on input values; returns every head's int32 values, before post-processing. */
  run(values: Int8Array | Int32Array): Int32Array[];
  /** Releases the model; using it afterwards throws a CvmError (code 2). */
  free(): void;
}
