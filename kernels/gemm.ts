// Float32 GEMM, C = A @ B, for any strides (transposed or broadcast operands are packed, never
// copied first). BLIS's loop order: a KC x NC block of B is packed into 8-wide panels (L2/L3),
// an MC x KC block of A into 4-tall panels (L2), and a 4x8 register tile of C accumulates
// KC products with 128-bit SIMD (8 accumulators, 2 loads of B and 4 broadcasts of A per step).
import { madd } from "./simd";

export const MR: i32 = 4;
export const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 1024;

/** Bytes of packing scratch one thread needs. */
export function gemmScratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

/**
 * Packs rows [0, mc) x cols [0, kc) of A (element strides rs, cs) into 4-row panels:
 * panel r holds, for each p, the 4 values A[4r..4r+3][p]; missing rows are zero.
 */
function packA(a: usize, rs: i32, cs: i32, mc: i32, kc: i32, dst: usize): void {
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = min(MR, mc - i0);
    if (rows == MR) {
      const r0 = a + <usize>(i0 * rs) * 4;
      const r1 = r0 + <usize>rs * 4;
      const r2 = r1 + <usize>rs * 4;
      const r3 = r2 + <usize>rs * 4;
      const step = <usize>cs * 4;
      let off: usize = 0;
      for (let p = 0; p < kc; p++) {
        store<f32>(dst, load<f32>(r0 + off));
        store<f32>(dst, load<f32>(r1 + off), 4);
        store<f32>(dst, load<f32>(r2 + off), 8);
        store<f32>(dst, load<f32>(r3 + off), 12);
        dst += 16;
        off += step;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < MR; r++) {
          const v: f32 = r < rows ? load<f32>(a + (<usize>((i0 + r) * rs) + <usize>(p * cs)) * 4) : 0;
          store<f32>(dst + (r << 2), v);
        }
        dst += 16;
      }
    }
  }
}

/** Packs rows [0, kc) x cols [0, nc) of B into 8-col panels: panel j holds, for each p, B[p][8j..8j+7]. */
function packB(b: usize, rs: i32, cs: i32, kc: i32, nc: i32, dst: usize): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = min(NR, nc - j0);
    if (cols == NR && cs == 1) {
      let src = b + <usize>j0 * 4;
      const step = <usize>rs * 4;
      for (let p = 0; p < kc; p++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += 32;
        src += step;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const row = b + <usize>(p * rs) * 4;
        for (let c = 0; c < NR; c++) {
          const v: f32 = c < cols ? load<f32>(row + <usize>((j0 + c) * cs) * 4) : 0;
          store<f32>(dst + (c << 2), v);
        }
        dst += 32;
      }
    }
  }
}

/**
 * The 4x8 register tile: acc = sum_p pa[p] (x) pb[p] over kc steps, then C = acc (first K block)
 * or C += acc. Partial tiles at the edges go through `tile` so only valid elements are written.
 */
function micro(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, rows: i32, cols: i32, accumulate: bool, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    pa += 16;
    pb += 32;
  }
  const full = rows == MR && cols == NR;
  const out = full ? c : tile;
  const ld: usize = full ? <usize>ldc * 4 : 32;
  if (full && accumulate) {
    v128.store(out, f32x4.add(v128.load(out), c00));
    v128.store(out, f32x4.add(v128.load(out, 16), c01), 16);
    v128.store(out + ld, f32x4.add(v128.load(out + ld), c10));
    v128.store(out + ld, f32x4.add(v128.load(out + ld, 16), c11), 16);
    v128.store(out + 2 * ld, f32x4.add(v128.load(out + 2 * ld), c20));
    v128.store(out + 2 * ld, f32x4.add(v128.load(out + 2 * ld, 16), c21), 16);
    v128.store(out + 3 * ld, f32x4.add(v128.load(out + 3 * ld), c30));
    v128.store(out + 3 * ld, f32x4.add(v128.load(out + 3 * ld, 16), c31), 16);
  } else {
    v128.store(out, c00);
    v128.store(out, c01, 16);
    v128.store(out + ld, c10);
    v128.store(out + ld, c11, 16);
    v128.store(out + 2 * ld, c20);
    v128.store(out + 2 * ld, c21, 16);
    v128.store(out + 3 * ld, c30);
    v128.store(out + 3 * ld, c31, 16);
  }
  if (full) return;
  for (let i = 0; i < rows; i++) {
    const dst = c + <usize>(i * ldc) * 4;
    const src = tile + <usize>(i * NR) * 4;
    for (let j = 0; j < cols; j++) {
      const v = load<f32>(src + (<usize>j << 2));
      const at = dst + (<usize>j << 2);
      store<f32>(at, accumulate ? load<f32>(at) + v : v);
    }
  }
}

