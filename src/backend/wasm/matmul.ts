import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import { stage, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

// Waking a thread costs tens of microseconds: only jobs this large are split.
const MIN_MACS_PER_THREAD = 64 * 1024;

/** Batched float32 matmul [B, M, K] @ [B, K, N] (any strides) on the SIMD GEMM kernel, split across threads. */
export function matmulOn(rt: WasmRuntime, a: Storage, al: Layout, b: Storage, bl: Layout): Float32Array {
  const [batch, m, k] = al.shape;
  const n = bl.shape[2];
  const macs = batch * m * n * k;
  rt.reset();
  const shares = rt.sharesFor(Math.floor(macs / MIN_MACS_PER_THREAD));
  const sa = stage(rt, a, al);
  const sb = stage(rt, b, bl);
  const c = rt.alloc(batch * m * n * 4);
  const scratch = rt.alloc(shares * rt.exported("gemmScratchBytes")());
  const args = rt.alloc(14 * 4);
  rt.i32(args, 14).set([sa.ptr, sa.strides[0], sa.strides[1], sa.strides[2], sb.ptr, sb.strides[0], sb.strides[1], sb.strides[2], c, batch, m, n, k, scratch]);
  rt.run("matmul", args, shares);
  return unstage(rt, c, batch * m * n);
}
