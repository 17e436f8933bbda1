// Float32 GEMM, C = A @ B (+ bias, optionally ReLU), for any strides (transposed or broadcast
// operands are packed, never copied first). BLIS's loop order: a KC x NC block of B is packed
// into 8-wide panels (L2/L3), an MC x KC block of A into 4-tall panels (L2), and a 4x8 register
// tile of C accumulates KC products with 128-bit SIMD (8 accumulators, 2 loads of B and 4
// broadcasts of A per step).
//
// Columns of B and C may be "blocked": column j lives at (j / block) * blockStride + (j % block)
// * colStride. A convolution over a whole batch is then one GEMM, weight [O, K] @ columns
// [K, N*L], whose result lands straight in [N, O, L] order (block L, block stride O*L).
import { madd } from "./simd";

export const MR: i32 = 4;
export const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 1024;

/** Bytes of packing scratch one thread needs. */
export function gemmScratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4 + OP_BYTES;
}

// Room for one Op (below) at the end of a thread's scratch.
const OP_BYTES: i32 = 128;

// Bias modes (args field 21).
const BIAS_ROWS: i32 = 1; // bias[i] added to row i
const BIAS_COLS: i32 = 2; // bias[j] added to column j
// Flags (args field 23).
const FLAG_RELU: i32 = 1;
const FLAG_ACCUMULATE: i32 = 2; // C += A @ B instead of C = A @ B

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
      let p = 0;
      if (cs == 1) {
        // Rows contiguous in p (a row-major A): 4x4 blocks, transposed in registers.
        for (; p + 4 <= kc; p += 4) {
          transpose4(v128.load(r0 + off), v128.load(r1 + off), v128.load(r2 + off), v128.load(r3 + off), dst, 16);
          dst += 64;
          off += 16;
        }
      } else if (rs == 1) {
        // A transposed (its 4 rows adjacent in memory for each p): one vector per p.
        for (; p < kc; p++) {
          v128.store(dst, v128.load(r0 + off));
          dst += 16;
          off += step;
        }
      }
      for (; p < kc; p++) {
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

/**
 * Stores the transpose of the 4x4 block whose rows are r0..r3: row i of the result (column i of
 * the block) goes to dst + i * stride bytes.
 */
// @ts-ignore: decorator
@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(t0, t2, 0, 2));
  v128.store(dst + stride, i64x2.shuffle(t0, t2, 1, 3));
  v128.store(dst + 2 * stride, i64x2.shuffle(t1, t3, 0, 2));
  v128.store(dst + 3 * stride, i64x2.shuffle(t1, t3, 1, 3));
}

/** Element offset of (blocked) column j: (j / block) * blockStride + (j % block) * colStride. */
// @ts-ignore: decorator
@inline function columnOffset(j: i32, colStride: i32, block: i32, blockStride: i32): i32 {
  const q = j / block;
  return q * blockStride + (j - q * block) * colStride;
}

/**
 * Packs rows [0, kc) x cols [j0, j0 + nc) of B into 8-col panels: panel j holds, for each p,
 * B[p][8j..8j+7] (missing columns zero). `b` points at row 0; columns may be blocked.
 */
function packB(b: usize, rs: i32, cs: i32, block: i32, blockStride: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const j = j0 + jr;
    const within = j % block;
    if (cols == NR && cs == 1 && within + NR <= block) {
      let src = b + <usize>columnOffset(j, 1, block, blockStride) * 4;
      const step = <usize>rs * 4;
      for (let p = 0; p < kc; p++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += 32;
        src += step;
      }
    } else if (cols == NR && rs == 1 && within + NR <= block) {
      // A transposed B (columns contiguous in p): 4x4 blocks, transposed in registers.
      const c0 = b + <usize>columnOffset(j, cs, block, blockStride) * 4;
      const cstep = <usize>cs * 4;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const at = c0 + <usize>p * 4;
        transpose4(v128.load(at), v128.load(at + cstep), v128.load(at + 2 * cstep), v128.load(at + 3 * cstep), dst, 32);
        const at4 = at + 4 * cstep;
        transpose4(v128.load(at4), v128.load(at4 + cstep), v128.load(at4 + 2 * cstep), v128.load(at4 + 3 * cstep), dst + 16, 32);
        dst += 128;
      }
      for (; p < kc; p++) {
        for (let c = 0; c < NR; c++) store<f32>(dst + (<usize>c << 2), load<f32>(c0 + <usize>c * cstep + <usize>p * 4));
        dst += 32;
      }
    } else {
      // Column by column: each column is read in order of p.
      for (let c = 0; c < NR; c++) {
        let out = dst + (<usize>c << 2);
        if (c < cols) {
          let src = b + <usize>columnOffset(j + c, cs, block, blockStride) * 4;
          const step = <usize>rs * 4;
          for (let p = 0; p < kc; p++) {
            store<f32>(out, load<f32>(src));
            out += 32;
            src += step;
          }
        } else {
          for (let p = 0; p < kc; p++) {
            store<f32>(out, 0);
            out += 32;
          }
        }
      }
      dst += <usize>kc * 32;
    }
  }
}