/**
 * C[m x n] (row stride ldc) = A[m x k] @ B[k x n] for one matrix. `scratch` holds
 * gemmScratchBytes() bytes private to the calling thread.
 */
export function gemm(a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32, c: usize, ldc: i32, m: i32, n: i32, k: i32, scratch: usize): void {
  const packedA = scratch;
  const packedB = scratch + <usize>(MC * KC) * 4;
  const tile = packedB + <usize>(KC * NC) * 4;
  if (k == 0) {
    for (let i = 0; i < m; i++) memory.fill(c + <usize>(i * ldc) * 4, 0, <usize>n * 4);
    return;
  }
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = min(KC, k - p0);
      packB(b + (<usize>(p0 * brs) + <usize>(j0 * bcs)) * 4, brs, bcs, kc, nc, packedB);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = min(MC, m - i0);
        packA(a + (<usize>(i0 * ars) + <usize>(p0 * acs)) * 4, ars, acs, mc, kc, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const pb = packedB + <usize>(jr * kc) * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const pa = packedA + <usize>(ir * kc) * 4;
            const cTile = c + (<usize>((i0 + ir) * ldc) + <usize>(j0 + jr)) * 4;
            micro(kc, pa, pb, cTile, ldc, min(MR, mc - ir), min(NR, nc - jr), p0 > 0, tile);
          }
        }
      }
    }
  }
}

/**
 * Batched matmul, one thread's share. `args` points at i32 fields:
 * [a, aBatchStride, aRowStride, aColStride, b, bBatchStride, bRowStride, bColStride,
 *  c, batch, m, n, k, scratch] (pointers in bytes, strides in elements). Many matrices are
 * shared out whole; otherwise each matrix is cut along its longer side into tile-aligned strips.
 */
export function matmul(args: usize, tid: i32, nthreads: i32): void {
  const a = <usize>load<u32>(args);
  const asb = load<i32>(args, 4), ars = load<i32>(args, 8), acs = load<i32>(args, 12);
  const b = <usize>load<u32>(args, 16);
  const bsb = load<i32>(args, 20), brs = load<i32>(args, 24), bcs = load<i32>(args, 28);
  const c = <usize>load<u32>(args, 32);
  const batch = load<i32>(args, 36), m = load<i32>(args, 40), n = load<i32>(args, 44), k = load<i32>(args, 48);
  const scratch = <usize>load<u32>(args, 52) + <usize>tid * <usize>gemmScratchBytes();
  const mn = m * n;
  if (nthreads == 1 || (batch % nthreads == 0 && batch >= nthreads) || batch >= 4 * nthreads) {
    for (let q = tid; q < batch; q += nthreads) {
      gemm(a + <usize>(q * asb) * 4, ars, acs, b + <usize>(q * bsb) * 4, brs, bcs, c + <usize>(q * mn) * 4, n, m, n, k, scratch);
    }
    return;
  }
  for (let q = 0; q < batch; q++) {
    const aq = a + <usize>(q * asb) * 4;
    const bq = b + <usize>(q * bsb) * 4;
    const cq = c + <usize>(q * mn) * 4;
    if (m >= n) {
      const per = ((m + MR - 1) / MR + nthreads - 1) / nthreads * MR;
      const i0 = tid * per;
      const rows = min(per, m - i0);
      if (rows > 0) gemm(aq + <usize>(i0 * ars) * 4, ars, acs, bq, brs, bcs, cq + <usize>(i0 * n) * 4, n, rows, n, k, scratch);
    } else {
      const per = ((n + NR - 1) / NR + nthreads - 1) / nthreads * NR;
      const j0 = tid * per;
      const cols = min(per, n - j0);
      if (cols > 0) gemm(aq, ars, acs, bq + <usize>(j0 * bcs) * 4, brs, bcs, cq + <usize>j0 * 4, n, m, cols, k, scratch);
    }
  }
}
