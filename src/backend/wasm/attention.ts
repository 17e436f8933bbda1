import type { Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import type { AttentionGradTarget, AttentionInput, AttentionSpec } from "../backend.js";
import { gemmOn, type GemmOperand } from "./matmul.js";
import { stage, stageArray, storageSpan, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

// Waking a thread costs tens of microseconds: row passes and copies split only when this large.
const MIN_ELEMENTS_PER_THREAD = 32 * 1024;
const MIN_COPY_ELEMENTS_PER_THREAD = 128 * 1024;

/** A [B1, B2, rows, cols] operand in wasm memory: element (b1, b2, i, j) at ptr + 4 * (b1*s[0] + b2*s[1] + i*s[2] + j*s[3]). */
interface Placed {
  ptr: number;
  shape: readonly number[];
  strides: readonly number[];
}

/**
 * Stages several operands, copying the span of a storage they share once (q, k and v are often
 * views of one packed projection), else each on its own (operands.ts's stage).
 */
function stageAll(rt: WasmRuntime, inputs: readonly AttentionInput[]): Placed[] {
  const placed: Placed[] = new Array(inputs.length);
  const done = new Set<number>();
  inputs.forEach((input, i) => {
    if (done.has(i)) return;
    const group = inputs.map((x, j) => j).filter((j) => !done.has(j) && inputs[j].storage === input.storage);
    let lo = Infinity;
    let hi = -Infinity;
    let size = 0;
    for (const j of group) {
      const span = storageSpan(inputs[j].layout);
      lo = Math.min(lo, span.lo);
      hi = Math.max(hi, span.hi);
      size += inputs[j].layout.size;
    }
    const x = input.storage;
    if (group.length > 1 && x instanceof Float32Array && hi - lo + 1 <= 2 * size + 1024) {
      const ptr = rt.alloc((hi - lo + 1) * 4);
      rt.f32(ptr, hi - lo + 1).set(x.subarray(lo, hi + 1));
      for (const j of group) {
        const l = inputs[j].layout;
        placed[j] = { ptr: ptr + (l.offset - lo) * 4, shape: l.shape, strides: l.strides };
        done.add(j);
      }
      return;
    }
    const s = stage(rt, x as Storage, input.layout);
    placed[i] = { ptr: s.ptr, shape: input.layout.shape, strides: s.strides };
    done.add(i);
  });
  return placed;
}

/** The single batch stride of [B1, B2] batch dims with these strides, or null when they do not merge. */
function batchStride(shape: readonly number[], strides: readonly number[]): number | null {
  if (shape[1] === 1) return strides[0];
  if (shape[0] === 1 || strides[0] === shape[1] * strides[1]) return strides[1];
  return null;
}

/** Copies a 4-D strided block with the stridedCopy kernel. */
function stridedCopy(rt: WasmRuntime, src: number, srcStrides: readonly number[], dst: number, dstStrides: readonly number[], shape: readonly number[]): void {
  const args = rt.alloc(14 * 4);
  rt.i32(args, 14).set([src, dst, ...shape, ...srcStrides, ...dstStrides]);
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  rt.run("stridedCopy", args, Math.min(shape[0] * shape[1], rt.sharesFor(Math.floor(size / MIN_COPY_ELEMENTS_PER_THREAD))));
}

/** `x` as a GEMM operand batched over B1 * B2, copied densely first when its batch dims do not merge. */
function batched(rt: WasmRuntime, x: Placed): GemmOperand {
  const stride = batchStride(x.shape, x.strides);
  if (stride !== null) return { ptr: x.ptr, batch: stride, row: x.strides[2], col: x.strides[3] };
  const dense = Layout.contiguous(x.shape).strides;
  const ptr = rt.alloc(x.shape[0] * dense[0] * 4);
  stridedCopy(rt, x.ptr, x.strides, ptr, dense, x.shape);
  return { ptr, batch: dense[1], row: dense[2], col: 1 };
}

/** Swaps a matrix operand's rows and columns. */
const transposed = (x: GemmOperand): GemmOperand => ({ ptr: x.ptr, batch: x.batch, row: x.col, col: x.row });

/** The operand from element (row, col) of every matrix on. */
const at = (x: GemmOperand, row: number, col = 0): GemmOperand => ({ ...x, ptr: x.ptr + (row * x.row + col * x.col) * 4 });

/**
 * Row blocks [start, end) of the score matrix. Causal square attention needs, in row block
 * [start, end), only score columns [0, end) (and in column block [start, end) only rows
 * [start, L)): in four blocks the GEMMs skip about 3/8 of the work above the diagonal.
 */
function rowBlocks(spec: AttentionSpec): { start: number; end: number }[] {
  const L = spec.q.layout.shape[2];
  if (!spec.causal || spec.k.layout.shape[2] !== L || L < 32) return [{ start: 0, end: L }];
  const size = Math.ceil(L / 16) * 4; // a multiple of the GEMM's 4-row tile
  const blocks = [];
  for (let start = 0; start < L; start += size) blocks.push({ start, end: Math.min(L, start + size) });
  return blocks;
}

/**
 * Runs `write(c)` (a GEMM into a dense-column output operand) so that its result lands at `ptr`
 * through `layout` ([B1, B2, rows, cols]): straight when the layout's batch dims merge and its
 * columns are dense, else through a dense temporary and a strided copy.
 */
function into(rt: WasmRuntime, ptr: number, layout: Layout, write: (c: GemmOperand) => void): void {
  const stride = batchStride(layout.shape, layout.strides);
  const at = ptr + layout.offset * 4;
  if (stride !== null && layout.strides[3] === 1) {
    write({ ptr: at, batch: stride, row: layout.strides[2], col: 1 });
    return;
  }
  const dense = Layout.contiguous(layout.shape).strides;
  const tmp = rt.alloc(layout.size * 4);
  write({ ptr: tmp, batch: dense[1], row: dense[2], col: 1 });
  stridedCopy(rt, tmp, dense, at, layout.strides, layout.shape);
}

function softmaxRows(rt: WasmRuntime, scores: number, spec: AttentionSpec, mask: Placed | null): void {
  const [B1, B2, L] = spec.q.layout.shape;
  const S = spec.k.layout.shape[2];
  const args = rt.alloc(12 * 4);
  const ms = mask?.strides ?? [0, 0, 0, 0];
  rt.i32(args, 12).set([scores, B1, B2, L, S, spec.causal ? 1 : 0, mask?.ptr ?? 0, ms[0], ms[1], ms[2], ms[3], 0]);
  rt.f32(args + 44, 1)[0] = spec.scale;
  rt.run("attentionSoftmax", args, Math.min(B1 * B2 * L, rt.sharesFor(Math.floor((B1 * B2 * L * S) / MIN_ELEMENTS_PER_THREAD))));
}

export function attentionForwardOn(rt: WasmRuntime, spec: AttentionSpec, outLayout: Layout, save: boolean): { output: Float32Array; weights: Float32Array | null } {
  const [B1, B2, L, E] = spec.q.layout.shape;
  const S = spec.k.layout.shape[2];
  const Ev = spec.v.layout.shape[3];
  const batch = B1 * B2;
  rt.reset();
  const [q, k, v] = stageAll(rt, [spec.q, spec.k, spec.v]).map((x) => batched(rt, x));
  const mask = spec.mask === null ? null : stageAll(rt, [spec.mask])[0];
  const p = rt.alloc(batch * L * S * 4);
  const pOperand = { ptr: p, batch: L * S, row: S, col: 1 };
  const blocks = rowBlocks(spec);
  // Blocked (causal): rows [start, end) of the scores and output need columns / keys [0, end) only.
  const cols = (end: number): number => (blocks.length > 1 ? end : S);
  for (const { start, end } of blocks) gemmOn(rt, { a: at(q, start), b: transposed(k), c: at(pOperand, start), batch, m: end - start, n: cols(end), k: E });
  softmaxRows(rt, p, spec, mask);
  const out = rt.alloc(outLayout.size * 4);
  into(rt, out, outLayout, (c) => {
    for (const { start, end } of blocks) gemmOn(rt, { a: at(pOperand, start), b: v, c: at(c, start), batch, m: end - start, n: Ev, k: cols(end) });
  });
  return { output: unstage(rt, out, outLayout.size), weights: save ? unstage(rt, p, batch * L * S) : null };
}

export function attentionBackwardOn(rt: WasmRuntime, spec: AttentionSpec, weights: Float32Array, gradOutput: AttentionInput, bufferSizes: readonly number[], targets: readonly (AttentionGradTarget | null)[]): Float32Array[] {
  const [B1, B2, L, E] = spec.q.layout.shape;
  const S = spec.k.layout.shape[2];
  const Ev = spec.v.layout.shape[3];
  const batch = B1 * B2;
  rt.reset();
  const [q, k, v, dOut] = stageAll(rt, [spec.q, spec.k, spec.v, gradOutput]).map((x) => batched(rt, x));
  const p = stageArray(rt, weights);
  const pOperand = { ptr: p, batch: L * S, row: S, col: 1 };
  const [tq, tk, tv] = targets;
  const buffers = bufferSizes.map((n, i) => {
    const ptr = rt.alloc(n * 4);
    // Targets do not overlap: when they add up to the buffer (q, k and v of one packed projection) they cover it.
    const covered = targets.reduce((sum, t) => sum + (t !== null && t.buffer === i ? t.layout.size : 0), 0);
    if (covered !== n) rt.f32(ptr, n).fill(0);
    return ptr;
  });
  const blocks = rowBlocks(spec);
  const blocked = blocks.length > 1;
  // With causal blocks, rows [start, end) of d(scores) need columns [0, end) only, and rows
  // [start, end) of d(k) and d(v) (score columns) sum over score rows [start, L) only.
  const byColumns = (w: GemmOperand, x: GemmOperand, c: GemmOperand, n: number): void => {
    if (!blocked) return gemmOn(rt, { a: transposed(w), b: x, c, batch, m: S, n, k: L });
    for (const { start, end } of blocks) gemmOn(rt, { a: at(transposed(w), start, start), b: at(x, start), c: at(c, start), batch, m: end - start, n, k: L - start });
  };
  if (tv) into(rt, buffers[tv.buffer], tv.layout, (c) => byColumns(pOperand, dOut, c, Ev));
  if (tq || tk) {
    // ds = scale * (p * dp - p * sum(p * dp)), dp = dOut v^T, in place over dp.
    const ds = rt.alloc(batch * L * S * 4);
    const dsOperand = { ptr: ds, batch: L * S, row: S, col: 1 };
    for (const { start, end } of blocks) gemmOn(rt, { a: at(dOut, start), b: transposed(v), c: at(dsOperand, start), batch, m: end - start, n: blocked ? end : S, k: Ev });
    const args = rt.alloc(7 * 4);
    rt.i32(args, 7).set([ds, p, batch * L, S, 0, blocked ? 1 : 0, L]);
    rt.f32(args + 16, 1)[0] = spec.scale;
    rt.run("attentionSoftmaxBackward", args, Math.min(batch * L, rt.sharesFor(Math.floor((batch * L * S) / MIN_ELEMENTS_PER_THREAD))));
    if (tq) {
      into(rt, buffers[tq.buffer], tq.layout, (c) => {
        for (const { start, end } of blocks) gemmOn(rt, { a: at(dsOperand, start), b: k, c: at(c, start), batch, m: end - start, n: E, k: blocked ? end : S });
      });
    }
    if (tk) into(rt, buffers[tk.buffer], tk.layout, (c) => byColumns(dsOperand, q, c, E));
  }
  return buffers.map((ptr, i) => unstage(rt, ptr, bufferSizes[i]));
}