// @ts-ignore: decorator
@inline function finish(acc: v128, at: usize, add: bool, relu: bool): void {
  let v = add ? f32x4.add(v128.load(at), acc) : acc;
  if (relu) v = f32x4.max(v, f32x4.splat(0));
  v128.store(at, v);
}

/**
 * The 4x8 register tile: acc = init + sum_p pa[p] (x) pb[p] over kc steps, where init is the
 * bias (first K block) or zero; then out = acc, or out += acc when `add`, ReLU on the last K
 * block. `out` has row stride `ld` bytes and must hold a whole 4x8 tile.
 */
function micro(kc: i32, pa: usize, pb: usize, out: usize, ld: usize, add: bool, relu: bool, biasRows: usize, biasCols: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (biasRows != 0) {
    c00 = v128.load32_splat(biasRows); c01 = c00;
    c10 = v128.load32_splat(biasRows, 4); c11 = c10;
    c20 = v128.load32_splat(biasRows, 8); c21 = c20;
    c30 = v128.load32_splat(biasRows, 12); c31 = c30;
  } else if (biasCols != 0) {
    c00 = v128.load(biasCols); c01 = v128.load(biasCols, 16);
    c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01;
  }
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
  finish(c00, out, add, relu);
  finish(c01, out + 16, add, relu);
  finish(c10, out + ld, add, relu);
  finish(c11, out + ld + 16, add, relu);
  finish(c20, out + 2 * ld, add, relu);
  finish(c21, out + 2 * ld + 16, add, relu);
  finish(c30, out + 3 * ld, add, relu);
  finish(c31, out + 3 * ld + 16, add, relu);
}

/**
 * One GEMM's operands, read from the args block (see `matmul`) and offset per matrix/share. It
 * lives in the thread's scratch (changetype, never `new`: the stub runtime's allocator is not
 * thread-safe and never frees).
 */
class Op {
  a: usize; ars: i32; acs: i32;
  b: usize; brs: i32; bcs: i32; bBlock: i32; bBlockStride: i32;
  c: usize; ldc: i32; cBlock: i32; cBlockStride: i32;
  bias: usize; biasMode: i32; relu: bool; accumulate: bool;
  k: i32;
  packedB: usize; // B already in panels (gemmPackB), or 0 to pack it here
}

/**
 * Rows [0, m) x columns [j0, j1) of one matrix: C = A @ B (+ bias). `op.a`, `op.c` and (row)
 * `op.bias` already point at row 0 of the share; columns are global (blocked) indices.
 * `scratch` holds gemmScratchBytes() bytes private to the calling thread.
 */
