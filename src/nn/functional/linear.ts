/**
 * Linear maps, dropout and embeddings: the functional twins of nn.Linear, nn.Bilinear,
 * nn.Dropout, nn.Dropout2d and nn.Embedding (grouped as in PyTorch's functional.py), plus oneHot.
 * All are compositions of tensor ops, so autograd needs no code here.
 */
import { noGrad } from "../../autograd/grad-mode.js";
import { fail, fmtShape } from "../../core/errors.js";
import { numel } from "../../core/shape.js";
import { defaultGenerator, type Generator } from "../../core/rng.js";
import { where } from "../../ops/elementwise.js";
import { linear2d } from "../../ops/linalg.js";
import { fromStorage } from "../../ops/util.js";
import { Tensor } from "../../tensor/tensor.js";
import { zeros } from "../../tensor/creation.js";

/** An optional bias, positionally (PyTorch's `F.linear(x, w, b)`) or as `{ bias }`. */
export type BiasArgument = Tensor | null | undefined | { bias?: Tensor | null };

function biasOf(arg: BiasArgument): Tensor | null {
  if (arg === undefined || arg === null) return null;
  if (arg instanceof Tensor) return arg;
  return arg.bias ?? null;
}

/** y = x W^T + b for x of shape [..., in], weight [out, in] and bias [out]. */
export function linear(input: Tensor, weight: Tensor, bias?: BiasArgument): Tensor {
  if (weight.ndim !== 2 && weight.ndim !== 1) fail("linear", `weight must be 1-D or 2-D, got shape ${fmtShape(weight.shape)}`);
  const inFeatures = weight.shape[weight.ndim - 1];
  if (input.ndim === 0 || input.shape[input.ndim - 1] !== inFeatures) {
    fail("linear", `input of shape ${fmtShape(input.shape)} does not match weight of shape ${fmtShape(weight.shape)} (expected last dim ${inFeatures})`);
  }
  const b = biasOf(bias);
  const fused = weight.ndim === 2 && input.dtype === "float32" && weight.dtype === "float32" &&
    (b === null || (b.dtype === "float32" && b.ndim === 1 && b.shape[0] === weight.shape[0]));
  if (fused) {
    // One op: [..., in] folded into rows, the bias in the GEMM's epilogue.
    if (input.ndim === 2) return linear2d(input, weight, b);
    const rows = input.shape.slice(0, -1).reduce((x, y) => x * y, 1);
    return linear2d(input.reshape([rows, inFeatures]), weight, b).reshape([...input.shape.slice(0, -1), weight.shape[0]]);
  }
  const out = input.matmul(weight.ndim === 2 ? weight.t() : weight);
  return b === null ? out : out.add(b);
}

/**
 * y_k = x1^T A_k x2 + b_k: the lectures' multiplicative (sigma-pi, quadratic) module. x1 is
 * [..., in1], x2 [..., in2] with the same leading dims, weight [out, in1, in2], bias [out].
 */
export function bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias?: BiasArgument): Tensor {
  if (weight.ndim !== 3) fail("bilinear", `weight must be 3-D [out, in1, in2], got shape ${fmtShape(weight.shape)}`);
  const [outFeatures, in1, in2] = weight.shape;
  const lead1 = input1.shape.slice(0, -1);
  const lead2 = input2.shape.slice(0, -1);
  if (input1.ndim === 0 || input2.ndim === 0 || input1.shape[input1.ndim - 1] !== in1 || input2.shape[input2.ndim - 1] !== in2 ||
      lead1.length !== lead2.length || lead1.some((s, i) => s !== lead2[i])) {
    fail("bilinear", `inputs of shapes ${fmtShape(input1.shape)} and ${fmtShape(input2.shape)} do not match weight of shape ${fmtShape(weight.shape)} (expected [..., ${in1}] and [..., ${in2}] with equal leading dims)`);
  }
  const rows = lead1.reduce((a, b) => a * b, 1);
  const x1 = input1.reshape([rows, in1]);
  const x2 = input2.reshape([rows, 1, in2]);
  // (x1 A_k) for every k at once: [rows, in1] @ [in1, out*in2], then contract with x2.
  const left = x1.matmul(weight.permute([1, 0, 2]).reshape([in1, outFeatures * in2])).reshape([rows, outFeatures, in2]);
  let out = left.mul(x2).sum(2);
  const b = biasOf(bias);
  if (b !== null) out = out.add(b);
  return out.reshape([...lead1, outFeatures]);
}

export interface DropoutOptions {
  /** Probability of zeroing an element (default 0.5). */
  p?: number;
  /** Dropout is applied only when true (default true, as in PyTorch's F.dropout). */
  training?: boolean;
  /** Accepted for PyTorch compatibility; flint always returns a new tensor (same values). */
  inplace?: boolean;
  generator?: Generator;
}

function checkP(op: string, p: number): void {
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) fail(op, `dropout probability has to be between 0 and 1, but got ${p}`);
}

/** x * mask / (1 - p) with mask ~ Bernoulli(1 - p) of `maskShape` (broadcast over x). */
function applyMask(x: Tensor, maskShape: number[], p: number, generator: Generator): Tensor {
  if (p === 1) return x.mul(0);
  // rand(maskShape).lt(1 - p), then where(keep, 1 / (1 - p), 0), in one pass over the draws:
  // the same float32 comparison and values, without the two intermediate tensors.
  const mask = new Float32Array(numel(maskShape));
  generator.fillUniformFloat32(mask);
  const keep = Math.fround(1 - p);
  const scale = Math.fround(1 / (1 - p));
  for (let i = 0; i < mask.length; i++) mask[i] = mask[i] < keep ? scale : 0;
  return x.mul(fromStorage(mask, maskShape, "float32"));
}

