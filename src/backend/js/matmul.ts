import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";

// Panel sizes: a KC x NC block of B (64 KiB) stays in L2 while every row of A streams past it.
const KC = 128;
const NC = 128;

/**
 * Batched float32 GEMM, C[b] = A[b] @ B[b]. Operands are packed into contiguous row-major
 * buffers first (so any strides, transposes included, cost one copy), then multiplied in
 * cache blocks, four rows of C at a time so each loaded B element feeds four multiply-adds.
 */
export function matmul(a: Storage, al: Layout, b: Storage, bl: Layout): Float32Array {
  const [batch, m, k] = al.shape;
  const n = bl.shape[2];
  const out = new Float32Array(batch * m * n);
  const packedA = new Float32Array(m * k);
  const packedB = new Float32Array(k * n);
  for (let p = 0; p < batch; p++) {
    pack(a, al.offset + p * al.strides[0], m, k, al.strides[1], al.strides[2], packedA);
    pack(b, bl.offset + p * bl.strides[0], k, n, bl.strides[1], bl.strides[2], packedB);
    gemm(packedA, packedB, out, p * m * n, m, k, n);
  }
  return out;
}

function pack(src: Storage, offset: number, rows: number, cols: number, rowStride: number, colStride: number, dst: Float32Array): void {
  if (colStride === 1 && rowStride === cols) {
    dst.set(src.subarray(offset, offset + rows * cols) as Float32Array);
    return;
  }
  let i = 0;
  for (let r = 0; r < rows; r++) {
    let s = offset + r * rowStride;
    for (let c = 0; c < cols; c++, s += colStride) dst[i++] = src[s];
  }
}

function gemm(A: Float32Array, B: Float32Array, C: Float32Array, cOffset: number, m: number, k: number, n: number): void {
  for (let j0 = 0; j0 < n; j0 += NC) {
    const j1 = Math.min(j0 + NC, n);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const p1 = Math.min(p0 + KC, k);
      let i = 0;
      for (; i + 4 <= m; i += 4) {
        const c0 = cOffset + i * n;
        const c1 = c0 + n;
        const c2 = c1 + n;
        const c3 = c2 + n;
        for (let p = p0; p < p1; p++) {
          const a0 = A[i * k + p];
          const a1 = A[(i + 1) * k + p];
          const a2 = A[(i + 2) * k + p];
          const a3 = A[(i + 3) * k + p];
          const bRow = p * n;
          for (let j = j0; j < j1; j++) {
            const bv = B[bRow + j];
            C[c0 + j] += a0 * bv;
            C[c1 + j] += a1 * bv;
            C[c2 + j] += a2 * bv;
            C[c3 + j] += a3 * bv;
          }
        }
      }
      for (; i < m; i++) {
        const c0 = cOffset + i * n;
        for (let p = p0; p < p1; p++) {
          const a0 = A[i * k + p];
          const bRow = p * n;
          for (let j = j0; j < j1; j++) C[c0 + j] += a0 * B[bRow + j];
        }
      }
    }
  }
}
