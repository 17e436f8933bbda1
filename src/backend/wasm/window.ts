import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { WindowGeometry } from "../backend.js";
import { stage, unstage, type Staged } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

// Elements per thread below which waking a thread costs more than it saves.
const MIN_ELEMENTS_PER_THREAD = 64 * 1024;

/** The 14 geometry fields every window kernel's args block carries (kernels/window.ts's Geometry). */
export function geometryFields(g: WindowGeometry): number[] {
  return [g.batch, g.channels, g.inHeight, g.inWidth, g.kernelHeight, g.kernelWidth, g.strideH, g.strideW, g.padH, g.padW, g.dilationH, g.dilationW, g.outHeight, g.outWidth];
}

function sharesFor(rt: WasmRuntime, elements: number, planes: number): number {
  return Math.min(planes, rt.sharesFor(Math.floor(elements / MIN_ELEMENTS_PER_THREAD)));
}

/**
 * im2col of a staged [N, C, H, W] input into wasm memory at `out`: row r of sample n's columns
 * (L = outH*outW contiguous values) starts at element n * sampleStride + r * rowStride, so the
 * same kernel writes [N, K, L] (sampleStride K*L, rowStride L) or [K, N*L] (L, N*L).
 */
export function unfoldInto(rt: WasmRuntime, x: Staged, g: WindowGeometry, out: number, sampleStride: number, rowStride: number): void {
  const size = g.batch * g.channels * g.kernelHeight * g.kernelWidth * g.outHeight * g.outWidth;
  const args = rt.alloc(24 * 4);
  rt.i32(args, 24).set([x.ptr, ...x.strides, out, 0, 0, ...geometryFields(g), sampleStride, rowStride]);
  rt.f32(args + 24, 1)[0] = g.padValue;
  rt.run("unfold", args, sharesFor(rt, size, g.batch * g.channels));
}

/** col2im of staged columns ([N, C*kH*kW, L] through any strides) into a contiguous [N, C, H, W] at `out`. */
export function foldInto(rt: WasmRuntime, cols: Staged, g: WindowGeometry, out: number): void {
  const size = g.batch * g.channels * g.kernelHeight * g.kernelWidth * g.outHeight * g.outWidth;
  const args = rt.alloc(22 * 4);
  rt.i32(args, 22).set([cols.ptr, ...cols.strides, 0, out, 0, 0, ...geometryFields(g)]);
  rt.run("fold", args, sharesFor(rt, size, g.batch * g.channels));
}

/** im2col on the wasm kernel: [N, C, H, W] (any strides) -> [N, C*kH*kW, outH*outW]. */
export function unfoldOn(rt: WasmRuntime, x: Storage, xl: Layout, g: WindowGeometry): Float32Array {
  rt.reset();
  const rows = g.channels * g.kernelHeight * g.kernelWidth;
  const length = g.outHeight * g.outWidth;
  const size = g.batch * rows * length;
  const sx = stage(rt, x, xl);
  const out = rt.alloc(size * 4);
  unfoldInto(rt, sx, g, out, rows * length, length);
  return unstage(rt, out, size);
}

/** col2im on the wasm kernel: [N, C*kH*kW, outH*outW] (any strides) -> [N, C, H, W], windows summed. */
export function foldOn(rt: WasmRuntime, cols: Storage, colsLayout: Layout, g: WindowGeometry): Float32Array {
  rt.reset();
  const size = g.batch * g.channels * g.inHeight * g.inWidth;
  const sc = stage(rt, cols, colsLayout);
  const out = rt.alloc(size * 4);
  foldInto(rt, sc, g, out);
  return unstage(rt, out, size);
}
