import type { DType, Storage } from "../core/dtype.js";
import type { Layout } from "../core/layout.js";
import type { AttentionDecoderGrads, AttentionDecoderProblem, AttentionDecoderSaved, RecurrenceForwardResult, RecurrenceGrads, RecurrenceOperands, RecurrenceSaved, RecurrenceSpec, RecurrenceWanted, RecurrenceWeights } from "./recurrence.js";

/**
 * The whole backend contract. Kernels receive storage (a typed array) plus a Layout, so views
 * (transposed, sliced, expanded) reach kernels without copies, and return fresh contiguous
 * storage. Backends never see Tensor or autograd: gradients are written once, in ops/, with
 * these kernels, and serve every backend.
 */
export type UnaryOp =
  | "neg" | "abs" | "exp" | "log" | "sqrt" | "rsqrt" | "sin" | "cos" | "tanh" | "sigmoid" | "relu"
  | "sign" | "floor" | "ceil" | "round" | "reciprocal" | "square" | "expm1" | "log1p" | "erf" | "logicalNot"
  // GELU fused: the exact erf form and the tanh approximation.
  | "gelu" | "geluTanh";

export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum"
  | "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "logicalAnd" | "logicalOr" | "logicalXor"
  // Fused gradients: (grad, x) for the GELUs, (grad, output) for sigmoid, tanh and relu.
  | "geluBackward" | "geluTanhBackward" | "sigmoidBackward" | "tanhBackward" | "reluBackward";

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

/** Average pooling's divisor (PyTorch's avg_pool2d): the window's size, with or without the zero padding, or a fixed number. */
export interface AvgPoolDivisor {
  countIncludePad: boolean;
  /** Divides every window sum by this instead (null: use the window's size). */
  divisorOverride: number | null;
}

/** A convolution's window over its input (`channels` = input channels) plus its groups and output channels. */
export interface ConvGeometry extends WindowGeometry {
  groups: number;
  outChannels: number;
}

export interface ConvGradsWanted {
  input: boolean;
  weight: boolean;
  bias: boolean;
}

export interface ConvGrads {
  input: Storage | null;
  weight: Storage | null;
  bias: Storage | null;
}

/**
 * One parameter's Adam / AdamW update, in place on contiguous float32 arrays of equal length.
 * The coefficients are already float32 values (src/optim/adam.ts computes them); `grad` already
 * holds maximize and L2 weight decay. Per element:
 *   p *= decay; m = m * beta1 + oneMinusBeta1 * g (one rounding); v = v * beta2 + (oneMinusBeta2 * g) * g;
 *   p += (negStepSize * m) / (sqrt(v) / biasCorrection2Sqrt + eps)
 */
export interface AdamUpdate {
  param: Float32Array;
  grad: Float32Array;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
  beta1: number;
  beta2: number;
  oneMinusBeta1: number;
  oneMinusBeta2: number;
  biasCorrection2Sqrt: number;
  eps: number;
  negStepSize: number;
  /** AdamW's 1 - lr * weightDecay; 1 for Adam. */
  decay: number;
}

/**
 * SGD's momentum step after the first, in place on contiguous float32 arrays (float32
 * coefficients, see src/optim/sgd.ts): buf = buf * momentum + keep * g (one rounding);
 * p += negLr * (nesterov ? g + momentum * buf : buf) (one rounding each).
 */
export interface SgdMomentumUpdate {
  param: Float32Array;
  grad: Float32Array;
  buffer: Float32Array;
  momentum: number;
  /** 1 - dampening. */
  keep: number;
  negLr: number;
  nesterov: boolean;
}

/**
 * Layer normalization of `rows` contiguous rows of `size` values each, with optional per-column
 * weight and bias ([size]); the fused op of F.layerNorm (./js/normalization.ts is the reference).
 */
export interface LayerNormProblem {
  x: Float32Array;
  rows: number;
  size: number;
  eps: number;
  weight: Float32Array | null;
  bias: Float32Array | null;
}

/**
 * Additive (Bahdanau) attention of N samples' L projected queries over their S projected keys
 * (./js/additive-attention.ts is the reference): t[s] = tanh(q + k[s]), e[s] = v . t[s] (-inf at
 * masked keys), w = softmax over s of e, context = sum_s w[s] x[s]. All arrays dense.
 */
