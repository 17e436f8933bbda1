import type { DType, Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import type { AdditiveAttentionProblem, AttentionSpec, AvgPoolDivisor, Backend, BinaryOp, ConvGeometry, ConvGrads, ConvGradsWanted, ReduceOp, UnaryOp, WindowGeometry } from "../backend.js";
import { jsBackend } from "../js/index.js";
import { registerBackend } from "../registry.js";
import { binaryOn, unaryOn, wasmBinaryHandles, wasmUnaryHandles } from "./elementwise.js";
import { attentionBackwardOn, attentionForwardOn } from "./attention.js";
import { stridedAssignOn, stridedCopyOn } from "./copy.js";
import { conv2dBackwardOn, conv2dOn } from "./conv.js";
import { conv2dBackwardFromMaxPoolOn } from "./conv-pool.js";
import { matmulOn } from "./matmul.js";
import { copyOut } from "./operands.js";
import { layerNormBackwardOn, layerNormOn } from "./normalization.js";
import { additiveAttentionBackwardOn, additiveAttentionOn } from "./additive-attention.js";
import { attentionDecoderBackwardOn, attentionDecoderForwardOn, attentionDecoderReleaseOn } from "./attention-decoder.js";
import { crossEntropyBackwardOn, crossEntropyForwardOn } from "./loss.js";
import { adamUpdateOn, sgdMomentumUpdateOn } from "./optim.js";
import { avgPoolBackwardOn, avgPoolOn, maxPoolBackwardOn, maxPoolOn } from "./pool.js";
import { recurrenceBackwardOn, recurrenceForwardOn, recurrenceReleaseOn } from "./recurrent.js";
import { reduceOn, wasmReduceHandles } from "./reduce.js";
import { wasmRuntime, wasmSupported } from "./runtime.js";
import { foldOn, unfoldOn } from "./window.js";

// Below these sizes copying operands in and out costs more than the wasm kernel saves
// (measured with bench/kernels.ts); the JS kernel runs instead. Elementwise ops have their own
// per-op thresholds (wasmBinaryHandles and wasmUnaryHandles in ./elementwise.ts).
const MIN_MATMUL_MACS = 4096;
const MIN_WINDOW_ELEMENTS = 16 * 1024;
const MIN_REDUCE_ELEMENTS = 2048;
// Pooling: the wasm kernels win from ~1K input elements forward and ~8K backward (2x2 pools, one thread).
const MIN_POOL_ELEMENTS = 4096;
// Optimizer updates, copies included (one thread): Adam's kernel wins from a few hundred
// elements (the JS loop is bound by double divisions), SGD momentum's (memory bound) from ~4K.
const MIN_ADAM_ELEMENTS = 256;
const MIN_SGD_MOMENTUM_ELEMENTS = 4096;
// Strided (transposed, permuted) float32 copies: the kernel plus two memcpys beat the JS loop from ~4K elements.
const MIN_STRIDED_COPY_ELEMENTS = 4096;
// Cross entropy over [rows, classes] logits (inner size 1 only): one exp per logit each way;
// the kernels win from ~256 logits (forward + backward, one thread: 6 vs 8 us there, 10x at 64K).
const MIN_CROSS_ENTROPY_ELEMENTS = 256;
// Layer norm: two passes over the rows forward, three backward.
const MIN_LAYER_NORM_ELEMENTS = 4096;
// Additive attention's [N, L, S, H] tanh arguments, below which staging costs more than the kernel saves.
const MIN_ADDITIVE_ATTENTION_ELEMENTS = 4096;
const smallAttention = (p: AdditiveAttentionProblem): boolean => p.batch * p.queries * p.keys * p.hidden < MIN_ADDITIVE_ATTENTION_ELEMENTS;
// The arena a backward pass may fill with results it keeps in wasm memory (beyond it they are
// copied out as outside a scope). The memory stays reserved for the next pass.
const RESULT_SCOPE_BUDGET = 256 * 1024 * 1024;

/** Multiply-adds of a convolution's GEMM, the size that decides between the wasm and JS kernels. */
function convMacs(g: ConvGeometry): number {
  return g.batch * g.outChannels * g.outHeight * g.outWidth * (g.channels / g.groups) * g.kernelHeight * g.kernelWidth;
}

/** Multiply-adds of fused attention's q k^T; 0 when any dim is empty (the JS kernel takes those). */
function attentionMacs(spec: AttentionSpec): number {
  const [b1, b2, l, e] = spec.q.layout.shape;
  return b1 * b2 * l * e * spec.k.layout.shape[2] * Math.min(spec.v.layout.shape[3], 1);
}

/**
 * The WebAssembly backend: SIMD (relaxed-SIMD FMA where the engine validates it) kernels on all
 * cores for the ops whose time shows in the training profiles (GEMM, im2col, col2im, the common
 * float32 elementwise ops, sum/max/min/argmax/argmin reductions, max and average pooling, fused
 * attention, strided copies); every
 * other op, and inputs too small to repay copying them into wasm memory, run on the JS reference
 * kernels.
 */
export const wasmBackend: Backend = {
  ...jsBackend,
  name: "wasm",
  matmul(a: Storage, al: Layout, b: Storage, bl: Layout, bias?: Storage, biasLayout?: Layout): Storage {
    if (al.shape[0] * al.shape[1] * al.shape[2] * bl.shape[2] < MIN_MATMUL_MACS) return jsBackend.matmul(a, al, b, bl, bias, biasLayout);
    const dense = bias !== undefined && biasLayout !== undefined ? (jsBackend.copy(bias, biasLayout, "float32") as Float32Array) : undefined;
    return matmulOn(wasmRuntime(), a, al, b, bl, dense);
  },
  conv2d(x: Storage, xl: Layout, w: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, g: ConvGeometry): Storage {
    if (convMacs(g) < MIN_MATMUL_MACS || !(x instanceof Float32Array) || !(w instanceof Float32Array)) return jsBackend.conv2d(x, xl, w, wl, bias, bl, g);
    return conv2dOn(wasmRuntime(), x, xl, w, wl, bias, bl, g);
  },
  conv2dBackward(grad: Storage, gl: Layout, x: Storage, xl: Layout, w: Storage, wl: Layout, g: ConvGeometry, want: ConvGradsWanted): ConvGrads {
    if (convMacs(g) < MIN_MATMUL_MACS || !(x instanceof Float32Array) || !(w instanceof Float32Array)) return jsBackend.conv2dBackward(grad, gl, x, xl, w, wl, g, want);
    return conv2dBackwardOn(wasmRuntime(), grad, gl, x, xl, w, wl, g, want);
  },
  copy(x: Storage, xl: Layout, outDtype: DType): Storage {
    if (xl.size >= MIN_STRIDED_COPY_ELEMENTS && x instanceof Float32Array && outDtype === "float32" && !xl.isContiguous()) {
      const out = stridedCopyOn(wasmRuntime(), x, xl);
      if (out !== null) return out;
    }
    return jsBackend.copy(x, xl, outDtype);
  },
  assign(dst: Storage, dstLayout: Layout, src: Storage, srcLayout: Layout): void {
    // A strided float32 source written into a contiguous region (a slicing view's gradient, cat):
    // read through the wasm kernel straight into place, instead of a JS walk into a temporary.
    const strided = srcLayout.size >= MIN_STRIDED_COPY_ELEMENTS && !srcLayout.isContiguous() && dstLayout.isContiguous();
    if (strided && src instanceof Float32Array && dst instanceof Float32Array) {
      if (stridedAssignOn(wasmRuntime(), dst, dstLayout.offset, src, srcLayout)) return;
    }
    jsBackend.assign(dst, dstLayout, src, srcLayout);
  },
  binary(op: BinaryOp, a: Storage, al: Layout, b: Storage, bl: Layout, outDtype: DType): Storage {
    if (a instanceof Float32Array && b instanceof Float32Array && wasmBinaryHandles(op, outDtype, al.size)) {
      const out = binaryOn(wasmRuntime(), op, a, al, b, bl);
      if (out !== null) return out;
    }
    return jsBackend.binary(op, a, al, b, bl, outDtype);
  },
  unary(op: UnaryOp, x: Storage, xl: Layout, outDtype: DType): Storage {
    if (x instanceof Float32Array && wasmUnaryHandles(op, outDtype, xl.size)) {
      const out = unaryOn(wasmRuntime(), op, x, xl);
      if (out !== null) return out;
    }
    return jsBackend.unary(op, x, xl, outDtype);
  },
  reduce(op: ReduceOp, x: Storage, xl: Layout, dims: readonly number[]): Storage {
    if (xl.size >= MIN_REDUCE_ELEMENTS && x instanceof Float32Array && wasmReduceHandles(op)) {
      const out = reduceOn(wasmRuntime(), op, x, xl, dims);
      if (out !== null) return out;
    }
    return jsBackend.reduce(op, x, xl, dims);
  },
  unfold(x: Storage, xl: Layout, g: WindowGeometry): Storage {
    if (xl.size < MIN_WINDOW_ELEMENTS || !(x instanceof Float32Array)) return jsBackend.unfold(x, xl, g);
    return unfoldOn(wasmRuntime(), x, xl, g);
  },
  fold(cols: Storage, colsLayout: Layout, g: WindowGeometry): Storage {
    if (colsLayout.size < MIN_WINDOW_ELEMENTS || !(cols instanceof Float32Array)) return jsBackend.fold(cols, colsLayout, g);
    return foldOn(wasmRuntime(), cols, colsLayout, g);
  },
  maxPool(x: Storage, xl: Layout, g: WindowGeometry, reluFirst = false): { values: Storage; indices: Int32Array } {
    if (xl.size < MIN_POOL_ELEMENTS || !(x instanceof Float32Array)) return jsBackend.maxPool(x, xl, g, reluFirst);
    return maxPoolOn(wasmRuntime(), x, xl, g, reluFirst);
  },
  conv2dBackwardFromMaxPool(poolGrad: Storage, poolGradLayout: Layout, indices: Int32Array, pool: WindowGeometry, reluPooled: Float32Array | null, x: Storage, xl: Layout, w: Storage, wl: Layout, g: ConvGeometry, want: ConvGradsWanted): ConvGrads {
    if (convMacs(g) < MIN_MATMUL_MACS || !(poolGrad instanceof Float32Array) || !(x instanceof Float32Array)) {
      return jsBackend.conv2dBackwardFromMaxPool(poolGrad, poolGradLayout, indices, pool, reluPooled, x, xl, w, wl, g, want);
    }
    return conv2dBackwardFromMaxPoolOn(wasmRuntime(), poolGrad, poolGradLayout, indices, pool, reluPooled, x, xl, w, wl, g, want);
  },
  conv2dMaxPool(x: Storage, xl: Layout, w: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, conv: ConvGeometry, pool: WindowGeometry, reluFirst: boolean): { values: Storage; indices: Int32Array } {
    // In a result scope the convolution's output stays in wasm memory, where pooling reads it.
    wasmBackend.openResultScope();
    try {
      const out = wasmBackend.conv2d(x, xl, w, wl, bias, bl, conv);
      const { values, indices } = wasmBackend.maxPool(out, Layout.contiguous([conv.batch, conv.outChannels, conv.outHeight, conv.outWidth]), pool, reluFirst);
      return { values: wasmBackend.keepAfterScope(values), indices };
    } finally {
      wasmBackend.closeResultScope();
    }
  },
  maxPoolBackward(grad: Storage, gradLayout: Layout, indices: Int32Array, g: WindowGeometry, reluPooled: Float32Array | null = null): Storage {
    if (g.batch * g.channels * g.inHeight * g.inWidth < MIN_POOL_ELEMENTS || !(grad instanceof Float32Array)) return jsBackend.maxPoolBackward(grad, gradLayout, indices, g, reluPooled);
    return maxPoolBackwardOn(wasmRuntime(), grad, gradLayout, indices, g, reluPooled);
  },
  avgPool(x: Storage, xl: Layout, g: WindowGeometry, divisor: AvgPoolDivisor): Storage {
    if (xl.size < MIN_POOL_ELEMENTS || !(x instanceof Float32Array)) return jsBackend.avgPool(x, xl, g, divisor);
    return avgPoolOn(wasmRuntime(), x, xl, g, divisor);
  },
  avgPoolBackward(grad: Storage, gradLayout: Layout, g: WindowGeometry, divisor: AvgPoolDivisor): Storage {
    if (g.batch * g.channels * g.inHeight * g.inWidth < MIN_POOL_ELEMENTS || !(grad instanceof Float32Array)) return jsBackend.avgPoolBackward(grad, gradLayout, g, divisor);
    return avgPoolBackwardOn(wasmRuntime(), grad, gradLayout, g, divisor);
  },
  recurrenceForward(spec, operands, save) {
    return recurrenceForwardOn(wasmRuntime(), spec, operands, save);
  },
  recurrenceBackward(spec, weights, saved, gradOutput, wanted) {
    return recurrenceBackwardOn(wasmRuntime(), spec, weights, saved, gradOutput, wanted);
  },
  recurrenceRelease(saved) {
    recurrenceReleaseOn(wasmRuntime(), saved);
  },
  openResultScope() {
    wasmRuntime().openResultScope(RESULT_SCOPE_BUDGET);
  },
  closeResultScope() {
    wasmRuntime().closeResultScope();
  },
  keptInScope(storage) {
    return storage instanceof Float32Array && wasmRuntime().scopedResultPointer(storage) >= 0;
  },
  keepAfterScope(storage) {
    return wasmBackend.keptInScope(storage) ? copyOut(storage as Float32Array) : storage;
  },
  allocateState(length) {
    return wasmRuntime().allocateResident(length) ?? new Float32Array(length);
  },
  adamUpdate(update) {
    if (update.param.length < MIN_ADAM_ELEMENTS) return jsBackend.adamUpdate(update);
    adamUpdateOn(wasmRuntime(), update);
  },
  attentionForward(spec, outLayout, save) {
    if (attentionMacs(spec) < MIN_MATMUL_MACS) return jsBackend.attentionForward(spec, outLayout, save);
    return attentionForwardOn(wasmRuntime(), spec, outLayout, save);
  },
  attentionBackward(spec, weights, gradOutput, bufferSizes, targets) {
    if (attentionMacs(spec) < MIN_MATMUL_MACS) return jsBackend.attentionBackward(spec, weights, gradOutput, bufferSizes, targets);
    return attentionBackwardOn(wasmRuntime(), spec, weights, gradOutput, bufferSizes, targets);
  },
  sgdMomentumUpdate(update) {
    if (update.param.length < MIN_SGD_MOMENTUM_ELEMENTS) return jsBackend.sgdMomentumUpdate(update);
    sgdMomentumUpdateOn(wasmRuntime(), update);
  },
  crossEntropyForward(problem) {
    if (problem.inner !== 1 || problem.logits.length < MIN_CROSS_ENTROPY_ELEMENTS) return jsBackend.crossEntropyForward(problem);
    return crossEntropyForwardOn(wasmRuntime(), problem);
  },
  crossEntropyBackward(problem, rowStats, rowGrad) {
    if (problem.inner !== 1 || problem.logits.length < MIN_CROSS_ENTROPY_ELEMENTS) return jsBackend.crossEntropyBackward(problem, rowStats, rowGrad);
    return crossEntropyBackwardOn(wasmRuntime(), problem, rowStats, rowGrad);
  },
  additiveAttention(problem) {
    if (smallAttention(problem)) return jsBackend.additiveAttention(problem);
    return additiveAttentionOn(wasmRuntime(), problem);
  },
  additiveAttentionBackward(problem, out, gradOut) {
    if (smallAttention(problem)) return jsBackend.additiveAttentionBackward(problem, out, gradOut);
    return additiveAttentionBackwardOn(wasmRuntime(), problem, out, gradOut);
  },
  attentionDecoderForward(problem) {
    return attentionDecoderForwardOn(wasmRuntime(), problem);
  },
  attentionDecoderBackward(problem, saved, gradOutput) {
    return attentionDecoderBackwardOn(wasmRuntime(), problem, saved, gradOutput);
  },
  attentionDecoderRelease(saved) {
    attentionDecoderReleaseOn(wasmRuntime(), saved);
  },
  layerNorm(problem) {
    if (problem.x.length < MIN_LAYER_NORM_ELEMENTS) return jsBackend.layerNorm(problem);
    return layerNormOn(wasmRuntime(), problem);
  },
  layerNormBackward(problem, stats, grad, want) {
    if (problem.x.length < MIN_LAYER_NORM_ELEMENTS) return jsBackend.layerNormBackward(problem, stats, grad, want);
    return layerNormBackwardOn(wasmRuntime(), problem, stats, grad, want);
  },
};

if (wasmSupported()) registerBackend("wasm", () => wasmBackend);
