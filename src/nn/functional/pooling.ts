// Pooling (max, average, Lp, adaptive average and max, log-sum-exp). Max and average pooling are
// one recorded op each over the backends' pooling kernels, with their gradients written here;
// Lp pooling builds on average pooling, the adaptive poolings on matmul and indexSelect, and
// log-sum-exp pooling reduces im2col (`unfold`) windows, so their gradients come from the tape.
import type { AvgPoolDivisor, WindowGeometry } from "../../backend/backend.js";
import { backend } from "../../backend/registry.js";
import { fail, fmtShape } from "../../core/errors.js";
import { cat } from "../../ops/shape.js";
import { canFoldRelu, markReluFolded } from "../../autograd/relu-fold.js";
import { pendingConv } from "../../ops/deferred-conv.js";
import { deferMaxPoolGradient, goesToConvolution } from "../../ops/deferred-pool-gradient.js";
import { pendingReluInput } from "../../ops/deferred-relu.js";
import { fromStorage, record } from "../../ops/util.js";
import { unfold } from "../../ops/window.js";
import { full, tensor } from "../../tensor/creation.js";
import type { Tensor } from "../../tensor/tensor.js";

export interface MaxPoolOptions {
  /** Defaults to the kernel size. */
  stride?: number | number[] | null;
  padding?: number | number[];
  dilation?: number | number[];
  ceilMode?: boolean;
  returnIndices?: boolean;
}
export interface AvgPoolOptions {
  /** Defaults to the kernel size. */
  stride?: number | number[] | null;
  padding?: number | number[];
  ceilMode?: boolean;
  /** Counts the zero padding in the divisor (PyTorch's default: true). */
  countIncludePad?: boolean;
  /** When set, every window sum is divided by this instead of the window's size. */
  divisorOverride?: number | null;
}
export interface LpPoolOptions {
  stride?: number | number[] | null;
  ceilMode?: boolean;
}
export interface LogSumExpPoolOptions {
  stride?: number | number[] | null;
  /** The sharpness b: large b tends to max pooling, b -> 0 to average pooling. Default 1. */
  b?: number;
}
/**
 * max pooling's `[output, indices]` when `returnIndices` is set (PyTorch's tuple): indices are
 * int32 flat positions (h * W + w) of each maximum within its input plane.
 */
export type PoolWithIndices = [Tensor, Tensor];

function tuple(op: string, name: string, value: number | number[], n: number, min: number): number[] {
  const list = typeof value === "number" ? new Array<number>(n).fill(value) : value.length === 1 ? new Array<number>(n).fill(value[0]) : value.slice();
  if (list.length !== n) fail(op, `${name} must be an int or a list of ${n} ints, got ${JSON.stringify(value)}`);
  for (const v of list) if (!Number.isInteger(v) || v < min) fail(op, `${name} must hold integers >= ${min}, got ${JSON.stringify(value)}`);
  return list;
}

/** Pooling geometry for both spatial dims (1-D pooling uses a height-1 kernel). */
interface PoolGeometry {
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
  out: number[];
  /** Trailing padding that ceil mode needs beyond the symmetric padding. */
  extra: number[];
}