/** Zeroes each element with probability p and scales the rest by 1 / (1 - p), in training only. */
export function dropout(input: Tensor, options: DropoutOptions = {}): Tensor {
  const p = options.p ?? 0.5;
  checkP("dropout", p);
  if (!(options.training ?? true) || p === 0) return input;
  return applyMask(input, input.shape.slice(), p, options.generator ?? defaultGenerator);
}

/**
 * Zeroes whole channels: each [H, W] map of a [N, C, H, W] input (or of an unbatched [C, H, W]
 * input) is dropped with probability p; kept maps are scaled by 1 / (1 - p).
 */
export function dropout2d(input: Tensor, options: DropoutOptions = {}): Tensor {
  const p = options.p ?? 0.5;
  checkP("dropout2d", p);
  if (input.ndim !== 3 && input.ndim !== 4) fail("dropout2d", `expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape ${fmtShape(input.shape)}`);
  if (!(options.training ?? true) || p === 0) return input;
  const channelDims = input.ndim === 4 ? 2 : 1;
  const maskShape = [...input.shape.slice(0, channelDims), ...new Array<number>(input.ndim - channelDims).fill(1)];
  return applyMask(input, maskShape, p, options.generator ?? defaultGenerator);
}

export interface EmbeddingOptions {
  /** Rows looked up at this index get no gradient (and nn.Embedding initialises that row to zero). */
  paddingIdx?: number | null;
  /** Rows looked up whose normType-norm exceeds maxNorm are renormalised to maxNorm, in place. */
  maxNorm?: number | null;
  normType?: number;
}

/** Looks up rows of `weight` [num, dim] at the int32 `input` indices: output [...input.shape, dim]. */
export function embedding(input: Tensor, weight: Tensor, options: EmbeddingOptions = {}): Tensor {
  if (input.dtype !== "int32") fail("embedding", `indices must be an int32 tensor, got ${input.dtype}`);
  if (weight.ndim !== 2) fail("embedding", `weight must be 2-D [num_embeddings, embedding_dim], got shape ${fmtShape(weight.shape)}`);
  const [num, dim] = weight.shape;
  const flat = input.reshape([input.numel()]);
  const ids = flat.data() as Int32Array;
  for (const id of ids) if (id < 0 || id >= num) fail("embedding", `index ${id} is out of range for an embedding with ${num} rows`);
  if (options.maxNorm !== undefined && options.maxNorm !== null) renormRows(weight, ids, options.maxNorm, options.normType ?? 2);
  let out = weight.indexSelect(0, flat);
  const paddingIdx = normalizePaddingIdx("embedding", options.paddingIdx, num);
  if (paddingIdx !== null && out.requiresGrad) {
    // Positions that looked up the padding row pass no gradient back to it.
    out = where(flat.eq(paddingIdx).unsqueeze(1), out.detach(), out);
  }
  return out.reshape([...input.shape, dim]);
}

/** A paddingIdx in [-num, num) as a row index, or null. */
export function normalizePaddingIdx(op: string, paddingIdx: number | null | undefined, num: number): number | null {
  if (paddingIdx === undefined || paddingIdx === null) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx < -num || paddingIdx >= num) fail(op, `paddingIdx must be within [-${num}, ${num}), got ${paddingIdx}`);
  return paddingIdx < 0 ? paddingIdx + num : paddingIdx;
}

/** PyTorch's embedding_renorm_: scales each looked-up row with norm > maxNorm to norm maxNorm. */
function renormRows(weight: Tensor, ids: Int32Array, maxNorm: number, normType: number): void {
  noGrad(() => {
    for (const id of new Set(ids)) {
      const row = weight.select(0, id);
      const norm = row.norm(normType).item();
      if (norm > maxNorm) row.mul_(maxNorm / (norm + 1e-7));
    }
  });
}

/**
 * One-hot encoding of int32 class indices: shape [...input.shape, numClasses], int32 (PyTorch
 * gives int64). numClasses defaults to max(input) + 1.
 */
export function oneHot(input: Tensor, numClasses: number | { numClasses?: number } = -1): Tensor {
  if (input.dtype !== "int32") fail("oneHot", `input must be an int32 tensor of class indices, got ${input.dtype}`);
  const requested = typeof numClasses === "number" ? numClasses : numClasses.numClasses ?? -1;
  const values = input.data() as Int32Array;
  let classes = requested;
  if (classes === -1) {
    if (values.length === 0) fail("oneHot", "can not infer the total number of classes from an empty tensor");
    classes = values.reduce((a, b) => Math.max(a, b), -1) + 1;
  }
  if (!Number.isInteger(classes) || classes < 1) fail("oneHot", `numClasses must be a positive integer or -1, got ${requested}`);
  for (const v of values) if (v < 0 || v >= classes) fail("oneHot", `class values must be in [0, ${classes}), got ${v}`);
  const flat = input.reshape([values.length, 1]);
  const out = zeros([values.length, classes], { dtype: "int32" }).scatter(1, flat, 1);
  return out.reshape([...input.shape, classes]);
}
