/**
 * flint: deep learning for TypeScript, with PyTorch's API.
 *
 *   import * as flint from "flint";
 *   const { nn, optim, data } = flint;
 */
import "./backend/js/index.js";
import "./backend/wasm/index.js";

export { Tensor, type NestedArray, type Scalar, type TensorOrScalar, type SliceSpec } from "./tensor/tensor.js";
export * from "./tensor/creation.js";
export * from "./tensor/functions.js";
export type { DType } from "./core/dtype.js";
export { FlintError } from "./core/errors.js";
export { Generator, manualSeed, defaultGenerator } from "./core/rng.js";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from "./autograd/grad-mode.js";
export { setBackend, getBackend, availableBackends } from "./backend/registry.js";
export * as autograd from "./autograd/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as data from "./data/index.js";
export * as io from "./io/index.js";
export { save, load } from "./io/index.js";
export * as datasets from "./data/datasets/index.js";
export * as transforms from "./data/transforms/index.js";
export * as text from "./text/index.js";
