import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import { copy } from "./elementwise.js";

// Block sizes (in elements). A KC x NC block of B, packed, stays in L2 while MC x KC blocks of
// A stream past it; one MR x KC sliver of A and one KC x NR sliver of B sit in L1 for the
// micro-kernel.
const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;
const NC = 1024;

/**
 * Batched float32 GEMM, C[b] = A[b] @ B[b], the GotoBLAS way: blocks of A and B are packed into
 * contiguous slivers (reading any strides, so transposed operands cost nothing extra), and a 4x4
 * register-blocked micro-kernel keeps 16 sums in local variables, so each k step loads 8 values
 * for 16 multiply-adds instead of re-reading and re-writing rows of C.
 */
export function matmul(a: Storage, al: Layout, b: Storage, bl: Layout, bias?: Storage, biasLayout?: Layout): Float32Array {
  const [batch, m, k] = al.shape;
  const n = bl.shape[2];
  const out = new Float32Array(batch * m * n);
  if (bias !== undefined && biasLayout !== undefined) {
    // The bias starts every row's sum; the micro-kernel adds the products to it.
    const row = copy(bias, biasLayout, "float32");
    for (let r = 0; r < batch * m; r++) out.set(row, r * n);
  }
  if (m === 0 || n === 0 || k === 0) return out;
  const packedA = new Float32Array(roundUp(Math.min(MC, m), MR) * Math.min(KC, k));
  const packedB = new Float32Array(Math.min(KC, k) * roundUp(Math.min(NC, n), NR));
  const [, as1, as2] = al.strides;
  const [, bs1, bs2] = bl.strides;
  for (let p = 0; p < batch; p++) {
    const aBase = al.offset + p * al.strides[0];
    const bBase = bl.offset + p * bl.strides[0];
    const cBase = p * m * n;
    for (let jc = 0; jc < n; jc += NC) {
      const nc = Math.min(NC, n - jc);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        packB(b, bBase + pc * bs1 + jc * bs2, kc, nc, bs1, bs2, packedB);
        for (let ic = 0; ic < m; ic += MC) {
          const mc = Math.min(MC, m - ic);
          packA(a, aBase + ic * as1 + pc * as2, mc, kc, as1, as2, packedA);
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = Math.min(NR, nc - jr);
            for (let ir = 0; ir < mc; ir += MR) {
              const mr = Math.min(MR, mc - ir);
              kernel4x4(kc, packedA, ir * kc, packedB, jr * kc, out, cBase + (ic + ir) * n + jc + jr, n, mr, nr);
            }
          }
        }
      }
    }
  }
  return out;
}

function roundUp(x: number, multiple: number): number {
  return Math.ceil(x / multiple) * multiple;
}

/** Packs rows x cols of A into slivers of MR rows: sliver s holds, for each column p, its MR values (zero-padded). */
function packA(src: Storage, offset: number, rows: number, cols: number, rowStride: number, colStride: number, dst: Float32Array): void {
  let d = 0;
  for (let r0 = 0; r0 < rows; r0 += MR) {
    const height = Math.min(MR, rows - r0);
    for (let p = 0; p < cols; p++) {
      const s = offset + r0 * rowStride + p * colStride;
      for (let r = 0; r < MR; r++) dst[d++] = r < height ? src[s + r * rowStride] : 0;
    }
  }
}

/** Packs rows x cols of B into slivers of NR columns: sliver s holds, for each row p, its NR values (zero-padded). */
function packB(src: Storage, offset: number, rows: number, cols: number, rowStride: number, colStride: number, dst: Float32Array): void {
  let d = 0;
  for (let c0 = 0; c0 < cols; c0 += NR) {
    const width = Math.min(NR, cols - c0);
    for (let p = 0; p < rows; p++) {
      const s = offset + p * rowStride + c0 * colStride;
      if (width === NR && colStride === 1) {
        dst[d] = src[s];
        dst[d + 1] = src[s + 1];
        dst[d + 2] = src[s + 2];
        dst[d + 3] = src[s + 3];
        d += NR;
      } else {
        for (let c = 0; c < NR; c++) dst[d++] = c < width ? src[s + c * colStride] : 0;
      }
    }
  }
}

/** C[0:mr, 0:nr] += A sliver (kc x 4) @ B sliver (kc x 4); the sums live in 16 locals. */
function kernel4x4(kc: number, A: Float32Array, aOff: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number, ldc: number, mr: number, nr: number): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let ai = aOff;
  let bi = bOff;
  for (let p = 0; p < kc; p++, ai += 4, bi += 4) {
    const a0 = A[ai], a1 = A[ai + 1], a2 = A[ai + 2], a3 = A[ai + 3];
    const b0 = B[bi], b1 = B[bi + 1], b2 = B[bi + 2], b3 = B[bi + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (mr === 4 && nr === 4) {
    let c = cOff;
    C[c] += c00; C[c + 1] += c01; C[c + 2] += c02; C[c + 3] += c03; c += ldc;
    C[c] += c10; C[c + 1] += c11; C[c + 2] += c12; C[c + 3] += c13; c += ldc;
    C[c] += c20; C[c + 1] += c21; C[c + 2] += c22; C[c + 3] += c23; c += ldc;
    C[c] += c30; C[c + 1] += c31; C[c + 2] += c32; C[c + 3] += c33;
    return;
  }
  // An edge tile: write only the rows and columns that exist.
  const sums = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let i = 0; i < mr; i++) for (let j = 0; j < nr; j++) C[cOff + i * ldc + j] += sums[i * 4 + j];
}
