import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { ConvGeometry, ConvGrads, ConvGradsWanted } from "../backend.js";
import { stage, stageDense, unstage, type Staged } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

/**
 * 5x5 stride-1 convolutions by Winograd F(2x2, 5x5) (kernels/winograd.ts): per 2x2 output tile
 * and input channel, 36 multiplies in the transform domain instead of the direct GEMM's 100,
 * forward and for both gradients. conv.ts sends a convolution here when `winogradApplies`.
 */

/** Positions of the 6x6 transform domain. */
const XI = 36;
/**
 * A share's transform-domain buffers (bytes): a task takes as many whole samples as fit, or one
 * sample in chunks of as many tiles as fit (large images), so that they stay in the core's L2
 * between the transforms and the GEMMs. Forward: measured flat from 128 KiB to 1 MiB on LeNet's
 * conv2. Backward: dM twice (in both GEMMs' panel layouts) and V per tile, and the weight
 * gradient GEMM's K is the chunk's tiles: below ~16 the partial's read-modify-write per chunk
 * dominates (LeNet's conv2: chunks of 32 tiles, two samples).
 */
const FORWARD_TASK_BYTES = 256 * 1024;
const BACKWARD_TASK_BYTES = 640 * 1024;
const MIN_CHUNK_TILES = 16;
/**
 * Backward shares: a number fixed by the problem, not by the threads that happen to be up, so
 * that the weight and bias gradients' partial sums (one per share) and the input gradient's
 * tasks are the same on any number of threads: results are bit-for-bit reproducible (a resumed
 * training run continues exactly). 8 keeps the partials' cost small and 2 to 8 threads busy.
 */
const BACKWARD_SHARES = 8;
/**
 * Fewest input channels for the Winograd path: its transforms cost per tile and output channel
 * what the GEMM saves per input channel. Measured on 12x12 inputs, 50 output channels, batch 64
 * (Winograd / im2col time): 4 channels 1.2-1.3 forward, 0.8 backward; 8 channels 0.75-0.84
 * forward on one thread and 0.82-1.10 (about even) on two, 0.69-0.83 backward; 10 and more
 * 0.73-0.86 forward, 0.64-0.72 backward.
 */
const MIN_CHANNELS = 8;
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
 * dilation 1, one group, zero padding (any amount), at least MIN_CHANNELS input channels, an
 * output of at least 4x4 (smaller ones leave most of a tile's outputs unused: LeNet-5's c5, 16
 * -> 120 channels to 1x1, is 2.7x slower forward, 8x backward), and backward chunks of at least
 * MIN_CHUNK_TILES tiles (very many output channels would need larger buffers). Measured faster
 * on LeNet's conv2 (20 -> 50 channels, 12x12 input); conv1 (one input channel) stays on im2col.
 */
export function winogradApplies(g: ConvGeometry): boolean {
  return (
    ENABLED &&
    g.kernelHeight === 5 && g.kernelWidth === 5 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1 &&
    g.groups === 1 && g.padValue === 0 && g.channels >= MIN_CHANNELS && g.outHeight >= 4 && g.outWidth >= 4 &&
    backwardBuffers(g, MIN_CHUNK_TILES, { input: true, weight: true, bias: true }).total <= BACKWARD_TASK_BYTES
  );
}

function tilesPerSample(g: ConvGeometry): number {
  return Math.ceil(g.outHeight / 2) * Math.ceil(g.outWidth / 2);
}

/**
 * A share's buffer: where its regions start (bytes; 0 for one not needed), the bytes between
 * positions xi within each, and its size.
 */
interface Buffers {
  vAt: number;
  tilesAt: number;
  dmAt: number;
  dmtAt: number;
  quadsAt: number;
  vStride: number;
  tileStride: number;
  dmStride: number;
  dmtStride: number;
  total: number;
}

// The transform scratch's size is the kernels' (winogradScratchBytes); this bound only sizes tasks.
const SCRATCH_BOUND = 4096;

