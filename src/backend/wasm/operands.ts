import type { Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import { jsBackend } from "../js/index.js";
import type { WasmRuntime } from "./runtime.js";

/** A float32 operand in wasm memory: element i lives at ptr + 4 * sum(i[d] * strides[d]). */
export interface Staged {
  ptr: number;
  strides: readonly number[];
}

/** The lowest and highest storage index a (non-empty) layout touches. */
export function storageSpan(xl: Layout): { lo: number; hi: number } {
  let lo = xl.offset;
  let hi = xl.offset;
  for (let d = 0; d < xl.ndim; d++) {
    const reach = (xl.shape[d] - 1) * xl.strides[d];
    if (reach < 0) lo += reach;
    else hi += reach;
  }
  return { lo, hi };
}

/**
 * Copies the storage span a layout touches into the arena, keeping its strides, so transposed,
 * sliced, flipped and broadcast views cost one memcpy of their span and the kernel walks the
 * strides. A view that touches only a small part of a large span is compacted first instead.
 * An array already in wasm memory (resident state such as a parameter, or a result the open
 * result scope kept) is read where it is, with no copy: kernels never write their operands.
 */
export function stage(rt: WasmRuntime, x: Storage, xl: Layout): Staged {
  const kept = x instanceof Float32Array ? rt.inPlacePointer(x) : -1;
  if (kept >= 0) return { ptr: kept + xl.offset * 4, strides: xl.strides };
  const { lo, hi } = storageSpan(xl);
  const span = xl.size === 0 ? 0 : hi - lo + 1;
  if (span > 2 * xl.size + 1024 || !(x instanceof Float32Array)) {
    const dense = jsBackend.copy(x, xl, "float32") as Float32Array;
    const ptr = rt.alloc(dense.length * 4);
    rt.f32(ptr, dense.length).set(dense);
    return { ptr, strides: Layout.contiguous(xl.shape).strides };
  }
  const ptr = rt.alloc(span * 4);
  if (span > 0) rt.f32(ptr, span).set(x.subarray(lo, hi + 1));
  return { ptr: ptr + (xl.offset - lo) * 4, strides: xl.strides };
}

/**
 * Copies a dense array into the arena and returns its address (0 for null, which kernels read as
 * "none"); `slack` more 4-byte elements are reserved after it for kernels that read whole vectors
 * or tiles. An array already in wasm memory is read where it is (when no slack is asked for), as
 * in `stage`.
 */
export function stageArray(rt: WasmRuntime, values: Float32Array | Int32Array | Uint8Array | null, slack = 0): number {
  if (values === null) return 0;
  const kept = slack === 0 && values instanceof Float32Array ? rt.inPlacePointer(values) : -1;
  if (kept >= 0) return kept;
  const ptr = rt.alloc(values.byteLength + slack * 4);
  if (values instanceof Float32Array) rt.f32(ptr, values.length).set(values);
  else if (values instanceof Int32Array) rt.i32(ptr, values.length).set(values);
  else rt.u8(ptr, values.length).set(values);
  return ptr;
}

/**
 * Stages a view's elements in row-major order as a dense array (as stageArray): a contiguous
 * view's window of its storage as it is, any other view through a dense copy first.
 */
export function stageDense(rt: WasmRuntime, values: Storage, layout: Layout, slack = 0): number {
  const dense = layout.isContiguous() ? values.subarray(layout.offset, layout.offset + layout.size) : jsBackend.copy(values, layout, "float32");
  return stageArray(rt, dense as Float32Array, slack);
}

interface NodeBuffer {
  allocUnsafeSlow(bytes: number): Uint8Array;
}
/** Node's Buffer (absent in browsers): it allocates without zeroing. */
const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;
/** Below this, zeroing costs little next to the allocation itself. */
const MIN_UNZEROED_BYTES = 64 * 1024;

type CopyableArray = Float32Array | Int32Array | Uint8Array;
type ArrayType<T> = { new (length: number): T; new (buffer: ArrayBufferLike, byteOffset: number, length: number): T };

/**
 * A fresh copy of a view of wasm memory (the result leaves wasm memory). Allocating and then
 * `set` is a memcpy; `slice()` on a view of wasm memory takes about twice as long. In Node a large
 * copy lands in memory that is not zeroed first (it is overwritten whole): measured 1.3-3x faster
 * than `new Float32Array(n)` for 1.5-3 MB results, whose zeroing of fresh pages costs more than
 * the copy.
 */
export function copyOut<T extends CopyableArray>(view: T): T {
  const type = view.constructor as ArrayType<T>;
  const out = nodeBuffer !== undefined && view.byteLength >= MIN_UNZEROED_BYTES
    ? new type(nodeBuffer.allocUnsafeSlow(view.byteLength).buffer, 0, view.length)
    : new type(view.length);
  out.set(view);
  return out;
}

/**
 * The result of `length` floats at `ptr`: kept where it is while a result scope is open (see
 * WasmRuntime.keepResult), else a fresh contiguous copy (the result leaves wasm memory).
 */
export function unstage(rt: WasmRuntime, ptr: number, length: number): Float32Array {
  return rt.keepResult(ptr, length) ?? copyOut(rt.f32(ptr, length));
}
