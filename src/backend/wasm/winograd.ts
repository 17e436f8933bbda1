import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { ConvGeometry, ConvGrads, ConvGradsWanted } from "../backend.js";
import { jsBackend } from "../js/index.js";
import { stage, stageArray, unstage, type Staged } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

/**
 * 5x5 stride-1 convolutions by Winograd F(2x2, 5x5) (kernels/winograd.ts): per 2x2 output tile
 * and input channel, 36 multiplies in the transform domain instead of the direct GEMM's 100,
 * forward and for both gradients. conv.ts sends a convolution here when `winogradApplies`.
 */

/** Positions of the 6x6 transform domain. */
const XI = 36;
/**
 * A task's transform-domain buffers (bytes): tasks take as many whole samples as fit, so that
 * they stay in the core's L2 between the transforms and the GEMMs.
 */
const TASK_BYTES = 256 * 1024;
/** One sample's buffers beyond this (large images) would not stay in cache: the im2col path takes those. */
const MAX_SAMPLE_BYTES = 1024 * 1024;
/**
 * Fewest input channels for the Winograd path: the transforms cost per input channel what the
 * GEMM saves per input and output channel pair, so few input channels (LeNet's conv1 has one)
 * lose to the im2col GEMM.
 */
const MIN_CHANNELS = 4;
// As in conv.ts: smaller jobs are not split across threads.
const MIN_MACS_PER_THREAD = 64 * 1024;
// Kernels per thread below which the weight transforms run on one thread.
const MIN_KERNELS_PER_THREAD = 256;

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
/** FLINT_WINOGRAD=0 sends every convolution to the im2col path (for A/B timings and tests). */
const ENABLED = env?.FLINT_WINOGRAD !== "0";

const roundUp = (value: number, multiple: number) => Math.ceil(value / multiple) * multiple;

/**
 * Whether conv2dOn and conv2dBackwardOn take the Winograd path: a 5x5 kernel at stride 1 and
 * dilation 1, one group, zero padding (any amount), at least MIN_CHANNELS input channels, and one
 * sample's transform buffers within MAX_SAMPLE_BYTES. Measured faster on LeNet's conv2 (20 -> 50
 * channels, 12x12 input); conv1 (one input channel) stays on the im2col path.
 */
export function winogradApplies(g: ConvGeometry): boolean {
  return (
    ENABLED &&
    g.kernelHeight === 5 && g.kernelWidth === 5 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1 &&
    g.groups === 1 && g.padValue === 0 && g.channels >= MIN_CHANNELS &&
    Math.max(forwardBytes(g, 1).total, backwardBytes(g, 1, { input: true, weight: true, bias: true }).total) <= MAX_SAMPLE_BYTES
  );
}

function tilesPerSample(g: ConvGeometry): number {
  return Math.ceil(g.outHeight / 2) * Math.ceil(g.outWidth / 2);
}

/** Where a share's buffer regions start (bytes; 0 for a region not needed) and its size. */
interface Regions {
  vAt: number;
  tilesAt: number;
  dmAt: number;
  dmtAt: number;
  total: number;
}

/** Lays out regions of the given sizes after the transform scratch, each 64-byte aligned. */
function layOut(scratchBytes: number, sizes: { v: number; tiles: number; dm: number; dmt: number }): Regions {
  let top = roundUp(scratchBytes, 64);
  const place = (bytes: number) => {
    if (bytes === 0) return 0;
    const at = top;
    top += roundUp(bytes, 64);
    return at;
  };
  return { vAt: place(sizes.v), tilesAt: place(sizes.tiles), dmAt: place(sizes.dm), dmtAt: place(sizes.dmt), total: top };
}

// The transform scratch's size is the kernels' (winogradScratchBytes); this bound only sizes tasks.
const SCRATCH_BOUND = 4096;