function gemmOp(op: Op, m: i32, j0: i32, j1: i32, scratch: usize): void {
  const packedA = scratch;
  const packedB = scratch + <usize>(MC * KC) * 4;
  const tile = packedB + <usize>(KC * NC) * 4;
  const k = op.k;
  const ldcBytes = <usize>op.ldc * 4;
  const prepacked = op.packedB;
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    // k == 0 still runs one (empty) K block, so C gets the bias (or zeros).
    for (let p0 = 0; p0 < k || p0 == 0; p0 += KC) {
      const kc = min(KC, k - p0);
      const first = p0 == 0;
      const last = p0 + KC >= k;
      const add = !first || op.accumulate;
      const relu = last && op.relu;
      if (prepacked == 0) packB(op.b + <usize>(p0 * op.brs) * 4, op.brs, op.bcs, op.bBlock, op.bBlockStride, kc, jc, nc, packedB);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = min(MC, m - i0);
        packA(op.a + (<usize>(i0 * op.ars) + <usize>(p0 * op.acs)) * 4, op.ars, op.acs, mc, kc, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const j = jc + jr;
          // Pre-packed panels span all of K: panel j / NR, from row p0 (j is a multiple of NR).
          const pb = prepacked != 0 ? prepacked + <usize>((j / NR) * k + p0) * (NR * 4) : packedB + <usize>(jr * kc) * 4;
          const cols = min(NR, j1 - j);
          const within = j % op.cBlock;
          const contiguous = cols == NR && within + NR <= op.cBlock;
          const colBase = <usize>columnOffset(j, 1, op.cBlock, op.cBlockStride);
          const biasCols = first && op.biasMode == BIAS_COLS ? op.bias + <usize>j * 4 : 0;
          for (let ir = 0; ir < mc; ir += MR) {
            const pa = packedA + <usize>(ir * kc) * 4;
            const i = i0 + ir;
            const rows = min(MR, m - i);
            const biasRows = first && op.biasMode == BIAS_ROWS ? op.bias + <usize>i * 4 : 0;
            if (rows == MR && contiguous) {
              micro(kc, pa, pb, op.c + (<usize>i * ldcBytes) + colBase * 4, ldcBytes, add, relu, biasRows, biasCols);
              continue;
            }
            // An edge tile: compute into `tile`, then write only the elements that exist.
            micro(kc, pa, pb, tile, 32, false, false, biasRows, biasCols);
            for (let c = 0; c < cols; c++) {
              const at = op.c + (<usize>i * ldcBytes) + <usize>columnOffset(j + c, 1, op.cBlock, op.cBlockStride) * 4;
              for (let r = 0; r < rows; r++) {
                const dst = at + <usize>r * ldcBytes;
                let v = load<f32>(tile + <usize>(r * NR + c) * 4);
                if (add) v += load<f32>(dst);
                if (relu) v = max(v, 0);
                store<f32>(dst, v);
              }
            }
          }
        }
      }
    }
  }
}

/**
 * C[m x n] (row stride ldc) = A[m x k] @ B[k x n] for one matrix, on the calling thread (for
 * kernels that run their own GEMMs). `scratch` holds gemmScratchBytes() bytes private to it.
 */
export function gemm(a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32, c: usize, ldc: i32, m: i32, n: i32, k: i32, scratch: usize): void {
  const op = changetype<Op>(scratch + <usize>(gemmScratchBytes() - OP_BYTES));
  op.a = a; op.ars = ars; op.acs = acs;
  op.b = b; op.brs = brs; op.bcs = bcs; op.bBlock = max(n, 1); op.bBlockStride = 0;
  op.c = c; op.ldc = ldc; op.cBlock = max(n, 1); op.cBlockStride = 0;
  op.bias = 0; op.biasMode = 0; op.relu = false; op.accumulate = false;
  op.k = k;
  op.packedB = 0;
  gemmOp(op, m, 0, n, scratch);
}

/**
 * C = A[m x k] @ B[k x n] (+ bias[i] on row i when `biasRows` is not 0) on the calling thread,
 * C's columns blocked as in `matmul` (block = n for none). For kernels that run their own GEMMs.
 */
export function gemmBlocked(a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32, c: usize, ldc: i32, cBlock: i32, cBlockStride: i32, m: i32, n: i32, k: i32, biasRows: usize, scratch: usize): void {
  const op = changetype<Op>(scratch + <usize>(gemmScratchBytes() - OP_BYTES));
  op.a = a; op.ars = ars; op.acs = acs;
  op.b = b; op.brs = brs; op.bcs = bcs; op.bBlock = max(n, 1); op.bBlockStride = 0;
  op.c = c; op.ldc = ldc; op.cBlock = max(cBlock, 1); op.cBlockStride = cBlockStride;
  op.bias = biasRows; op.biasMode = biasRows != 0 ? BIAS_ROWS : 0; op.relu = false; op.accumulate = false;
  op.k = k;
  op.packedB = 0;
  gemmOp(op, m, 0, n, scratch);
}

