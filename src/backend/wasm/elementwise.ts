import type { DType, Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import type { BinaryOp, UnaryOp } from "../backend.js";
import { coalesce } from "../js/strided.js";
import { stage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

/** Op codes of kernels/elementwise.ts; ops missing here stay on the JS kernels. */
const BINARY_CODES: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, eq: 6, ne: 7, lt: 8, le: 9, gt: 10, ge: 11 };
const UNARY_CODES: Partial<Record<UnaryOp, number>> = { neg: 0, abs: 1, relu: 2, sqrt: 3, square: 4, reciprocal: 5 };
const FIRST_COMPARISON = 6;
const MAX_DIMS = 4;
const MIN_ELEMENTS_PER_THREAD = 128 * 1024;

/** Whether the wasm kernel computes `op` on float32 inputs into `outDtype` (comparisons give bool). */
export function wasmBinaryHandles(op: BinaryOp, outDtype: DType): boolean {
  const code = BINARY_CODES[op];
  return code !== undefined && outDtype === (code >= FIRST_COMPARISON ? "bool" : "float32");
}

export function wasmUnaryHandles(op: UnaryOp, outDtype: DType): boolean {
  return UNARY_CODES[op] !== undefined && outDtype === "float32";
}

/**
 * Runs an elementwise kernel over float32 operands already broadcast to one shape. Returns null
 * when the coalesced iteration space has more dims than the kernel walks (the caller falls back).
 */
function run(rt: WasmRuntime, kernel: "binary" | "unary", code: number, boolOut: boolean, inputs: { x: Float32Array; l: Layout }[]): Storage | null {
  rt.reset();
  const staged = inputs.map(({ x, l }) => stage(rt, x, l));
  const walk = coalesce(staged.map((s, i) => new Layout(inputs[i].l.shape, s.strides, 0)));
  if (walk.shape.length > MAX_DIMS) return null;
  const pad = MAX_DIMS - walk.shape.length;
  const shape = [...new Array<number>(pad).fill(1), ...walk.shape];
  const strides = walk.strides.map((s) => [...new Array<number>(pad).fill(0), ...s]);
  const size = inputs[0].l.size;
  const out = rt.alloc(size * (boolOut ? 1 : 4));
  const args = rt.alloc(17 * 4);
  const b = staged[1] ?? staged[0];
  rt.i32(args, 17).set([code, boolOut ? 1 : 0, staged[0].ptr, b.ptr, out, ...shape, ...strides[0], ...(strides[1] ?? strides[0])]);
  rt.run(kernel, args, rt.sharesFor(Math.floor(size / MIN_ELEMENTS_PER_THREAD)));
  return boolOut ? rt.u8(out, size).slice() : rt.f32(out, size).slice();
}

export function binaryOn(rt: WasmRuntime, op: BinaryOp, a: Float32Array, al: Layout, b: Float32Array, bl: Layout): Storage | null {
  const code = BINARY_CODES[op]!;
  return run(rt, "binary", code, code >= FIRST_COMPARISON, [{ x: a, l: al }, { x: b, l: bl }]);
}

export function unaryOn(rt: WasmRuntime, op: UnaryOp, x: Float32Array, xl: Layout): Storage | null {
  return run(rt, "unary", UNARY_CODES[op]!, false, [{ x, l: xl }]);
}