/** A share's buffer for forward tasks of `samples` samples (kernels/winograd.ts's winogradForward layout). */
function forwardBytes(g: ConvGeometry, samples: number, scratchBytes = SCRATCH_BOUND): Regions {
  const panels = Math.ceil((samples * tilesPerSample(g)) / 8);
  return layOut(scratchBytes, { v: XI * panels * g.channels * 32, tiles: XI * panels * 128, dm: 0, dmt: 0 });
}

/** A share's buffer for backward tasks of `samples` samples (winogradBackward's layout). */
function backwardBytes(g: ConvGeometry, samples: number, want: ConvGradsWanted, scratchBytes = SCRATCH_BOUND): Regions {
  const panels = Math.ceil((samples * tilesPerSample(g)) / 8);
  return layOut(scratchBytes, {
    v: want.weight ? XI * roundUp(g.channels, 4) * panels * 8 * 4 : 0,
    tiles: want.input ? XI * panels * 128 : 0,
    dm: want.input ? XI * panels * roundUp(g.outChannels, 8) * 32 : 0,
    dmt: want.weight ? XI * roundUp(g.outChannels, 8) * panels * 8 * 4 : 0,
  });
}

/**
 * Samples per task (as many as fit TASK_BYTES, while every share still gets a task) and the
 * shares: the threads split the batch.
 */
function tasks(rt: WasmRuntime, g: ConvGeometry, bytes: (samples: number) => number) {
  const macs = XI * g.batch * tilesPerSample(g) * g.channels * g.outChannels;
  const shares = rt.sharesFor(Math.floor(macs / MIN_MACS_PER_THREAD));
  let samples = 1;
  while (samples < Math.ceil(g.batch / shares) && bytes(samples + 1) <= TASK_BYTES) samples++;
  return { samples, shares: Math.min(Math.ceil(g.batch / samples), shares) };
}

/**
 * U = G g G^T of every 5x5 kernel, as GEMM row panels of 4 kernels: rows = output channels and
 * columns = input channels forward, transposed for the input gradient.
 */
function transformWeights(rt: WasmRuntime, w: Staged, g: ConvGeometry, transposed: boolean): number {
  const [so, sc, sh, sw] = w.strides;
  const rows = transposed ? g.channels : g.outChannels, cols = transposed ? g.outChannels : g.channels;
  const dst = rt.alloc(XI * roundUp(rows, 4) * cols * 4);
  const shares = Math.min(Math.ceil(rows / 4), rt.sharesFor(Math.floor((rows * cols) / MIN_KERNELS_PER_THREAD)));
  const scratch = rt.alloc(shares * rt.exported("winogradScratchBytes")());
  const args = rt.alloc(9 * 4);
  rt.i32(args, 9).set([w.ptr, transposed ? sc : so, transposed ? so : sc, sh, sw, rows, cols, dst, scratch]);
  rt.run("winogradWeights", args, shares);
  return dst;
}

/** The args block of winogradForward / winogradBackward (kernels/winograd.ts's Problem). */
function problemArgs(
  rt: WasmRuntime, g: ConvGeometry, x: Staged, y: Staged, fields: {
    weights: number; bias: number; inputGrad: number; partials: number; partialFloats: number; wantWeight: boolean;
    samples: number; buffers: number; regions: Regions;
  },
): number {
  const { regions: r } = fields;
  const values = [
    x.ptr, ...x.strides, y.ptr, ...y.strides,
    g.batch, g.channels, g.inHeight, g.inWidth, g.padH, g.padW, g.outHeight, g.outWidth, g.outChannels,
    fields.weights, fields.bias, fields.inputGrad, fields.partials, fields.partialFloats, fields.wantWeight ? 1 : 0,
    fields.samples, fields.buffers, r.total, r.vAt, r.tilesAt, r.dmAt, r.dmtAt,
  ];
  const args = rt.alloc(values.length * 4);
  rt.i32(args, values.length).set(values);
  return args;
}