/**
 * Batched GEMM, one thread's share. `args` points at i32 fields (pointers in bytes, strides in
 * elements):
 *   0 a, 1 aBatchStride, 2 aRowStride, 3 aColStride,
 *   4 b, 5 bBatchStride, 6 bRowStride, 7 bColStride, 8 bColBlock, 9 bColBlockStride,
 *   10 c, 11 cBatchStride, 12 cRowStride, 13 cColBlock, 14 cColBlockStride,
 *   15 batch, 16 m, 17 n, 18 k, 19 scratch,
 *   20 bias, 21 biasMode (0 none, 1 rows, 2 columns), 22 biasBatchStride, 23 flags (1 ReLU, 2 accumulate),
 *   24 packedB (B in panels from gemmPackB, shared by every matrix of the batch; 0: pack B here).
 * Unblocked columns use block = n. Many matrices are shared out whole; otherwise each matrix is
 * cut along its longer side into tile-aligned strips.
 */
export function matmul(args: usize, tid: i32, nthreads: i32): void {
  const scratch = <usize>load<u32>(args, 76) + <usize>tid * <usize>gemmScratchBytes();
  const op = changetype<Op>(scratch + <usize>(gemmScratchBytes() - OP_BYTES));
  const a = <usize>load<u32>(args);
  const asb = load<i32>(args, 4);
  op.ars = load<i32>(args, 8); op.acs = load<i32>(args, 12);
  const b = <usize>load<u32>(args, 16);
  const bsb = load<i32>(args, 20);
  op.brs = load<i32>(args, 24); op.bcs = load<i32>(args, 28); op.bBlock = load<i32>(args, 32); op.bBlockStride = load<i32>(args, 36);
  const c = <usize>load<u32>(args, 40);
  const csb = load<i32>(args, 44);
  op.ldc = load<i32>(args, 48); op.cBlock = load<i32>(args, 52); op.cBlockStride = load<i32>(args, 56);
  const batch = load<i32>(args, 60), m = load<i32>(args, 64), n = load<i32>(args, 68);
  op.k = load<i32>(args, 72);
  const bias = <usize>load<u32>(args, 80);
  op.biasMode = bias == 0 ? 0 : load<i32>(args, 84);
  const biasSb = load<i32>(args, 88);
  const flags = load<i32>(args, 92);
  op.packedB = <usize>load<u32>(args, 96);
  op.relu = (flags & FLAG_RELU) != 0;
  op.accumulate = (flags & FLAG_ACCUMULATE) != 0;
  if (op.bBlock <= 0) op.bBlock = max(n, 1);
  if (op.cBlock <= 0) op.cBlock = max(n, 1);
  const whole = nthreads == 1 || (batch % nthreads == 0 && batch >= nthreads) || batch >= 4 * nthreads;
  for (let q = whole ? tid : 0; q < batch; q += whole ? nthreads : 1) {
    const aq = a + <usize>(q * asb) * 4;
    const cq = c + <usize>(q * csb) * 4;
    const biasq = bias + <usize>(q * biasSb) * 4;
    op.b = b + <usize>(q * bsb) * 4;
    op.bias = biasq;
    if (whole) {
      op.a = aq;
      op.c = cq;
      gemmOp(op, m, 0, n, scratch);
    } else if (m >= n) {
      const per = ((m + MR - 1) / MR + nthreads - 1) / nthreads * MR;
      const i0 = tid * per;
      const rows = min(per, m - i0);
      if (rows <= 0) continue;
      op.a = aq + <usize>(i0 * op.ars) * 4;
      op.c = cq + <usize>(i0 * op.ldc) * 4;
      if (op.biasMode == BIAS_ROWS) op.bias = biasq + <usize>i0 * 4;
      gemmOp(op, rows, 0, n, scratch);
    } else {
      const per = ((n + NR - 1) / NR + nthreads - 1) / nthreads * NR;
      const j0 = tid * per;
      const cols = min(per, n - j0);
      if (cols <= 0) continue;
      op.a = aq;
      op.c = cq;
      gemmOp(op, m, j0, j0 + cols, scratch);
    }
  }
}

/** Bytes gemmPackB needs for a [k, n] B. */
export function gemmPackedBBytes(n: i32, k: i32): i32 {
  return ((n + NR - 1) / NR) * NR * max(k, 1) * 4;
}

/**
 * Packs matrix 0 of the B described by `args` (as for `matmul`) into `dst`, once, as NR-wide
 * panels spanning all of K, so a GEMM repeated with the same B (a recurrence's weight, every
 * time step) skips packing it; `matmul` uses them when field 24 points at them.
 */
export function gemmPackB(args: usize, dst: usize): void {
  const n = load<i32>(args, 68), k = load<i32>(args, 72);
  let block = load<i32>(args, 32);
  if (block <= 0) block = max(n, 1);
  packB(<usize>load<u32>(args, 16), load<i32>(args, 24), load<i32>(args, 28), block, load<i32>(args, 36), k, 0, n, dst);
}

