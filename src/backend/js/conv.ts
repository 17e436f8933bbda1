import type { Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import type { ConvGeometry, ConvGrads, ConvGradsWanted } from "../backend.js";
import { copy } from "./elementwise.js";
import { matmul } from "./matmul.js";
import { fold, unfoldInto } from "./window.js";

/**
 * Convolution as GEMMs over the whole batch: with columns = im2col(x) rearranged as
 * [K, N*L] (K = C*kH*kW, L = outH*outW), each group's output is weight [O/g, K/g] @ its
 * columns, and the backward pass is two more GEMMs plus col2im. The wasm backend runs the same
 * plan in wasm memory; this is its reference.
 */

/** Swaps the first two dims of a contiguous [A, B, L] array (rows of L values move whole): [B, A, L]. */
function swapLeadingDims(x: Float32Array, a: number, b: number, length: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) out.set(x.subarray((i * b + j) * length, (i * b + j + 1) * length), (j * a + i) * length);
  }
  return out;
}

/** The input's im2col columns as [K, N*L]. */
function columnsOf(x: Storage, xl: Layout, g: ConvGeometry): Float32Array {
  const length = g.outHeight * g.outWidth;
  return unfoldInto(x, xl, g, length, g.batch * length);
}

function contiguous(x: Storage, xl: Layout): Float32Array {
  return (xl.isContiguous() && xl.offset === 0 && x.length === xl.size ? x : copy(x, xl, "float32")) as Float32Array;
}

function sizes(g: ConvGeometry) {
  const length = g.outHeight * g.outWidth;
  const kernel = g.kernelHeight * g.kernelWidth;
  const groupRows = (g.channels / g.groups) * kernel; // K per group
  const groupOut = g.outChannels / g.groups;
  return { length, columns: g.batch * length, groupRows, groupOut };
}

export function conv2d(x: Storage, xl: Layout, weight: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, g: ConvGeometry): Float32Array {
  const { length, columns, groupRows, groupOut } = sizes(g);
  const cols = columnsOf(x, xl, g);
  const w = contiguous(weight, wl);
  // [groups, O/g, K/g] @ [groups, K/g, N*L] -> [O, N*L]
  const out = matmul(w, new Layout([g.groups, groupOut, groupRows]), cols, new Layout([g.groups, groupRows, columns])) as Float32Array;
  if (bias !== null && bl !== null) {
    const b = contiguous(bias, bl);
    for (let o = 0; o < g.outChannels; o++) {
      const row = out.subarray(o * columns, (o + 1) * columns);
      for (let j = 0; j < columns; j++) row[j] += b[o];
    }
  }
  return swapLeadingDims(out, g.outChannels, g.batch, length); // [O, N, L] -> [N, O, L]
}

export function conv2dBackward(grad: Storage, gl: Layout, x: Storage, xl: Layout, weight: Storage, wl: Layout, g: ConvGeometry, want: ConvGradsWanted): ConvGrads {
  const { length, columns, groupRows, groupOut } = sizes(g);
  // d(output) [N, O, L] as [O, N*L]
  const gradRows = swapLeadingDims(contiguous(grad, gl), g.batch, g.outChannels, length);
  const result: ConvGrads = { input: null, weight: null, bias: null };
  if (want.bias) {
    const bias = new Float32Array(g.outChannels);
    for (let o = 0; o < g.outChannels; o++) {
      let sum = 0;
      for (let j = o * columns; j < (o + 1) * columns; j++) sum += gradRows[j];
      bias[o] = sum;
    }
    result.bias = bias;
  }
  if (want.weight) {
    const cols = columnsOf(x, xl, g);
    // [groups, O/g, N*L] @ [groups, N*L, K/g] (the columns transposed) -> [O, K/g]
    result.weight = matmul(gradRows, new Layout([g.groups, groupOut, columns]), cols, new Layout([g.groups, columns, groupRows], [groupRows * columns, 1, columns]));
  }
  if (want.input) {
    const w = contiguous(weight, wl);
    // [groups, K/g, O/g] (the weight transposed) @ [groups, O/g, N*L] -> [K, N*L], then col2im.
    const dcols = matmul(w, new Layout([g.groups, groupRows, groupOut], [groupOut * groupRows, 1, groupRows]), gradRows, new Layout([g.groups, groupOut, columns]));
    const rows = g.groups * groupRows;
    result.input = fold(swapLeadingDims(dcols as Float32Array, rows, g.batch, length), Layout.contiguous([g.batch, rows, length]), g);
  }
  return result;
}