export function winogradConv2dOn(rt: WasmRuntime, x: Storage, xl: Layout, w: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, g: ConvGeometry): Float32Array {
  rt.reset();
  const sx = stage(rt, x, xl);
  const weights = transformWeights(rt, stage(rt, w, wl), g, false);
  const biasPtr = bias !== null && bl !== null ? stageArray(rt, jsBackend.copy(bias, bl, "float32") as Float32Array) : 0;
  const length = g.outHeight * g.outWidth;
  const size = g.batch * g.outChannels * length;
  const out = { ptr: rt.alloc(size * 4), strides: [g.outChannels * length, length, g.outWidth, 1] };
  const scratchBytes = rt.exported("winogradScratchBytes")();
  const { samples, shares } = tasks(rt, g, (s) => forwardBytes(g, s).total);
  const regions = forwardBytes(g, samples, scratchBytes);
  const buffers = rt.alloc(shares * regions.total);
  const args = problemArgs(rt, g, sx, out, { weights, bias: biasPtr, inputGrad: 0, partials: 0, partialFloats: 0, wantWeight: false, samples, buffers, regions });
  rt.run("winogradForward", args, shares);
  return unstage(rt, out.ptr, size);
}

export function winogradConv2dBackwardOn(rt: WasmRuntime, grad: Storage, gl: Layout, x: Storage, xl: Layout, w: Storage, wl: Layout, g: ConvGeometry, want: ConvGradsWanted): ConvGrads {
  rt.reset();
  const sg = stage(rt, grad, gl);
  const sx = want.weight ? stage(rt, x, xl) : { ptr: 0, strides: [0, 0, 0, 0] };
  const weights = want.input ? transformWeights(rt, stage(rt, w, wl), g, true) : 0;
  const inputSize = g.batch * g.channels * g.inHeight * g.inWidth;
  const inputGrad = want.input ? rt.alloc(inputSize * 4) : 0;
  const scratchBytes = rt.exported("winogradScratchBytes")();
  const { samples, shares } = tasks(rt, g, (s) => backwardBytes(g, s, want).total);
  const regions = backwardBytes(g, samples, want, scratchBytes);
  const buffers = rt.alloc(shares * regions.total);
  // Per share: dU^T [36, C (to 4), O (to 8)], then the bias sums [O (to 8)].
  const paddedOut = roundUp(g.outChannels, 8);
  const partialFloats = want.weight || want.bias ? XI * roundUp(g.channels, 4) * paddedOut + paddedOut : 0;
  const partials = partialFloats > 0 ? rt.alloc(shares * partialFloats * 4) : 0;
  const args = problemArgs(rt, g, sx, sg, { weights, bias: 0, inputGrad, partials, partialFloats, wantWeight: want.weight, samples, buffers, regions });
  rt.run("winogradBackward", args, shares);
  const result: ConvGrads = { input: want.input ? unstage(rt, inputGrad, inputSize) : null, weight: null, bias: null };
  if (partials === 0) return result;
  const weightSize = g.outChannels * g.channels * 25;
  const weightGrad = want.weight ? rt.alloc(weightSize * 4) : 0;
  const biasGrad = want.bias ? rt.alloc(g.outChannels * 4) : 0;
  const gradShares = want.weight ? Math.min(g.channels, rt.sharesFor(Math.floor((g.outChannels * g.channels) / MIN_KERNELS_PER_THREAD))) : 1;
  const gradArgs = rt.alloc(8 * 4);
  rt.i32(gradArgs, 8).set([partials, shares, partialFloats, g.channels, g.outChannels, weightGrad, biasGrad, rt.alloc(gradShares * scratchBytes)]);
  rt.run("winogradWeightGrad", gradArgs, gradShares);
  if (want.weight) result.weight = unstage(rt, weightGrad, weightSize);
  if (want.bias) result.bias = unstage(rt, biasGrad, g.outChannels);
  return result;
}
