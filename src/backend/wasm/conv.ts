import type { Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import type { ConvGeometry, ConvGrads, ConvGradsWanted } from "../backend.js";
import { jsBackend } from "../js/index.js";
import { stage, stageDense, unstage } from "./operands.js";
import { directApplies, directConv2dOn } from "./conv-direct.js";
import { sumPartialsOn } from "./reduce.js";
import type { WasmRuntime } from "./runtime.js";
import { geometryFields } from "./window.js";
import { winogradApplies, winogradConv2dBackwardOn, winogradConv2dOn } from "./winograd.js";

/**
 * Convolution in one trip to wasm memory each way. Forward: the kernel convForward takes a few
 * samples at a time and writes their im2col columns [K, S*L] (K = C*kH*kW, L = outH*outW)
 * straight into the GEMM's packed panels in cache, then multiplies each group's weight [O/g, K/g]
 * by them with the bias as the GEMM's epilogue, writing [N, O, L] directly through blocked output
 * columns. Backward: the gradient becomes rows [O, N*L] (their sums are the bias gradient); then
 * convBackward goes a few samples at a time as well: it packs their transposed columns and adds
 * their share of the weight gradient (rows @ columns^T) into a per-thread partial, and computes
 * their input gradient (weight^T @ rows) a register tile at a time, each tile added straight into
 * the input gradient (col2im). No intermediate leaves wasm memory, and none is batch-sized.
 * 5x5 stride-1 convolutions with enough input channels go to winograd.ts instead.
 */

// Output channels per thread task in convGradRows below which one thread does them all.
const MIN_GRAD_ELEMENTS_PER_THREAD = 64 * 1024;
// As in matmul.ts: smaller GEMMs are not split across threads.
const MIN_MACS_PER_THREAD = 64 * 1024;
/**
 * im2col columns per task (floats): 512 KiB, so a task's packed columns stay in its core's L2
 * between packing and the GEMM.
 */
const CHUNK_COLUMN_FLOATS = 128 * 1024;

function sizes(g: ConvGeometry) {
  const length = g.outHeight * g.outWidth;
  const groupRows = (g.channels / g.groups) * g.kernelHeight * g.kernelWidth; // K per group
  return { length, columns: g.batch * length, groupRows, rows: g.groups * groupRows, groupOut: g.outChannels / g.groups };
}

const roundUp = (value: number, multiple: number) => Math.ceil(value / multiple) * multiple;

/**
 * Bytes of one share's buffer (kernels/conv.ts's layout): 8 row entries and a GEMM tile (256
 * bytes), the column table (12 bytes per column, 64-byte aligned), then the packed panels: the
 * forward pass's columns [K/g, chunk*L]; the backward pass's transposed columns or gradient rows
 * [O/g, chunk*L], whichever is larger, followed (for the input gradient) by every group's
 * weight^T [K/g, O/g] (one block of whole 4-row tiles per kernel offset).
 */
function shareBufferBytes(g: ConvGeometry, chunkColumns: number, backward: boolean, inputGradient: boolean): number {
  const { groupRows, groupOut } = sizes(g);
  const panelColumns = roundUp(chunkColumns, 8);
  const table = 256 + roundUp(12 * chunkColumns, 64);
  if (!backward) return roundUp(table + groupRows * panelColumns * 4, 64);
  const panels = Math.max(roundUp(groupRows, 8) * chunkColumns * 4, groupOut * panelColumns * 4);
  const packedWeight = inputGradient ? g.groups * g.kernelHeight * g.kernelWidth * roundUp(g.channels / g.groups, 4) * groupOut * 4 : 0;
  return roundUp(table + roundUp(panels, 64) + packedWeight, 64);
}

/**
 * Tasks of a few samples each (convForward, convBackward): samples per task, shares, and each
 * share's buffer and GEMM scratch.
 */
function sampleTasks(rt: WasmRuntime, g: ConvGeometry, backward: boolean, inputGradient: boolean) {
  const { length, columns, rows } = sizes(g);
  const macs = g.outChannels * columns * (rows / g.groups);
  const chunk = Math.max(1, Math.floor(CHUNK_COLUMN_FLOATS / (rows * length)));
  const shares = Math.min(Math.ceil(g.batch / chunk), rt.sharesFor(Math.floor(macs / MIN_MACS_PER_THREAD)));
  const bufferBytes = shareBufferBytes(g, chunk * length, backward, inputGradient);
  const buffers = rt.alloc(shares * bufferBytes);
  const scratch = rt.alloc(shares * rt.exported("gemmScratchBytes")());
  return { chunk, shares, buffers, bufferBytes, scratch };
}

/** Convolution on the wasm kernels: Winograd where `winogradApplies` (winograd.ts), direct for short windows (conv-direct.ts), else im2col. */
export function conv2dOn(rt: WasmRuntime, x: Storage, xl: Layout, w: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, g: ConvGeometry): Float32Array {
  if (winogradApplies(g)) return winogradConv2dOn(rt, x, xl, w, wl, bias, bl, g);
  if (directApplies(g)) {
    const out = directConv2dOn(rt, x, xl, w, wl, bias, bl, g);
    if (out !== null) return out;
  }
  return im2colConv2dOn(rt, x, xl, w, wl, bias, bl, g);
}

/** conv2dOn's gradients, on the same path as its forward pass. */
export function conv2dBackwardOn(rt: WasmRuntime, grad: Storage, gl: Layout, x: Storage, xl: Layout, w: Storage, wl: Layout, g: ConvGeometry, want: ConvGradsWanted): ConvGrads {
  return winogradApplies(g) ? winogradConv2dBackwardOn(rt, grad, gl, x, xl, w, wl, g, want) : im2colConv2dBackwardOn(rt, grad, gl, x, xl, w, wl, g, want);
}

/** The im2col convolution (convForward), for any geometry. */
export function im2colConv2dOn(rt: WasmRuntime, x: Storage, xl: Layout, w: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, g: ConvGeometry): Float32Array {
  const { columns } = sizes(g);
  rt.reset();
  const sx = stage(rt, x, xl);
  // The weight [O, C/g, kH, kW] as a dense [O, K/g] matrix.
  const weight = stageDense(rt, w, wl);
  const out = rt.alloc(g.outChannels * columns * 4);
  // The kernel reads whole 4-row tiles of the bias.
  const biasPtr = bias !== null && bl !== null ? stageDense(rt, bias, bl, 8) : 0;
  const { chunk, shares, buffers, bufferBytes, scratch } = sampleTasks(rt, g, false, false);
  const args = rt.alloc(33 * 4);
  rt.i32(args, 33).set([
    sx.ptr, ...sx.strides, 0, 0, 0,
    ...geometryFields(g),
    0, 0, weight, out, biasPtr, g.groups, g.outChannels, chunk, buffers, bufferBytes, scratch,
  ]);
  rt.run("convForward", args, shares);
  return unstage(rt, out, g.outChannels * columns);
}

/** The im2col convolution's gradients (convGradRows, convBackward), for any geometry. */
export function im2colConv2dBackwardOn(rt: WasmRuntime, grad: Storage, gl: Layout, x: Storage, xl: Layout, w: Storage, wl: Layout, g: ConvGeometry, want: ConvGradsWanted): ConvGrads {
  const { length, columns, groupRows } = sizes(g);
  rt.reset();
  // d(output) [N, O, outH, outW] as gradRows [O, N*L] (and its row sums, the bias gradient).
  const sg = stage(rt, grad, gl);
  if (g.outHeight > 1 && sg.strides[2] !== sg.strides[3] * g.outWidth) {
    return im2colConv2dBackwardOn(rt, jsBackend.copy(grad, gl, "float32"), Layout.contiguous(gl.shape), x, xl, w, wl, g, want);
  }
  const gradRows = rt.alloc(g.outChannels * columns * 4);
  const biasGrad = want.bias ? rt.alloc(g.outChannels * 4) : 0;
  const rowArgs = rt.alloc(9 * 4);
  rt.i32(rowArgs, 9).set([sg.ptr, sg.strides[0], sg.strides[1], sg.strides[3], gradRows, biasGrad, g.batch, g.outChannels, length]);
  rt.run("convGradRows", rowArgs, Math.min(g.outChannels, rt.sharesFor(Math.floor((g.outChannels * columns) / MIN_GRAD_ELEMENTS_PER_THREAD))));
  const result: ConvGrads = { input: null, weight: null, bias: want.bias ? unstage(rt, biasGrad, g.outChannels) : null };
  if (!want.weight && !want.input) return result;

  const sx = want.weight ? stage(rt, x, xl) : { ptr: 0, strides: [0, 0, 0, 0] };
  const weight = want.input ? stageDense(rt, w, wl) : 0;
  const inputSize = g.batch * g.channels * g.inHeight * g.inWidth;
  const inputGrad = want.input ? rt.alloc(inputSize * 4) : 0;
  const { chunk, shares, buffers, bufferBytes, scratch } = sampleTasks(rt, g, true, want.input);
  let foldArgs = 0;
  if (want.input) {
    foldArgs = rt.alloc(22 * 4);
    rt.i32(foldArgs, 22).set([0, 0, 0, 0, 0, inputGrad, 0, 0, ...geometryFields(g)]);
  }
  const weightSize = g.outChannels * groupRows;
  const partials = want.weight ? rt.alloc(shares * weightSize * 4) : 0;
  const products = want.weight ? rt.alloc(shares * weightSize * 4) : 0;
  const args = rt.alloc(35 * 4);
  rt.i32(args, 35).set([
    sx.ptr, ...sx.strides, 0, 0, 0,
    ...geometryFields(g),
    0, 0, foldArgs, weight, gradRows, g.groups, g.outChannels, chunk, buffers, bufferBytes, scratch, partials, products,
  ]);
  rt.run("convBackward", args, shares);
  if (want.weight) {
    const weightGrad = sumPartialsOn(rt, partials, shares, weightSize, rt.sharesFor(Math.floor((shares * weightSize) / MIN_GRAD_ELEMENTS_PER_THREAD)));
    result.weight = unstage(rt, weightGrad, weightSize);
  }
  if (want.input) result.input = unstage(rt, inputGrad, inputSize);
  return result;
}