/**
 * Bytes between positions xi: whole cache lines, an odd number of them, so that the 36 lines a
 * transform writes or a GEMM reads spread over the cache's sets (LeNet's natural strides, such as
 * 112 lines, put them in 4 sets of L1: the backward pass measured ~10% slower).
 */
function positionStride(bytes: number): number {
  const lines = Math.ceil(bytes / 64);
  return (lines % 2 === 0 ? lines + 1 : lines) * 64;
}

/** Lays out 36-position regions of the given position strides (0: none) and the quad table after the transform scratch. */
function layOut(scratchBytes: number, strides: { v: number; tiles: number; dm: number; dmt: number }, quadBytes: number): Buffers {
  let top = roundUp(scratchBytes, 64);
  const place = (bytes: number) => {
    if (bytes === 0) return 0;
    const at = top;
    top += roundUp(bytes, 64);
    return at;
  };
  const vAt = place(XI * strides.v), tilesAt = place(XI * strides.tiles), dmAt = place(XI * strides.dm), dmtAt = place(XI * strides.dmt);
  const quadsAt = place(quadBytes);
  return { vAt, tilesAt, dmAt, dmtAt, quadsAt, vStride: strides.v, tileStride: strides.tiles, dmStride: strides.dm, dmtStride: strides.dmt, total: top };
}

/** A share's buffer for forward chunks of `tiles` tiles, a multiple of 8 (kernels/winograd.ts's winogradForward layout). */
function forwardBuffers(g: ConvGeometry, tiles: number, scratchBytes = SCRATCH_BOUND): Buffers {
  const panels = tiles / 8;
  return layOut(scratchBytes, { v: positionStride(panels * g.channels * 32), tiles: positionStride(panels * 128), dm: 0, dmt: 0 }, tiles * 4);
}

/** A share's buffer for backward chunks of `tiles` tiles, a multiple of 8 (winogradBackward's layout). */
function backwardBuffers(g: ConvGeometry, tiles: number, want: ConvGradsWanted, scratchBytes = SCRATCH_BOUND): Buffers {
  const panels = tiles / 8, paddedOut = roundUp(g.outChannels, 8);
  return layOut(scratchBytes, {
    v: want.weight ? positionStride(roundUp(g.channels, 4) * tiles * 4) : 0,
    tiles: want.input ? positionStride(panels * 128) : 0,
    dm: want.input ? positionStride(panels * paddedOut * 32) : 0,
    dmt: want.weight ? positionStride(paddedOut * tiles * 4) : 0,
  }, tiles * 4);
}

/** The most threads worth waking for the convolution's GEMM work. */
function threadsFor(g: ConvGeometry): number {
  return Math.floor((XI * g.batch * tilesPerSample(g) * g.channels * g.outChannels) / MIN_MACS_PER_THREAD);
}

/**
 * The shares split the batch: samples per task (as many as fit `budget` while each of up to
 * `maxShares` shares still gets a task), tiles per chunk (the task's, or as many as fit when one
 * sample does not), and the shares. `bytes` sizes a share's buffer for chunks of a given number
 * of tiles.
 */
function tasks(g: ConvGeometry, bytes: (tiles: number) => number, budget: number, maxShares: number) {
  const perSample = tilesPerSample(g);
  let samples = 1;
  while (samples < Math.ceil(g.batch / maxShares) && bytes(roundUp((samples + 1) * perSample, 8)) <= budget) samples++;
  let chunkTiles = roundUp(samples * perSample, 8);
  while (chunkTiles > 8 && bytes(chunkTiles) > budget) chunkTiles -= 8;
  return { samples, chunkTiles, shares: Math.min(Math.ceil(g.batch / samples), maxShares) };
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
    samples: number; chunkTiles: number; buffers: number; layout: Buffers;
  },
): number {
  const { layout: b } = fields;
  const values = [
    x.ptr, ...x.strides, y.ptr, ...y.strides,
    g.batch, g.channels, g.inHeight, g.inWidth, g.padH, g.padW, g.outHeight, g.outWidth, g.outChannels,
    fields.weights, fields.bias, fields.inputGrad, fields.partials, fields.partialFloats, fields.wantWeight ? 1 : 0,
    fields.samples, fields.buffers, b.total, b.vAt, b.tilesAt, b.dmAt, b.dmtAt, b.quadsAt, fields.chunkTiles,
    b.vStride, b.tileStride, b.dmStride, b.dmtStride,
  ];
  const args = rt.alloc(values.length * 4);
  rt.i32(args, values.length).set(values);
  return args;
}

