import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import { stage, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

// Waking a thread costs tens of microseconds: only jobs this large are split.
const MIN_MACS_PER_THREAD = 64 * 1024;

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
}

/**
 * Runs the SIMD GEMM kernel on operands already in wasm memory, split across threads. A bias
 * pointer must have 8 floats of slack after its last element (the kernel reads whole tiles).
 */
export function gemmOn(rt: WasmRuntime, job: GemmJob): void {
  const { args, shares } = prepareGemm(rt, job);
  rt.run("matmul", args, shares);
}

/** Field 0 of a prepared GEMM's argument block: A's address, which a caller may rewrite between runs. */
export const GEMM_ARG_A_PTR = 0;

/**
 * Writes the `matmul` kernel's argument block (and allocates its thread scratch) for `job`
 * without running it, so a caller can run the same GEMM repeatedly, e.g. once per time step with
 * only A's address changed, without allocating again.
 */
export function prepareGemm(rt: WasmRuntime, job: GemmJob): { args: number; shares: number } {
  const { a, b, c, batch, m, n, k } = job;
  const shares = rt.sharesFor(Math.floor((batch * m * n * Math.max(k, 1)) / MIN_MACS_PER_THREAD));
  const scratch = rt.alloc(shares * rt.exported("gemmScratchBytes")());
  const args = rt.alloc(24 * 4);
  const bias = job.bias;
  const flags = (job.relu ? 1 : 0) | (job.accumulate ? 2 : 0);
  rt.i32(args, 24).set([
    a.ptr, a.batch, a.row, a.col,
    b.ptr, b.batch, b.row, b.col, b.block ?? 0, b.blockStride ?? 0,
    c.ptr, c.batch, c.row, c.block ?? 0, c.blockStride ?? 0,
    batch, m, n, k, scratch,
    bias?.ptr ?? 0, bias === undefined ? 0 : bias.mode === "rows" ? 1 : 2, bias?.batch ?? 0, flags,
  ]);
  return { args, shares };
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
  let biasPtr = 0;
  if (bias !== undefined) {
    biasPtr = rt.alloc((n + 8) * 4);
    rt.f32(biasPtr, n).set(bias);
  }
  gemmOn(rt, {
    a: { ptr: sa.ptr, batch: sa.strides[0], row: sa.strides[1], col: sa.strides[2] },
    b: { ptr: sb.ptr, batch: sb.strides[0], row: sb.strides[1], col: sb.strides[2] },
    c: { ptr: c, batch: m * n, row: n, col: 1 },
    batch, m, n, k,
    bias: bias === undefined ? undefined : { ptr: biasPtr, mode: "cols", batch: 0 },
  });
  return unstage(rt, c, batch * m * n);
}
