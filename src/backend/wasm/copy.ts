import { Layout } from "../../core/layout.js";
import { coalesce } from "../js/strided.js";
import { stage, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

// Waking a thread costs tens of microseconds: only copies this large are split.
const MIN_ELEMENTS_PER_THREAD = 128 * 1024;
const MAX_DIMS = 4;

/**
 * A float32 view (transposed, permuted, sliced, flipped) read into fresh dense storage with the
 * stridedCopy kernel; null when its coalesced walk has more dims than the kernel takes.
 */
export function stridedCopyOn(rt: WasmRuntime, x: Float32Array, xl: Layout): Float32Array | null {
  const dense = denseInArena(rt, x, xl);
  return dense === null ? null : unstage(rt, dense.byteOffset, dense.length);
}

/**
 * dst[offset ..] = the view's elements in row-major order (an assign into a contiguous region),
 * without an intermediate JS copy; false when the kernel cannot walk the view. The view is read
 * into wasm memory before dst is written, so the two may overlap.
 */
export function stridedAssignOn(rt: WasmRuntime, dst: Float32Array, offset: number, x: Float32Array, xl: Layout): boolean {
  const dense = denseInArena(rt, x, xl);
  if (dense === null) return false;
  dst.set(dense, offset);
  return true;
}

/** The view's elements, dense, in the arena (valid until the next backend call); null when the walk has too many dims. */
function denseInArena(rt: WasmRuntime, x: Float32Array, xl: Layout): Float32Array | null {
  const walk = coalesce([xl, Layout.contiguous(xl.shape)]);
  if (walk.shape.length > MAX_DIMS) return null;
  rt.reset();
  const staged = stage(rt, x, xl);
  // Walk the staged copy: its strides are the view's (the walk above) or dense (one dim) when stage compacted it.
  const src = coalesce([new Layout(xl.shape, staged.strides), Layout.contiguous(xl.shape)]);
  const pad = MAX_DIMS - src.shape.length;
  const shape = [...new Array<number>(pad).fill(1), ...src.shape];
  const [srcStrides, dstStrides] = src.strides.map((s) => [...new Array<number>(pad).fill(0), ...s]);
  const out = rt.alloc(xl.size * 4);
  const args = rt.alloc(14 * 4);
  rt.i32(args, 14).set([staged.ptr, out, ...shape, ...srcStrides, ...dstStrides]);
  rt.run("stridedCopy", args, Math.min(shape[0] * shape[1], rt.sharesFor(Math.floor(xl.size / MIN_ELEMENTS_PER_THREAD))));
  return rt.f32(out, xl.size);
}