/** PyTorch's pooling_output_shape, with its ceil-mode rule: the last window must start inside the input or left padding. */
function pooledSize(size: number, kernel: number, stride: number, pad: number, dilation: number, ceilMode: boolean): number {
  let out = Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

function poolGeometry(op: string, x: Tensor, kernel: number[], stride: number[], padding: number[], dilation: number[], ceilMode: boolean): PoolGeometry {
  const spatial = x.shape.slice(2);
  for (let i = 0; i < 2; i++) {
    if (padding[i] > Math.floor(kernel[i] / 2)) {
      fail(op, `padding should be at most half of the kernel size, got padding ${fmtShape(padding)} for kernel ${fmtShape(kernel)}`);
    }
  }
  const out = spatial.map((n, i) => pooledSize(n, kernel[i], stride[i], padding[i], dilation[i], ceilMode));
  if (out.some((n) => n < 1)) {
    fail(op, `input of shape ${fmtShape(x.shape)} is too small for kernel ${fmtShape(kernel)} with stride ${fmtShape(stride)}, padding ${fmtShape(padding)} and dilation ${fmtShape(dilation)} (output would be ${fmtShape(out)})`);
  }
  const extra = spatial.map((n, i) => Math.max(0, (out[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - (n + 2 * padding[i])));
  return { kernel, stride, padding, dilation, out, extra };
}

/** Pads the end of dim `dim` with `value` (ceil mode's windows that run past the input). */
function padEnd(x: Tensor, dim: number, amount: number, value: number): Tensor {
  if (amount === 0) return x;
  const shape = x.shape.slice();
  shape[dim] = amount;
  return cat([x, full(shape, value)], dim);
}

/** Every window as a column: [N, C, H, W] -> [N, C, kH*kW, outH*outW]. */
function windows(x: Tensor, g: PoolGeometry, padValue: number): Tensor {
  const padded = padEnd(padEnd(x, 2, g.extra[0], padValue), 3, g.extra[1], padValue);
  const cols = unfold(padded, {
    kernelSize: [g.kernel[0], g.kernel[1]], stride: [g.stride[0], g.stride[1]],
    padding: [g.padding[0], g.padding[1]], dilation: [g.dilation[0], g.dilation[1]], padValue,
  });
  const [n, c] = x.shape;
  return cols.reshape([n, c, g.kernel[0] * g.kernel[1], g.out[0] * g.out[1]]);
}

/**
 * Brings 1-D and 2-D, batched and unbatched inputs to [N, C, H, W] (1-D: H = 1), runs `body`
 * on it and gives the result the input's rank back.
 */
function asImage<T extends Tensor | PoolWithIndices>(op: string, input: Tensor, spatial: 1 | 2, body: (x: Tensor) => T): T {
  const dims = spatial === 1 ? "L" : "H, W";
  if (input.ndim !== spatial + 1 && input.ndim !== spatial + 2) {
    fail(op, `expected a ${spatial + 1}-D (unbatched [C, ${dims}]) or ${spatial + 2}-D (batched [N, C, ${dims}]) input, got shape ${fmtShape(input.shape)}`);
  }
  if (input.dtype !== "float32") fail(op, `expected a float32 input, got ${input.dtype}`);
  const unbatched = input.ndim === spatial + 1;
  let x = unbatched ? input.unsqueeze(0) : input;
  if (spatial === 1) x = x.unsqueeze(2);
  const restore = (t: Tensor): Tensor => {
    let r = spatial === 1 ? t.squeeze(2) : t;
    if (unbatched) r = r.squeeze(0);
    return r;
  };
  const result = body(x);
  if (Array.isArray(result)) return [restore(result[0]), restore(result[1])] as T;
  return restore(result as Tensor) as T;
}

/** Expands 1-D arguments to the height-1 2-D form: k -> [1, k]. */
function lift(op: string, name: string, value: number | number[], spatial: 1 | 2, min: number, heightValue: number): number[] {
  const t = tuple(op, name, value, spatial, min);
  return spatial === 1 ? [heightValue, t[0]] : t;
}

/** The kernels' view of a pooling geometry on [N, C, H, W] input `x`. */
function kernelGeometry(x: Tensor, g: PoolGeometry): WindowGeometry {
  const [batch, channels, inHeight, inWidth] = x.shape;
  return {
    batch, channels, inHeight, inWidth,
    kernelHeight: g.kernel[0], kernelWidth: g.kernel[1],
    strideH: g.stride[0], strideW: g.stride[1],
    padH: g.padding[0], padW: g.padding[1],
    dilationH: g.dilation[0], dilationW: g.dilation[1],
    outHeight: g.out[0], outWidth: g.out[1],
    // The pooling kernels clip windows to the input instead of reading padding.
    padValue: 0,
  };
}

function maxPool(op: string, spatial: 1 | 2, input: Tensor, kernelSize: number | number[], options: MaxPoolOptions): Tensor | PoolWithIndices {
  return asImage<Tensor | PoolWithIndices>(op, input, spatial, (x) => {
    const kernel = lift(op, "kernelSize", kernelSize, spatial, 1, 1);
    const stride = options.stride == null ? kernel : lift(op, "stride", options.stride, spatial, 1, 1);
    const padding = lift(op, "padding", options.padding ?? 0, spatial, 0, 0);
    const dilation = lift(op, "dilation", options.dilation ?? 1, spatial, 1, 1);
    const g = kernelGeometry(x, poolGeometry(op, x, kernel, stride, padding, dilation, options.ceilMode ?? false));
    const shape = [g.batch, g.channels, g.outHeight, g.outWidth];
    // A ReLU output not computed yet (ops/deferred-relu.ts) is pooled from its input, and a
    // convolution's output not computed yet (ops/deferred-conv.ts) in the same backend call as
    // the convolution.
    const reluInput = pendingReluInput(x);
    const source = reluInput ?? x;
    const conv = pendingConv(source);
    const { values, indices } = conv !== null
      ? backend().conv2dMaxPool(conv.x, conv.xl, conv.weight, conv.wl, conv.bias, conv.bl, conv.g, g, reluInput !== null)
      : backend().maxPool(source.storage, source.layout, g, reluInput !== null);
    // The gradient goes to each window's (first) maximum, the element its index names. When x is
    // a ReLU's output, the ReLU's backward is folded in where possible (autograd/relu-fold.ts).
    // A gradient going straight to a convolution is handed over unscattered (ops/deferred-pool-gradient.ts).
    const out = record(op, fromStorage(values, shape, "float32"), [x], (grad) => {
      const fold = canFoldRelu(x);
      // The ReLU's mask is needed only at each window's maximum, where its output is the pooled value.
      const reluPooled = fold ? (values as Float32Array) : null;
      const dx = goesToConvolution(x, fold)
        ? deferMaxPoolGradient({ grad, indices, g, reluPooled }, x.shape)
        : fromStorage(backend().maxPoolBackward(grad.storage, grad.layout, indices, g, reluPooled), x.shape, "float32");
      if (fold) markReluFolded(dx, x);
      return [dx];
    });
    if (!options.returnIndices) return out;
    // A copy, so editing the returned indices in place cannot redirect the gradient.
    return [out, fromStorage(indices.slice(), shape, "int32")];
  });
}

/** torch.nn.functional.max_pool1d on [N, C, L] (or [C, L]); `returnIndices` gives [output, indices]. */
export function maxPool1d(input: Tensor, kernelSize: number | number[], options: MaxPoolOptions & { returnIndices: true }): PoolWithIndices;
export function maxPool1d(input: Tensor, kernelSize: number | number[], options?: MaxPoolOptions): Tensor;
export function maxPool1d(input: Tensor, kernelSize: number | number[], options: MaxPoolOptions = {}): Tensor | PoolWithIndices {
  return maxPool("maxPool1d", 1, input, kernelSize, options);
}

/** torch.nn.functional.max_pool2d on [N, C, H, W] (or [C, H, W]); `returnIndices` gives [output, indices]. */
export function maxPool2d(input: Tensor, kernelSize: number | number[], options: MaxPoolOptions & { returnIndices: true }): PoolWithIndices;
export function maxPool2d(input: Tensor, kernelSize: number | number[], options?: MaxPoolOptions): Tensor;
export function maxPool2d(input: Tensor, kernelSize: number | number[], options: MaxPoolOptions = {}): Tensor | PoolWithIndices {
  return maxPool("maxPool2d", 2, input, kernelSize, options);
}

function avgPool(op: string, spatial: 1 | 2, input: Tensor, kernelSize: number | number[], options: AvgPoolOptions): Tensor {
  return asImage(op, input, spatial, (x) => {
    const kernel = lift(op, "kernelSize", kernelSize, spatial, 1, 1);
    const stride = options.stride == null ? kernel : lift(op, "stride", options.stride, spatial, 1, 1);
    const padding = lift(op, "padding", options.padding ?? 0, spatial, 0, 0);
    if (options.divisorOverride != null && (!Number.isFinite(options.divisorOverride) || options.divisorOverride === 0)) {
      fail(op, `divisorOverride must be a non-zero number, got ${options.divisorOverride}`);
    }
    const g = kernelGeometry(x, poolGeometry(op, x, kernel, stride, padding, [1, 1], options.ceilMode ?? false));
    const divisor: AvgPoolDivisor = { countIncludePad: options.countIncludePad ?? true, divisorOverride: options.divisorOverride ?? null };
    const out = fromStorage(backend().avgPool(x.storage, x.layout, g, divisor), [g.batch, g.channels, g.outHeight, g.outWidth], "float32");
    return record(op, out, [x], (grad) => [fromStorage(backend().avgPoolBackward(grad.storage, grad.layout, g, divisor), x.shape, "float32")]);
  });
}

/** torch.nn.functional.avg_pool1d on [N, C, L] (or [C, L]). */
export function avgPool1d(input: Tensor, kernelSize: number | number[], options: Omit<AvgPoolOptions, "divisorOverride"> = {}): Tensor {
  return avgPool("avgPool1d", 1, input, kernelSize, options);
}

/** torch.nn.functional.avg_pool2d on [N, C, H, W] (or [C, H, W]). */
export function avgPool2d(input: Tensor, kernelSize: number | number[], options: AvgPoolOptions = {}): Tensor {
  return avgPool("avgPool2d", 2, input, kernelSize, options);
}

/** PyTorch's lp_pool: (sum over the window of x^p)^(1/p), via average pooling times the window size. */
function lpPool(op: string, spatial: 1 | 2, input: Tensor, normType: number, kernelSize: number | number[], options: LpPoolOptions): Tensor {
  if (typeof normType !== "number" || Number.isNaN(normType) || normType === 0) fail(op, `normType must be a non-zero number, got ${normType}`);
  const kernel = tuple(op, "kernelSize", kernelSize, spatial, 1);
  const windowSize = kernel.reduce((a, b) => a * b, 1);
  const averaged = avgPool(op, spatial, input.pow(normType), kernel, { stride: options.stride, ceilMode: options.ceilMode });
  return averaged.sign().mul(averaged.abs().relu()).mul(windowSize).pow(1 / normType);
}

/** torch.nn.functional.lp_pool1d. */
export function lpPool1d(input: Tensor, normType: number, kernelSize: number | number[], options: LpPoolOptions = {}): Tensor {
  return lpPool("lpPool1d", 1, input, normType, kernelSize, options);
}

/** torch.nn.functional.lp_pool2d. */
export function lpPool2d(input: Tensor, normType: number, kernelSize: number | number[], options: LpPoolOptions = {}): Tensor {
  return lpPool("lpPool2d", 2, input, normType, kernelSize, options);
}

/**
 * The [out, size] matrix that averages PyTorch's adaptive windows
 * [floor(i*size/out), ceil((i+1)*size/out)); adaptive average pooling is separable, so a
 * 2-D pool is one such product per spatial dim.
 */
function adaptiveMatrix(size: number, out: number): Tensor {
  const m = new Float32Array(out * size);
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    for (let j = start; j < end; j++) m[i * size + j] = 1 / (end - start);
  }
  return tensor(m).reshape([out, size]);
}

function adaptiveSizes(op: string, outputSize: number | (number | null)[], input: number[]): number[] {
  const list = typeof outputSize === "number" ? input.map(() => outputSize) : outputSize.length === 1 ? input.map(() => outputSize[0]) : outputSize;
  if (list.length !== input.length) fail(op, `outputSize must be an int or a list of ${input.length} ints (or nulls), got ${JSON.stringify(outputSize)}`);
  return list.map((v, i) => {
    if (v === null) return input[i];
    if (!Number.isInteger(v) || v < 1) fail(op, `outputSize must hold positive integers, got ${JSON.stringify(outputSize)}`);
    return v;
  });
}

/** torch.nn.functional.adaptive_avg_pool1d on [N, C, L] (or [C, L]). */
export function adaptiveAvgPool1d(input: Tensor, outputSize: number | number[]): Tensor {
  return asImage("adaptiveAvgPool1d", input, 1, (x) => {
    const [outW] = adaptiveSizes("adaptiveAvgPool1d", outputSize, [x.shape[3]]);
    return x.matmul(adaptiveMatrix(x.shape[3], outW).t());
  });
}

/** torch.nn.functional.adaptive_avg_pool2d on [N, C, H, W] (or [C, H, W]); a null size keeps the input's. */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | (number | null)[]): Tensor {
  return asImage("adaptiveAvgPool2d", input, 2, (x) => {
    const [outH, outW] = adaptiveSizes("adaptiveAvgPool2d", outputSize, [x.shape[2], x.shape[3]]);
    const rows = adaptiveMatrix(x.shape[2], outH);
    return rows.matmul(x.matmul(adaptiveMatrix(x.shape[3], outW).t()));
  });
}

/**
 * Adaptive max pooling along the last dim: the windows [floor(i*size/out), ceil((i+1)*size/out))
 * are gathered with indexSelect into a [.., out, widest] block (short windows repeat their first
 * element, which never changes the max nor which element is first), then reduced.
 * Returns the values and each maximum's position along the dim.
 */
function adaptiveMaxLastDim(x: Tensor, out: number): { values: Tensor; positions: Tensor } {
  const size = x.shape[x.ndim - 1];
  const starts = Array.from({ length: out }, (_, i) => Math.floor((i * size) / out));
  const ends = Array.from({ length: out }, (_, i) => Math.ceil(((i + 1) * size) / out));
  const widest = Math.max(...ends.map((e, i) => e - starts[i]));
  const index = new Int32Array(out * widest);
  for (let i = 0; i < out; i++) for (let j = 0; j < widest; j++) index[i * widest + j] = starts[i] + (j < ends[i] - starts[i] ? j : 0);
  const windowsOf = x.indexSelect(x.ndim - 1, tensor(index, { dtype: "int32" })).reshape([...x.shape.slice(0, -1), out, widest]);
  const { values, indices } = windowsOf.max(-1);
  const local = indices.data() as Int32Array;
  const positions = new Int32Array(local.length);
  for (let k = 0; k < local.length; k++) positions[k] = index[(k % out) * widest + local[k]];
  return { values, positions: tensor(positions, { dtype: "int32" }).reshape(values.shape.slice()) };
}

/** torch.nn.functional.adaptive_max_pool1d on [N, C, L] (or [C, L]); `returnIndices` gives [output, indices]. */
export function adaptiveMaxPool1d(input: Tensor, outputSize: number | number[], options: { returnIndices: true }): PoolWithIndices;
export function adaptiveMaxPool1d(input: Tensor, outputSize: number | number[], options?: { returnIndices?: boolean }): Tensor;
export function adaptiveMaxPool1d(input: Tensor, outputSize: number | number[], options: { returnIndices?: boolean } = {}): Tensor | PoolWithIndices {
  return asImage<Tensor | PoolWithIndices>("adaptiveMaxPool1d", input, 1, (x) => {
    const [outW] = adaptiveSizes("adaptiveMaxPool1d", outputSize, [x.shape[3]]);
    const { values, positions } = adaptiveMaxLastDim(x, outW);
    return options.returnIndices ? [values, positions] : values;
  });
}

/**
 * torch.nn.functional.adaptive_max_pool2d on [N, C, H, W] (or [C, H, W]). Max over a rectangle is
 * a max over columns then over rows; taking the first maximum at each stage picks PyTorch's
 * element (the first in row-major order), so gradients and indices match.
 */
export function adaptiveMaxPool2d(input: Tensor, outputSize: number | (number | null)[], options: { returnIndices: true }): PoolWithIndices;
export function adaptiveMaxPool2d(input: Tensor, outputSize: number | (number | null)[], options?: { returnIndices?: boolean }): Tensor;
export function adaptiveMaxPool2d(input: Tensor, outputSize: number | (number | null)[], options: { returnIndices?: boolean } = {}): Tensor | PoolWithIndices {
  return asImage<Tensor | PoolWithIndices>("adaptiveMaxPool2d", input, 2, (x) => {
    const [height, width] = [x.shape[2], x.shape[3]];
    const [outH, outW] = adaptiveSizes("adaptiveMaxPool2d", outputSize, [height, width]);
    const byColumns = adaptiveMaxLastDim(x, outW); // [N, C, H, outW]
    const byRows = adaptiveMaxLastDim(byColumns.values.transpose(2, 3), outH); // [N, C, outW, outH]
    const values = byRows.values.transpose(2, 3);
    if (!options.returnIndices) return values;
    // The winning row per output, then that row's winning column: index = row * W + column.
    const rows = byRows.positions.data() as Int32Array;
    const columns = byColumns.positions.data() as Int32Array;
    const [n, c] = x.shape;
    const flat = new Int32Array(n * c * outH * outW);
    for (let plane = 0; plane < n * c; plane++) {
      for (let i = 0; i < outH; i++) {
        for (let j = 0; j < outW; j++) {
          const row = rows[(plane * outW + j) * outH + i];
          flat[(plane * outH + i) * outW + j] = row * width + columns[(plane * height + row) * outW + j];
        }
      }
    }
    return [values, tensor(flat, { dtype: "int32" }).reshape([n, c, outH, outW])];
  });
}

/**
 * Log-sum-exp pooling from the lectures ("PROB" pooling): over each window of K values,
 *   (1/b) * log( (1/K) * sum_i exp(b * x_i) ),
 * a soft maximum that tends to max pooling as b -> infinity and to average pooling as b -> 0.
 * The mean (not the sum) keeps a constant input unchanged. Computed stably (the window max is
 * subtracted before exponentiating).
 */
export function logSumExpPool2d(input: Tensor, kernelSize: number | number[], options: LogSumExpPoolOptions = {}): Tensor {
  const op = "logSumExpPool2d";
  const b = options.b ?? 1;
  if (!Number.isFinite(b) || b === 0) fail(op, `b must be a finite non-zero number, got ${b}`);
  return asImage(op, input, 2, (x) => {
    const kernel = tuple(op, "kernelSize", kernelSize, 2, 1);
    const stride = options.stride == null ? kernel : tuple(op, "stride", options.stride, 2, 1);
    const g = poolGeometry(op, x, kernel, stride, [0, 0], [1, 1], false);
    const cols = windows(x, g, 0);
    const pooled = cols.mul(b).logsumexp(2).sub(Math.log(kernel[0] * kernel[1])).div(b);
    return pooled.reshape([x.shape[0], x.shape[1], g.out[0], g.out[1]]);
  });
}
