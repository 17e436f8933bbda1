// Shared by the test/nn/basic-*.test.ts files: decoding the PyTorch goldens of gen_nn_basic.py.
import * as flint from "../../src/index.js";
import type { DType, Tensor } from "../../src/index.js";

export interface EncodedTensor {
  shape: number[];
  dtype: DType;
  data: number[];
}

/** A golden tensor as a flint tensor (PyTorch's int64 indices arrive as int32). */
export function decode(encoded: EncodedTensor): Tensor {
  return flint.tensor(encoded.data, { dtype: encoded.dtype }).reshape(encoded.shape);
}

export interface GoldenRun {
  inputs: EncodedTensor[];
  output: EncodedTensor;
  upstream?: EncodedTensor;
  inputGrads?: (EncodedTensor | null)[];
}

export interface GoldenLayer extends GoldenRun {
  state: Record<string, EncodedTensor>;
  stateAfter: Record<string, EncodedTensor>;
  paramGrads: Record<string, EncodedTensor>;
  repr: string;
}

/** The golden's inputs as flint tensors, float ones requiring grad. */
export function goldenInputs(golden: GoldenRun): Tensor[] {
  return golden.inputs.map((e) => {
    const t = decode(e);
    return t.dtype === "float32" ? t.requiresGrad_() : t;
  });
}