export interface AdditiveAttentionProblem {
  batch: number;
  queries: number;
  keys: number;
  /** H, the width of the projected queries and keys and of v. */
  hidden: number;
  /** D, the width of the values. */
  valueSize: number;
  /** [N, L, H]. */
  query: Float32Array;
  /** [N, S, H]. */
  key: Float32Array;
  /** [H]. */
  v: Float32Array;
  /** [N, S, D]. */
  values: Float32Array;
  /** [N, S], nonzero at padding keys (weight 0; a row with every key masked gets NaN); null: none. */
  mask: Uint8Array | null;
}

export interface AdditiveAttentionGrads {
  query: Float32Array;
  key: Float32Array;
  v: Float32Array;
  values: Float32Array;
}

/** Per row: mean and rstd = 1 / sqrt(biased variance + eps), what the backward pass needs. */
export interface LayerNormStats {
  mean: Float32Array;
  rstd: Float32Array;
}

export interface LayerNormGrads {
  input: Float32Array | null;
  weight: Float32Array | null;
  bias: Float32Array | null;
}

/**
 * Cross entropy of class-index targets (the fused op of src/nn/functional/loss.ts): contiguous
 * float32 logits [outer, classes, inner], one int32 label per (outer, inner) position.
 */
export interface ClassCrossEntropy {
  logits: Float32Array;
  labels: Int32Array;
  /** One weight per class, or null for all 1. */
  classWeight: Float32Array | null;
  outer: number;
  classes: number;
  inner: number;
  ignoreIndex: number;
  /** Label smoothing s in [0, 1]. */
  smoothing: number;
}

/** Per position: the loss (0 where ignored) and, for the backward pass, the shift and 1 / sum(exp(x - shift)) pairs. */
export interface ClassCrossEntropyForward {
  losses: Float64Array;
  rowStats: Float64Array;
}

/** A float32 operand of fused attention: `layout` is 4-D, [B1, B2, rows, features] (two batch levels, e.g. batch and head). */
export interface AttentionInput {
  storage: Storage;
  layout: Layout;
}

/**
 * Fused scaled-dot-product attention over [B1, B2] batches: weights = softmax(scale * q k^T +
 * mask) (causal: row i sees columns j <= i only), output = weights v. q is [B1, B2, L, E], k
 * [B1, B2, S, E], v [B1, B2, S, Ev]; `mask` is float32 (added to the scores) read through a
 * [B1, B2, L, S] layout (broadcast strides allowed), or null.
 */
export interface AttentionSpec {
  q: AttentionInput;
  k: AttentionInput;
  v: AttentionInput;
  mask: AttentionInput | null;
  scale: number;
  causal: boolean;
}

