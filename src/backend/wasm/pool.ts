import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { AvgPoolDivisor, WindowGeometry } from "../backend.js";
import { copyOut, stage, stageArray, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";
import { geometryFields } from "./window.js";

// Elements (read or written) per thread below which waking a thread costs more than it saves.
const MIN_ELEMENTS_PER_THREAD = 64 * 1024;
// The args block of kernels/pool.ts: 8 operand fields, 14 geometry fields, the divisor override
// (field 22, f32), max pooling backward's pooled values for a folded ReLU (0: none) and max pooling's ReLU-first flag.
const ARGS = 25;
const DIVISOR_FIELD = 22;

function sharesFor(rt: WasmRuntime, elements: number, g: WindowGeometry): number {
  return Math.min(g.batch * g.channels, rt.sharesFor(Math.floor(elements / MIN_ELEMENTS_PER_THREAD)));
}

/** What a pooling kernel takes beyond its operands and geometry. */
interface PoolExtras {
  /** Average pooling's divisor rule. */
  divisor?: AvgPoolDivisor;
  /** maxPoolBackward: the address of the forward's pooled values, when a ReLU's backward is folded in. */
  reluPooled?: number;
  /** maxPool: pool relu(x). */
  reluFirst?: boolean;
}

/** Writes the args block: operand pointers and strides, the geometry, and the extras. */
function writeArgs(rt: WasmRuntime, input: { ptr: number; strides: readonly number[] }, out: number, indices: number, g: WindowGeometry, extras: PoolExtras = {}): number {
  const { divisor, reluPooled = 0, reluFirst = false } = extras;
  const args = rt.alloc(ARGS * 4);
  rt.i32(args, ARGS).set([input.ptr, ...input.strides, out, indices, divisor?.countIncludePad ? 1 : 0, ...geometryFields(g), 0, reluPooled, reluFirst ? 1 : 0]);
  // 0 means "no override" (the op rejects a zero divisorOverride).
  rt.f32(args + DIVISOR_FIELD * 4, 1)[0] = divisor?.divisorOverride ?? 0;
  return args;
}

/** Max pooling on the wasm kernel: [N, C, H, W] (any strides) -> values and plane indices (of relu(x) with `reluFirst`). */
export function maxPoolOn(rt: WasmRuntime, x: Storage, xl: Layout, g: WindowGeometry, reluFirst = false): { values: Float32Array; indices: Int32Array } {
  rt.reset();
  const size = g.batch * g.channels * g.outHeight * g.outWidth;
  const sx = stage(rt, x, xl);
  const values = rt.alloc(size * 4);
  const indices = rt.alloc(size * 4);
  const args = writeArgs(rt, sx, values, indices, g, { reluFirst });
  rt.run("maxPool", args, sharesFor(rt, xl.size, g));
  return { values: unstage(rt, values, size), indices: copyOut(rt.i32(indices, size)) };
}

/**
 * Max pooling's gradient on the wasm kernel: [N, C, outH, outW] gradient (any strides) -> [N, C, H, W],
 * with a ReLU's backward folded in when `reluPooled` (the forward's dense pooled values) is given.
 */
export function maxPoolBackwardOn(rt: WasmRuntime, grad: Storage, gradLayout: Layout, indices: Int32Array, g: WindowGeometry, reluPooled: Float32Array | null = null): Float32Array {
  rt.reset();
  const size = g.batch * g.channels * g.inHeight * g.inWidth;
  const sg = stage(rt, grad, gradLayout);
  const staged = stageArray(rt, indices);
  const out = rt.alloc(size * 4);
  const args = writeArgs(rt, sg, out, staged, g, { reluPooled: stageArray(rt, reluPooled) });
  rt.run("maxPoolBackward", args, sharesFor(rt, size, g));
  return unstage(rt, out, size);
}

/** Average pooling on the wasm kernel: [N, C, H, W] (any strides) -> [N, C, outH, outW]. */
export function avgPoolOn(rt: WasmRuntime, x: Storage, xl: Layout, g: WindowGeometry, divisor: AvgPoolDivisor): Float32Array {
  rt.reset();
  const size = g.batch * g.channels * g.outHeight * g.outWidth;
  const sx = stage(rt, x, xl);
  const out = rt.alloc(size * 4);
  const args = writeArgs(rt, sx, out, 0, g, { divisor });
  rt.run("avgPool", args, sharesFor(rt, xl.size, g));
  return unstage(rt, out, size);
}

/** Average pooling's gradient on the wasm kernel: [N, C, outH, outW] gradient (any strides) -> [N, C, H, W]. */
export function avgPoolBackwardOn(rt: WasmRuntime, grad: Storage, gradLayout: Layout, g: WindowGeometry, divisor: AvgPoolDivisor): Float32Array {
  rt.reset();
  const size = g.batch * g.channels * g.inHeight * g.inWidth;
  const sg = stage(rt, grad, gradLayout);
  const out = rt.alloc(size * 4);
  const args = writeArgs(rt, sg, out, 0, g, { divisor });
  rt.run("avgPoolBackward", args, sharesFor(rt, size, g));
  return unstage(rt, out, size);
}
