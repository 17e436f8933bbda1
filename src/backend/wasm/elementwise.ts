import type { DType, Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import type { BinaryOp, UnaryOp } from "../backend.js";
import { coalesce } from "../js/strided.js";
import { copyOut, stage, unstage, type Staged } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

/** Op codes of kernels/elementwise.ts; ops missing here stay on the JS kernels. */
const BINARY_CODES: Partial<Record<BinaryOp, number>> = {
  add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, eq: 6, ne: 7, lt: 8, le: 9, gt: 10, ge: 11,
  geluBackward: 12, geluTanhBackward: 13, sigmoidBackward: 14, tanhBackward: 15, reluBackward: 16,
};
const UNARY_CODES: Partial<Record<UnaryOp, number>> = {
  neg: 0, abs: 1, relu: 2, sqrt: 3, square: 4, reciprocal: 5, exp: 6, log: 7, tanh: 8, sigmoid: 9,
  erf: 10, expm1: 11, log1p: 12, rsqrt: 13, gelu: 14, geluTanh: 15,
};
const isComparison = (code: number): boolean => code >= 6 && code <= 11;
const MAX_DIMS = 4;
const ARGS = 17;
const MIN_ELEMENTS_PER_THREAD = 128 * 1024;

/**
 * Below these sizes the JS kernel is faster than copying operands into wasm memory and back
 * (measured with bench/elementwise.ts, one thread): plain arithmetic overtakes V8's loop from
 * about 512 elements, a polynomial for exp or erf from about 64.
 */
const MIN_SIZE_CHEAP = 512;
const MIN_SIZE_TRANSCENDENTAL = 64;
const FIRST_TRANSCENDENTAL_UNARY = 6;
const FIRST_FUSED_BINARY = 12;

/** Whether the wasm kernel computes `op` on `size` float32 elements into `outDtype` (comparisons give bool). */
export function wasmBinaryHandles(op: BinaryOp, outDtype: DType, size = Infinity): boolean {
  const code = BINARY_CODES[op];
  if (code === undefined || outDtype !== (isComparison(code) ? "bool" : "float32")) return false;
  return size >= (code >= FIRST_FUSED_BINARY ? MIN_SIZE_TRANSCENDENTAL : MIN_SIZE_CHEAP);
}

export function wasmUnaryHandles(op: UnaryOp, outDtype: DType, size = Infinity): boolean {
  const code = UNARY_CODES[op];
  if (code === undefined || outDtype !== "float32") return false;
  return size >= (code >= FIRST_TRANSCENDENTAL_UNARY ? MIN_SIZE_TRANSCENDENTAL : MIN_SIZE_CHEAP);
}

/** Whether every element of `l` reads the same storage element (a broadcast scalar). */
function isBroadcastScalar(l: Layout): boolean {
  for (let d = 0; d < l.strides.length; d++) if (l.strides[d] !== 0 && l.shape[d] !== 1) return false;
  return true;
}

/**
 * The common cases without coalescing: operands that are contiguous or a broadcast scalar walk
 * as one flat row (strides 1 or 0). Returns null when some operand needs the general path.
 */
function stageFlat(rt: WasmRuntime, inputs: { x: Float32Array; l: Layout }[]): Staged[] | null {
  for (const { l } of inputs) if (!l.isContiguous() && !isBroadcastScalar(l)) return null;
  return inputs.map(({ x, l }) => {
    const n = l.isContiguous() ? l.size : 1;
    const kept = rt.inPlacePointer(x);
    if (kept >= 0) return { ptr: kept + l.offset * 4, strides: [n === 1 && l.size !== 1 ? 0 : 1] };
    const ptr = rt.alloc(n * 4);
    rt.f32(ptr, n).set(n === x.length && l.offset === 0 ? x : x.subarray(l.offset, l.offset + n));
    return { ptr, strides: [n === 1 && l.size !== 1 ? 0 : 1] };
  });
}

/**
 * Runs an elementwise kernel over float32 operands already broadcast to one shape. Returns null
 * when the coalesced iteration space has more dims than the kernel walks (the caller falls back).
 */
function run(rt: WasmRuntime, kernel: "binary" | "unary", code: number, boolOut: boolean, inputs: { x: Float32Array; l: Layout }[]): Storage | null {
  rt.reset();
  const size = inputs[0].l.size;
  let shape: number[];
  let strides: (readonly number[])[];
  let staged = stageFlat(rt, inputs);
  if (staged !== null) {
    shape = [1, 1, 1, size];
    strides = staged.map((s) => [0, 0, 0, s.strides[0]]);
  } else {
    rt.reset();
    staged = inputs.map(({ x, l }) => stage(rt, x, l));
    const walk = coalesce(staged.map((s, i) => new Layout(inputs[i].l.shape, s.strides, 0)));
    if (walk.shape.length > MAX_DIMS) return null;
    const pad = new Array<number>(MAX_DIMS - walk.shape.length).fill(1);
    shape = [...pad, ...walk.shape];
    strides = walk.strides.map((s) => [...pad.map(() => 0), ...s]);
  }
  const out = rt.alloc(size * (boolOut ? 1 : 4));
  const args = rt.alloc(ARGS * 4);
  const b = staged[1] ?? staged[0];
  const view = rt.i32(args, ARGS);
  view[0] = code;
  view[1] = boolOut ? 1 : 0;
  view[2] = staged[0].ptr;
  view[3] = b.ptr;
  view[4] = out;
  view.set(shape, 5);
  view.set(strides[0], 9);
  view.set(strides[1] ?? strides[0], 13);
  rt.run(kernel, args, rt.sharesFor(Math.floor(size / MIN_ELEMENTS_PER_THREAD)));
  return boolOut ? copyOut(rt.u8(out, size)) : unstage(rt, out, size);
}

export function binaryOn(rt: WasmRuntime, op: BinaryOp, a: Float32Array, al: Layout, b: Float32Array, bl: Layout): Storage | null {
  const code = BINARY_CODES[op]!;
  return run(rt, "binary", code, isComparison(code), [{ x: a, l: al }, { x: b, l: bl }]);
}

export function unaryOn(rt: WasmRuntime, op: UnaryOp, x: Float32Array, xl: Layout): Storage | null {
  return run(rt, "unary", UNARY_CODES[op]!, false, [{ x, l: xl }]);
}
