import type { DType, Storage } from "../core/dtype.js";
import type { Layout } from "../core/layout.js";

/**
 * The whole backend contract. Kernels receive storage (a typed array) plus a Layout, so views
 * (transposed, sliced, expanded) reach kernels without copies, and return fresh contiguous
 * storage. Backends never see Tensor or autograd: gradients are written once, in ops/, with
 * these kernels, and serve every backend.
 */
export type UnaryOp =
  | "neg" | "abs" | "exp" | "log" | "sqrt" | "rsqrt" | "sin" | "cos" | "tanh" | "sigmoid" | "relu"
  | "sign" | "floor" | "ceil" | "round" | "reciprocal" | "square" | "expm1" | "log1p" | "erf" | "logicalNot";

export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum"
  | "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "logicalAnd" | "logicalOr" | "logicalXor";

export type ReduceOp = "sum" | "prod" | "max" | "min" | "argmax" | "argmin";

/** Arg-ops give int32 indices; sums and products of integers or bools give int32; max/min keep the dtype. */
export function reduceOutputDtype(op: ReduceOp, input: DType): DType {
  if (op === "argmax" || op === "argmin") return "int32";
  if (op === "max" || op === "min") return input;
  return input === "float32" ? "float32" : "int32";
}

/** Geometry of a 2-D sliding window (convolution and pooling); 1-D uses height 1. */
export interface WindowGeometry {
  batch: number;
  channels: number;
  inHeight: number;
  inWidth: number;
  kernelHeight: number;
  kernelWidth: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  outHeight: number;
  outWidth: number;
  /** Value read outside the input (0 for convolution, -Infinity for max pooling). */
  padValue: number;
}

export interface Backend {
  readonly name: string;

  /** Elementwise `op(x)` into new contiguous storage of `outDtype`. */
  unary(op: UnaryOp, x: Storage, xl: Layout, outDtype: DType): Storage;
  /** Elementwise `op(a, b)`; `al` and `bl` are already broadcast to the output shape. */
  binary(op: BinaryOp, a: Storage, al: Layout, b: Storage, bl: Layout, outDtype: DType): Storage;
  /** `cond ? a : b` elementwise; all three layouts already broadcast to the output shape. */
  where(cond: Storage, cl: Layout, a: Storage, al: Layout, b: Storage, bl: Layout, outDtype: DType): Storage;
  /** `x` read through its layout into new contiguous storage, converted to `outDtype`. */
  copy(x: Storage, xl: Layout, outDtype: DType): Storage;
  /** Writes `src` (broadcast to `dstLayout`'s shape) into `dst` through `dstLayout`, in place. */
  assign(dst: Storage, dstLayout: Layout, src: Storage, srcLayout: Layout): void;
  /** Reduces `dims` away (sorted, unique); the output keeps the other dims in order. Arg-ops reduce one dim and give int32. */
  reduce(op: ReduceOp, x: Storage, xl: Layout, dims: readonly number[]): Storage;
  /** Batched float32 matmul: `al` is [B, M, K], `bl` is [B, K, N]; result [B, M, N] contiguous. */
  matmul(a: Storage, al: Layout, b: Storage, bl: Layout): Storage;
  /** `x.indexSelect(dim, index)`: `index` is a contiguous int32 vector. */
  indexSelect(x: Storage, xl: Layout, dim: number, index: Int32Array): Storage;
  /** The adjoint of indexSelect: zeros of `outShape`, then out[.., index[i], ..] += src[.., i, ..]. */
  indexAdd(outShape: readonly number[], dim: number, index: Int32Array, src: Storage, srcLayout: Layout): Storage;
  /** out[i][j] = x[index[i][j]][j] along `dim` (PyTorch gather); output has the index's shape. */
  gather(x: Storage, xl: Layout, dim: number, index: Storage, il: Layout): Storage;
  /** In place on contiguous `dst`: dst[index[i][j]][j] = (or +=) src[i][j] along `dim`. */
  scatter(dst: Storage, dstShape: readonly number[], dim: number, index: Storage, il: Layout, src: Storage, sl: Layout, accumulate: boolean): void;
  /** im2col: [N, C, H, W] -> [N, C*kH*kW, outH*outW]. */
  unfold(x: Storage, xl: Layout, g: WindowGeometry): Storage;
  /** col2im, the adjoint of unfold: [N, C*kH*kW, outH*outW] -> [N, C, H, W], overlapping windows summed. */
  fold(cols: Storage, colsLayout: Layout, g: WindowGeometry): Storage;
}
