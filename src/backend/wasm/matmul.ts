import type { Storage } from "../../core/dtype.js";
import { fail } from "../../core/errors.js";
import type { Layout } from "../../core/layout.js";
import { stage, stageArray, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

// Waking a thread costs tens of microseconds: only jobs this large are split.
const MIN_MACS_PER_THREAD = 64 * 1024;
// A single matrix is cut into strips of rows (or columns) and each strip packs all of the other
// operand again, so strips are at least this long (measured on one thread, 1024^3: 8 strips of
// 128 rows do 8% more work than one GEMM, 4 strips of 256 4%, 2 strips under 1%).
const MIN_STRIP = 256;
// More shares than threads let a thread that the machine delays hold up a job less.
const MAX_SHARES_PER_THREAD = 4;

/** A matrix operand in wasm memory: element (i, j) of matrix q at ptr + 4 * (q*batch + i*row + j*col). */
export interface GemmOperand {
  ptr: number;
  batch: number;
  row: number;
  col: number;
  /**
   * Columns in blocks of `block` (0: one block): column j sits at (j / block) * blockStride +
   * (j % block) * col, e.g. a batch-folded convolution writing [N, O, L] as [O, N*L].
   */
  block?: number;
  blockStride?: number;
}

export interface GemmJob {
  a: GemmOperand;
  b: GemmOperand;
  /** The output: its column stride must be 1. */
  c: GemmOperand;
  batch: number;
  m: number;
  n: number;
  k: number;
  /** Added to every row (`bias[j]`, "cols") or every column (`bias[i]`, "rows"), before ReLU. */
  bias?: { ptr: number; mode: "rows" | "cols"; batch: number };
  relu?: boolean;
  /** C += A @ B instead of C = A @ B. */
  accumulate?: boolean;
  /**
   * Pack B into the kernel's panels once, when the job is prepared (its data must be in place
   * then, one B for the whole batch), for a GEMM run many times with the same B.
   */
  prepackB?: boolean;
}

/**
 * Runs the SIMD GEMM kernel on operands already in wasm memory, split across threads. A bias
 * pointer must have 8 floats of slack after its last element (the kernel reads whole tiles).
 */
export function gemmOn(rt: WasmRuntime, job: GemmJob): void {
  const { args, shares, perThread } = prepareGemm(rt, job);
  rt.run("matmul", args, shares, perThread);
}

/** Field 0 of a prepared GEMM's argument block: A's address, which a caller may rewrite between runs. */
export const GEMM_ARG_A_PTR = 0;
/** Field 10: C's address, likewise (see repeatedGemm). */
const GEMM_ARG_C_PTR = 10;

/** Field 16: M, the rows of A and C, which a caller may lower between runs (see repeatedGemm). */
const GEMM_ARG_ROWS = 16;

/**
 * A GEMM prepared once (B pre-packed: its data must be in place) and run many times with only
 * A's and C's addresses changed, e.g. once per time step on that step's rows; `rows` (at most
 * the job's m, default m) runs it on the first rows of A and C only.
 */
export function repeatedGemm(rt: WasmRuntime, job: Omit<GemmJob, "prepackB">): (a: number, c: number, rows?: number) => void {
  const { args, shares, perThread } = prepareGemm(rt, { ...job, prepackB: true });
  return (a, c, rows = job.m) => {
    if (!(rows >= 0 && rows <= job.m)) fail("matmul", `a repeated GEMM of ${job.m} rows cannot run on ${rows}`);
    const fields = rt.i32(args, GEMM_ARG_ROWS + 1);
    fields[GEMM_ARG_A_PTR] = a;
    fields[GEMM_ARG_C_PTR] = c;
    fields[GEMM_ARG_ROWS] = rows;
    rt.run("matmul", args, shares, perThread);
  };
}
// The argument block's size and the field holding pre-packed B (see kernels/gemm.ts `matmul`).
const ARG_FIELDS = 25;
const ARG_PACKED_B = 24;

/** How a GEMM is split: by default over every thread that is up, shares per thread by its shape. */
export interface GemmSplit {
  /** Shares per thread (default: up to 4, fewer for a single matrix too short for 256-long strips). */
  perThread?: number;
  /** At most this many threads (default: all that are up, for a large enough job). */
  maxThreads?: number;
}

/** A GEMM ready to run: `rt.run("matmul", args, shares, perThread)`. */
export interface PreparedGemm {
  args: number;
  shares: number;
  perThread: number;
}

/**
 * Writes the `matmul` kernel's argument block (and allocates its thread scratch) for `job`
 * without running it, so a caller can run the same GEMM repeatedly, e.g. once per time step with
 * only A's address changed, without allocating again.
 */
export function prepareGemm(rt: WasmRuntime, job: GemmJob, split: GemmSplit = {}): PreparedGemm {
  const { a, b, c, batch, m, n, k } = job;
  if (job.prepackB && batch > 1 && b.batch !== 0) fail("matmul", `a pre-packed B must be shared by the batch (batch ${batch}, B batch stride ${b.batch})`);
  const threads = rt.sharesFor(Math.min(split.maxThreads ?? Infinity, Math.floor((batch * m * n * Math.max(k, 1)) / MIN_MACS_PER_THREAD)), 1);
  const perThread = split.perThread ?? (batch > 1 ? MAX_SHARES_PER_THREAD : Math.max(1, Math.min(MAX_SHARES_PER_THREAD, Math.floor(Math.max(m, n) / (threads * MIN_STRIP)))));
  const shares = threads === 1 ? 1 : threads * perThread;
  const scratch = rt.callScratch(shares * rt.exported("gemmScratchBytes")());
  const args = rt.alloc(ARG_FIELDS * 4);
  const bias = job.bias;
  const flags = (job.relu ? 1 : 0) | (job.accumulate ? 2 : 0);
  rt.i32(args, ARG_FIELDS).set([
    a.ptr, a.batch, a.row, a.col,
    b.ptr, b.batch, b.row, b.col, b.block ?? 0, b.blockStride ?? 0,
    c.ptr, c.batch, c.row, c.block ?? 0, c.blockStride ?? 0,
    batch, m, n, k, scratch,
    bias?.ptr ?? 0, bias === undefined ? 0 : bias.mode === "rows" ? 1 : 2, bias?.batch ?? 0, flags,
    0,
  ]);
  if (job.prepackB) {
    const packed = rt.alloc(rt.exported("gemmPackedBBytes")(n, k));
    rt.exported("gemmPackB")(args, packed);
    rt.i32(args + 4 * ARG_PACKED_B, 1)[0] = packed;
  }
  return { args, shares, perThread };
}

/**
 * Batched float32 matmul [B, M, K] @ [B, K, N] (any strides) on the SIMD GEMM kernel, split
 * across threads; `bias` (a contiguous [N] vector) is added to every row in the same pass.
 */
export function matmulOn(rt: WasmRuntime, a: Storage, al: Layout, b: Storage, bl: Layout, bias?: Float32Array): Float32Array {
  const [batch, m, k] = al.shape;
  const n = bl.shape[2];
  rt.reset();
  const sa = stage(rt, a, al);
  const sb = stage(rt, b, bl);
  const c = rt.alloc(batch * m * n * 4);
  const biasPtr = stageArray(rt, bias ?? null, 8); // the kernel reads whole tiles of it
  gemmOn(rt, {
    a: { ptr: sa.ptr, batch: sa.strides[0], row: sa.strides[1], col: sa.strides[2] },
    b: { ptr: sb.ptr, batch: sb.strides[0], row: sb.strides[1], col: sb.strides[2] },
    c: { ptr: c, batch: m * n, row: n, col: 1 },
    batch, m, n, k,
    bias: bias === undefined ? undefined : { ptr: biasPtr, mode: "cols", batch: 0 },
  });
  return unstage(rt, c, batch * m * n);
}
