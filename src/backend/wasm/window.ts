import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { WindowGeometry } from "../backend.js";
import { stage, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

// Elements per thread below which waking a thread costs more than it saves.
const MIN_ELEMENTS_PER_THREAD = 64 * 1024;

function geometryFields(g: WindowGeometry): number[] {
  return [g.batch, g.channels, g.inHeight, g.inWidth, g.kernelHeight, g.kernelWidth, g.strideH, g.strideW, g.padH, g.padW, g.dilationH, g.dilationW, g.outHeight, g.outWidth];
}

function sharesFor(rt: WasmRuntime, elements: number, planes: number): number {
  return Math.min(planes, rt.sharesFor(Math.floor(elements / MIN_ELEMENTS_PER_THREAD)));
}

/** im2col on the wasm kernel: [N, C, H, W] (any strides) -> [N, C*kH*kW, outH*outW]. */
export function unfoldOn(rt: WasmRuntime, x: Storage, xl: Layout, g: WindowGeometry): Float32Array {
  rt.reset();
  const size = g.batch * g.channels * g.kernelHeight * g.kernelWidth * g.outHeight * g.outWidth;
  const sx = stage(rt, x, xl);
  const out = rt.alloc(size * 4);
  const args = rt.alloc(22 * 4);
  rt.i32(args, 22).set([sx.ptr, ...sx.strides, out, 0, 0, ...geometryFields(g)]);
  rt.f32(args + 24, 1)[0] = g.padValue;
  rt.run("unfold", args, sharesFor(rt, size, g.batch * g.channels));
  return unstage(rt, out, size);
}

/** col2im on the wasm kernel: [N, C*kH*kW, outH*outW] (any strides) -> [N, C, H, W], windows summed. */
export function foldOn(rt: WasmRuntime, cols: Storage, colsLayout: Layout, g: WindowGeometry): Float32Array {
  rt.reset();
  const size = g.batch * g.channels * g.inHeight * g.inWidth;
  const sc = stage(rt, cols, colsLayout);
  const out = rt.alloc(size * 4);
  const args = rt.alloc(22 * 4);
  rt.i32(args, 22).set([sc.ptr, ...sc.strides, 0, out, 0, 0, ...geometryFields(g)]);
  rt.run("fold", args, sharesFor(rt, colsLayout.size, g.batch * g.channels));
  return unstage(rt, out, size);
}