/**
 * Packs columns [j0, j0 + nc) of B [k, n] (element strides rs, cs) into `dst` as NR-wide panels
 * spanning all of K (the last one zero-padded), the layout `gemmPrepackedColumns` reads, for a
 * caller that orders or fills the panels itself.
 */
export function gemmPackColumns(b: usize, rs: i32, cs: i32, k: i32, j0: i32, nc: i32, dst: usize): void {
  packB(b, rs, cs, j0 + nc, 0, k, j0, nc, dst);
}

/**
 * Columns [j0, j1) of C (row stride ldc) = A [m, k] (element strides ars, acs) @ B, or += when
 * `accumulate`, on the calling thread, with B already in panels spanning all of K (panel j / NR
 * at packed + (j / NR) * k * NR floats, from gemmPackB or gemmPackColumns). j0 is a multiple of NR.
 * `scratch` holds gemmScratchBytes() bytes private to the calling thread.
 */
export function gemmPrepackedColumns(a: usize, ars: i32, acs: i32, packed: usize, k: i32, c: usize, ldc: i32, m: i32, j0: i32, j1: i32, accumulate: bool, scratch: usize): void {
  const op = changetype<Op>(scratch + <usize>(gemmScratchBytes() - OP_BYTES));
  op.a = a; op.ars = ars; op.acs = acs;
  op.b = 0; op.brs = 0; op.bcs = 0; op.bBlock = max(j1, 1); op.bBlockStride = 0;
  op.c = c; op.ldc = ldc; op.cBlock = max(j1, 1); op.cBlockStride = 0;
  op.bias = 0; op.biasMode = 0; op.relu = false; op.accumulate = accumulate;
  op.k = k;
  op.packedB = packed;
  gemmOp(op, m, j0, j1, scratch);
}

/**
 * gemmBlocked with B already in panels spanning all of K (panel j / NR at packed + (j / NR) * k
 * * NR floats), for kernels that pack B themselves (a convolution's im2col written straight into
 * panels): C = A @ B (+ bias[i] on row i).
 */
export function gemmBlockedPrepacked(a: usize, ars: i32, acs: i32, packed: usize, c: usize, ldc: i32, cBlock: i32, cBlockStride: i32, m: i32, n: i32, k: i32, biasRows: usize, scratch: usize): void {
  const op = changetype<Op>(scratch + <usize>(gemmScratchBytes() - OP_BYTES));
  op.a = a; op.ars = ars; op.acs = acs;
  op.b = 0; op.brs = 0; op.bcs = 0; op.bBlock = max(n, 1); op.bBlockStride = 0;
  op.c = c; op.ldc = ldc; op.cBlock = max(cBlock, 1); op.cBlockStride = cBlockStride;
  op.bias = biasRows; op.biasMode = biasRows != 0 ? BIAS_ROWS : 0; op.relu = false; op.accumulate = false;
  op.k = k;
  op.packedB = packed;
  gemmOp(op, m, 0, n, scratch);
}

/** Packs rows [0, m) x columns [0, k) of A (element strides rs, cs) into MR-row panels (panel i / MR at dst + (i / MR) * k * MR floats), for kernels that run their own tile loop. */
export function gemmPackRows(a: usize, rs: i32, cs: i32, m: i32, k: i32, dst: usize): void {
  packA(a, rs, cs, m, k, dst);
}

/** One MR x NR tile of A @ B from packed panels (gemmPackRows, gemmPackColumns) over k steps, into `tile` (MR rows of NR floats). */
export function gemmTile(k: i32, packedRows: usize, packedColumns: usize, tile: usize): void {
  micro(k, packedRows, packedColumns, tile, NR * 4, false, false, 0, 0);
}

/** gemmTile added into C (row stride ld bytes) instead: C += A @ B for one whole tile. */
export function gemmTileAdd(k: i32, packedRows: usize, packedColumns: usize, c: usize, ld: usize): void {
  micro(k, packedRows, packedColumns, c, ld, true, false, 0, 0);
}

/** The transpose of a 4x4 block (rows r0..r3), row i of it stored at dst + i * stride bytes, for kernels that pack panels themselves. */
// @ts-ignore: decorator
@inline export function gemmTranspose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  transpose4(r0, r1, r2, r3, dst, stride);
}
