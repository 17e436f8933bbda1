import { Layout } from "../../core/layout.js";
import type { ReduceOp } from "../backend.js";
import { coalesce } from "../js/strided.js";
import { copyOut, stage, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

/** Op codes of kernels/reduce.ts; prod stays on the JS kernel. */
const CODES: Partial<Record<ReduceOp, number>> = { sum: 0, max: 1, min: 2, argmax: 3, argmin: 4 };
const MAX_DIMS = 4;
const MIN_ELEMENTS_PER_THREAD = 128 * 1024;

export function wasmReduceHandles(op: ReduceOp): boolean {
  return CODES[op] !== undefined;
}

/** One group of dims (kept or reduced) coalesced and padded to 4, or null when it needs more. */
function group(shape: number[], strides: number[]): { shape: number[]; strides: number[] } | null {
  if (shape.length === 0) return { shape: [1, 1, 1, 1], strides: [0, 0, 0, 0] };
  const walk = coalesce([new Layout(shape, strides, 0)]);
  if (walk.shape.length > MAX_DIMS) return null;
  const pad = MAX_DIMS - walk.shape.length;
  return { shape: [...new Array<number>(pad).fill(1), ...walk.shape], strides: [...new Array<number>(pad).fill(0), ...walk.strides[0]] };
}

/** sum/max/min/argmax/argmin of float32 `x` over `dims` (sorted, unique) on the wasm kernel; null when unsupported. */
export function reduceOn(rt: WasmRuntime, op: ReduceOp, x: Float32Array, xl: Layout, dims: readonly number[]): Float32Array | Int32Array | null {
  rt.reset();
  const sx = stage(rt, x, xl);
  const kept = xl.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const outer = group(kept.map((d) => xl.shape[d]), kept.map((d) => sx.strides[d]));
  const inner = group(dims.map((d) => xl.shape[d]), dims.map((d) => sx.strides[d]));
  if (outer === null || inner === null) return null;
  const outSize = kept.reduce((n, d) => n * xl.shape[d], 1);
  const out = rt.alloc(outSize * 4);
  const args = rt.alloc(19 * 4);
  rt.i32(args, 19).set([CODES[op]!, sx.ptr, out, ...outer.shape, ...outer.strides, ...inner.shape, ...inner.strides]);
  rt.run("reduce", args, Math.min(Math.max(1, outSize >> 4), rt.sharesFor(Math.floor(xl.size / MIN_ELEMENTS_PER_THREAD))));
  return op === "argmax" || op === "argmin" ? copyOut(rt.i32(out, outSize)) : unstage(rt, out, outSize);
}

/**
 * Sums `rows` rows of `length` partial sums (per share or per sample, one after another), in row
 * order, into a fresh arena block on kernels/reduce.ts's sumPartials, split into `shares`.
 */
export function sumPartialsOn(rt: WasmRuntime, partials: number, rows: number, length: number, shares = 1): number {
  const out = rt.alloc(length * 4);
  const args = rt.alloc(4 * 4);
  rt.i32(args, 4).set([partials, rows, length, out]);
  rt.run("sumPartials", args, shares);
  return out;
}