/** Where one gradient goes: written through `layout` ([B1, B2, rows, features]) into buffer `buffer` of attentionBackward's result. */
export interface AttentionGradTarget {
  buffer: number;
  layout: Layout;
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
  /**
   * Batched float32 matmul: `al` is [B, M, K], `bl` is [B, K, N]; result [B, M, N] contiguous.
   * An optional float32 `bias` ([N], any layout) is added to every row in the same pass.
   */
  matmul(a: Storage, al: Layout, b: Storage, bl: Layout, bias?: Storage, biasLayout?: Layout): Storage;
  /** `x.indexSelect(dim, index)`: `index` is a contiguous int32 vector. */
  indexSelect(x: Storage, xl: Layout, dim: number, index: Int32Array): Storage;
  /** The adjoint of indexSelect, in place: dst[.., index[i], ..] += src[.., i, ..] along `dim`, for dense `dst` of `dstShape` from element `dstOffset`. */
  indexAdd(dst: Storage, dstOffset: number, dstShape: readonly number[], dim: number, index: Int32Array, src: Storage, srcLayout: Layout): void;
  /** out[i][j] = x[index[i][j]][j] along `dim` (PyTorch gather); output has the index's shape. */
  gather(x: Storage, xl: Layout, dim: number, index: Storage, il: Layout): Storage;
  /** In place on contiguous `dst`: dst[index[i][j]][j] = (or +=) src[i][j] along `dim`. */
  scatter(dst: Storage, dstShape: readonly number[], dim: number, index: Storage, il: Layout, src: Storage, sl: Layout, accumulate: boolean): void;
  /** im2col: [N, C, H, W] -> [N, C*kH*kW, outH*outW]. */
  unfold(x: Storage, xl: Layout, g: WindowGeometry): Storage;
  /** col2im, the adjoint of unfold: [N, C*kH*kW, outH*outW] -> [N, C, H, W], overlapping windows summed. */
  fold(cols: Storage, colsLayout: Layout, g: WindowGeometry): Storage;
  /** 2-D convolution (cross-correlation): x [N, C, H, W], weight [O, C/groups, kH, kW], bias [O] or null (any layouts) -> [N, O, outH, outW]. */
  conv2d(x: Storage, xl: Layout, weight: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, g: ConvGeometry): Storage;
  /** conv2d's gradients from d(output) [N, O, outH, outW]: each of input, weight and bias only where `want` asks (else null). */
  conv2dBackward(grad: Storage, gl: Layout, x: Storage, xl: Layout, weight: Storage, wl: Layout, g: ConvGeometry, want: ConvGradsWanted): ConvGrads;
  /**
   * conv2dBackward of the gradient maxPoolBackward(poolGrad, poolGradLayout, indices, pool,
   * reluPooled) gives (the convolution's output is the pooled input), without necessarily
   * scattering that gradient: the weight and bias gradients are sums over the pooled outputs.
   */
  conv2dBackwardFromMaxPool(poolGrad: Storage, poolGradLayout: Layout, indices: Int32Array, pool: WindowGeometry, reluPooled: Float32Array | null, x: Storage, xl: Layout, weight: Storage, wl: Layout, g: ConvGeometry, want: ConvGradsWanted): ConvGrads;
  /**
   * Max pooling of float32 [N, C, H, W] (any strides) -> values and int32 argmax indices, both
   * [N, C, outH, outW] contiguous. Indices are flat (h * W + w) within the input plane; windows
   * clip to the input (padding never wins), ties keep the first maximum and NaN wins, as in PyTorch.
   * With `reluFirst` it pools relu(x) without writing it: every element goes through the ReLU
   * (x < 0 ? 0 : x, NaN and -0 kept) before the comparisons, values and indices as for relu(x).
   */
  maxPool(x: Storage, xl: Layout, g: WindowGeometry, reluFirst?: boolean): { values: Storage; indices: Int32Array };
  /**
   * maxPool(conv2d(x, w, bias, conv), pool, reluFirst) in one call: the same values and indices,
   * without the convolution's output leaving the backend.
   */
  conv2dMaxPool(x: Storage, xl: Layout, w: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, conv: ConvGeometry, pool: WindowGeometry, reluFirst: boolean): { values: Storage; indices: Int32Array };
  /**
   * Max pooling's gradient: zeros [N, C, H, W], then each plane's input[indices[o]] += grad[o]
   * (indices past the plane dropped). With `reluPooled` (the forward's values, dense [N, C, outH,
   * outW], when it pooled a ReLU's output) a ReLU's backward is folded in: o adds nothing where
   * the ReLU's output at its index, which is reluPooled[o], is <= 0 (PyTorch's threshold_backward;
   * NaN passes).
   */
  maxPoolBackward(grad: Storage, gradLayout: Layout, indices: Int32Array, g: WindowGeometry, reluPooled?: Float32Array | null): Storage;
  /** Average pooling of float32 [N, C, H, W] (any strides) -> [N, C, outH, outW]; dilation must be 1. */
  avgPool(x: Storage, xl: Layout, g: WindowGeometry, divisor: AvgPoolDivisor): Storage;
  /** Average pooling's gradient: each output's grad / divisor spread over its window's input elements. */
  avgPoolBackward(grad: Storage, gradLayout: Layout, g: WindowGeometry, divisor: AvgPoolDivisor): Storage;
  /** One layer-direction of an RNN / GRU / LSTM over all its time steps (./recurrence.ts); `save` keeps every step for backward. */
  recurrenceForward(spec: RecurrenceSpec, operands: RecurrenceOperands, save: boolean): RecurrenceForwardResult;
  /**
   * Back-propagation through time from recurrenceForward's saved tensors and d(output); the
   * weight gradients (and d input when the op projects it) are each one GEMM over all steps,
   * computed where the step gradients already are, when `wanted`.
   */
  recurrenceBackward(spec: RecurrenceSpec, weights: RecurrenceWeights, saved: RecurrenceSaved, gradOutput: Float32Array, wanted: RecurrenceWanted): RecurrenceGrads;
  /** recurrenceForward's saved tensors will not be read again: a backend that keeps them in its own memory frees them. */
  recurrenceRelease(saved: RecurrenceSaved): void;
  /**
   * Optional: the whole teacher-forced attention decoder in one call (AttentionDecoderProblem),
   * -> the recurrence's output [T + 1, B, H] and what the backward reads. A backend without it
   * (the JS reference) runs the decoder as its composite of recorded ops instead.
   */
  attentionDecoderForward?(problem: AttentionDecoderProblem): { output: Float32Array; saved: AttentionDecoderSaved };
  /** Every input's gradient from d(output) [T + 1, B, H]; present with attentionDecoderForward. */
  attentionDecoderBackward?(problem: AttentionDecoderProblem, saved: AttentionDecoderSaved, gradOutput: Float32Array): AttentionDecoderGrads;
  /** attentionDecoderForward's saved tensors will not be read again. */
  attentionDecoderRelease?(saved: AttentionDecoderSaved): void;
  /**
   * Opens a result scope around work whose intermediate results die inside it (the autograd
   * engine's backward pass): until `closeResultScope`, a backend may leave its results in its own
   * memory, valid only until then, so that later calls read them where they are instead of
   * copying them in and out. Scopes nest (the outermost close ends them).
   */
  openResultScope(): void;
  /** Closes the scope `openResultScope` opened: no result it kept may be read again. */
  closeResultScope(): void;
  /** Whether `storage` is a result the open scope keeps in the backend's memory. */
  keptInScope(storage: Storage): boolean;
  /** For what leaves the open scope: a copy in ordinary memory when `storage` is a result the scope keeps, else `storage` itself. */
  keepAfterScope(storage: Storage): Storage;
  /**
   * Fused attention forward. The output lands in fresh storage of `outLayout.size` floats through
   * `outLayout` ([B1, B2, L, Ev], a permutation of a dense layout: the caller picks the memory
   * order). `weights` (dense [B1 * B2, L, S], for attentionBackward) only when `save`.
   */
  attentionForward(spec: AttentionSpec, outLayout: Layout, save: boolean): { output: Float32Array; weights: Float32Array | null };
  /**
   * Fused attention backward from d(output) ([B1, B2, L, Ev]) and the saved weights: returns one
   * fresh buffer per entry of `bufferSizes` (zeros where no target writes), with d(q), d(k), d(v)
   * written through `targets` (null: not wanted). Targets must not overlap.
   */
  attentionBackward(spec: AttentionSpec, weights: Float32Array, gradOutput: AttentionInput, bufferSizes: readonly number[], targets: readonly (AttentionGradTarget | null)[]): Float32Array[];
  /**
   * A zeroed float32 array for long-lived state that this backend's kernels read and update in
   * place at every step (parameters, an optimizer's moments). The wasm backend keeps it in wasm
   * memory, so its kernels need not copy it in and out; it is an ordinary Float32Array to
   * everything else.
   */
  allocateState(length: number): Float32Array;
  /** One parameter's fused Adam / AdamW update, in place; every backend gives the JS reference's bits (./js/optim.ts). */
  adamUpdate(update: AdamUpdate): void;
  /** One parameter's SGD momentum step after the first, in place, with the JS reference's bits. */
  sgdMomentumUpdate(update: SgdMomentumUpdate): void;
  /** Additive attention's forward (see AdditiveAttentionProblem): [N, L, D + S], each row the context, then the weights. */
  additiveAttention(problem: AdditiveAttentionProblem): Float32Array;
  /** Every input's gradient from the forward's result and d(out) ([N, L, D + S]: d(context), then d(weights)). */
  additiveAttentionBackward(problem: AdditiveAttentionProblem, out: Float32Array, gradOut: Float32Array): AdditiveAttentionGrads;
  /** Cross entropy per position: -(1 - s) w[y] (x[y] - lse) - (s / C) sum_c w[c] (x[c] - lse) (./js/loss.ts is the reference). */
  crossEntropyForward(problem: ClassCrossEntropy): ClassCrossEntropyForward;
  /** d(logits) [outer, classes, inner] from forward's rowStats and d(loss) per position (`rowGrad`, 0 where ignored). */
  crossEntropyBackward(problem: ClassCrossEntropy, rowStats: Float64Array, rowGrad: Float64Array): Float32Array;
  /** Layer norm forward: the output [rows, size] and the per-row statistics. */
  layerNorm(problem: LayerNormProblem): { output: Float32Array; stats: LayerNormStats };
  /** Layer norm backward from d(output) [rows, size] contiguous; only the wanted gradients are computed. */
  layerNormBackward(problem: LayerNormProblem, stats: LayerNormStats, grad: Float32Array, want: { input: boolean; weight: boolean; bias: boolean }): LayerNormGrads;
}