export function winogradConv2dOn(rt: WasmRuntime, x: Storage, xl: Layout, w: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, g: ConvGeometry): Float32Array {
  rt.reset();
  const sx = stage(rt, x, xl);
  const weights = transformWeights(rt, stage(rt, w, wl), g, false);
  const biasPtr = bias !== null && bl !== null ? stageDense(rt, bias, bl) : 0;
  const length = g.outHeight * g.outWidth;
  const size = g.batch * g.outChannels * length;
  const out = { ptr: rt.alloc(size * 4), strides: [g.outChannels * length, length, g.outWidth, 1] };
  const scratchBytes = rt.exported("winogradScratchBytes")();
  const { samples, chunkTiles, shares } = tasks(g, (tiles) => forwardBuffers(g, tiles).total, FORWARD_TASK_BYTES, rt.sharesFor(threadsFor(g)));
  const layout = forwardBuffers(g, chunkTiles, scratchBytes);
  const buffers = rt.alloc(shares * layout.total);
  const args = problemArgs(rt, g, sx, out, { weights, bias: biasPtr, inputGrad: 0, partials: 0, partialFloats: 0, wantWeight: false, samples, chunkTiles, buffers, layout });
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
  const shareLimit = Math.max(1, Math.min(BACKWARD_SHARES, threadsFor(g)));
  const { samples, chunkTiles, shares } = tasks(g, (tiles) => backwardBuffers(g, tiles, want).total, BACKWARD_TASK_BYTES, shareLimit);
  const layout = backwardBuffers(g, chunkTiles, want, scratchBytes);
  const buffers = rt.alloc(shares * layout.total);
  // Per share: dU^T [36, C (to 4), O (to 8)], then the bias sums [O (to 8)].
  const paddedOut = roundUp(g.outChannels, 8);
  const partialFloats = want.weight || want.bias ? XI * roundUp(g.channels, 4) * paddedOut + paddedOut : 0;
  const partials = partialFloats > 0 ? rt.alloc(shares * partialFloats * 4) : 0;
  const args = problemArgs(rt, g, sx, sg, { weights, bias: 0, inputGrad, partials, partialFloats, wantWeight: want.weight, samples, chunkTiles, buffers, layout });
  // The fixed shares run on as many threads as are worth waking and up.
  rt.run("winogradBackward", args, shares, Math.ceil(shares / rt.sharesFor(threadsFor(g), 1)));
  const result: ConvGrads = { input: want.input ? unstage(rt, inputGrad, inputSize) : null, weight: null, bias: null };
  if (partials === 0) return result;
  const weightSize = g.outChannels * g.channels * 25;
  const weightGrad = want.weight ? rt.alloc(weightSize * 4) : 0;
  const biasGrad = want.bias ? rt.alloc(g.outChannels * 4) : 0;
  const gradShares = want.weight ? Math.min(g.channels, rt.sharesFor(Math.floor((g.outChannels * g.channels) / MIN_KERNELS_PER_THREAD))) : 1;
  const gradScratch = rt.alloc(gradShares * scratchBytes);
  const gradArgs = rt.alloc(8 * 4);
  rt.i32(gradArgs, 8).set([partials, shares, partialFloats, g.channels, g.outChannels, weightGrad, biasGrad, gradScratch]);
  rt.run("winogradWeightGrad", gradArgs, gradShares);
  if (want.weight) result.weight = unstage(rt, weightGrad, weightSize);
  if (want.bias) result.bias = unstage(rt, biasGrad, g.outChannels);
  return result;
}
