import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { AttentionGradTarget, AttentionInput, AttentionSpec } from "../backend.js";

/** Matrix (b1, b2) of a [B1, B2, rows, cols] operand, gathered densely (row-major). */
function gather(x: AttentionInput, b1: number, b2: number): Float32Array {
  const [, , rows, cols] = x.layout.shape;
  const [s0, s1, s2, s3] = x.layout.strides;
  const src = x.storage as Storage;
  const out = new Float32Array(rows * cols);
  const base = x.layout.offset + b1 * s0 + b2 * s1;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = src[base + i * s2 + j * s3] as number;
  return out;
}

/** Writes a dense rows x cols matrix as matrix (b1, b2) of `layout` in `dst`. */
function scatter(dst: Float32Array, layout: Layout, b1: number, b2: number, values: Float32Array): void {
  const [, , rows, cols] = layout.shape;
  const [s0, s1, s2, s3] = layout.strides;
  const base = layout.offset + b1 * s0 + b2 * s1;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) dst[base + i * s2 + j * s3] = values[i * cols + j];
}

/** C = A @ B^T for dense A [m, k], B [n, k] (float64 sums, rounded once). */
function matmulNT(a: Float32Array, b: Float32Array, m: number, n: number, k: number): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * k + p] * b[j * k + p];
      c[i * n + j] = sum;
    }
  }
  return c;
}

/** C = A @ B for dense A [m, k], B [k, n] (transposeA: A is given as [k, m]). */
function matmulNN(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transposeA = false): Float32Array {
  const acc = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = transposeA ? a[p * m + i] : a[i * k + p];
      if (aip === 0) continue;
      for (let j = 0; j < n; j++) acc[i * n + j] += aip * b[p * n + j];
    }
  }
  return Float32Array.from(acc);
}

/** The weights softmax(scale * scores + mask) of matrix (b1, b2), in place over dense [L, S] scores. */
function softmaxRows(scores: Float32Array, spec: AttentionSpec, b1: number, b2: number, L: number, S: number): void {
  const mask = spec.mask;
  const m = mask === null ? null : gather(mask, b1, b2);
  for (let i = 0; i < L; i++) {
    const row = i * S;
    let max = -Infinity;
    for (let j = 0; j < S; j++) {
      let x = Math.fround(scores[row + j] * spec.scale);
      if (m !== null) x = Math.fround(x + m[row + j]);
      if (spec.causal && j > i) x = -Infinity;
      scores[row + j] = x;
      // NaN wins, as in the composite's amax.
      if (x > max || Number.isNaN(x)) max = Number.isNaN(max) ? max : x;
    }
    let sum = 0;
    for (let j = 0; j < S; j++) {
      const e = Math.fround(Math.exp(scores[row + j] - max));
      scores[row + j] = e;
      sum += e;
    }
    const total = Math.fround(sum);
    for (let j = 0; j < S; j++) scores[row + j] = scores[row + j] / total;
  }
}

/** The JS reference of Backend.attentionForward: per (b1, b2), dense float64-summed GEMMs and the softmax. */
export function attentionForward(spec: AttentionSpec, outLayout: Layout, save: boolean): { output: Float32Array; weights: Float32Array | null } {
  const [B1, B2, L, E] = spec.q.layout.shape;
  const S = spec.k.layout.shape[2];
  const Ev = spec.v.layout.shape[3];
  const output = new Float32Array(outLayout.size);
  const weights = save ? new Float32Array(B1 * B2 * L * S) : null;
  for (let b1 = 0; b1 < B1; b1++) {
    for (let b2 = 0; b2 < B2; b2++) {
      const p = matmulNT(gather(spec.q, b1, b2), gather(spec.k, b1, b2), L, S, E);
      softmaxRows(p, spec, b1, b2, L, S);
      scatter(output, outLayout, b1, b2, matmulNN(p, gather(spec.v, b1, b2), L, Ev, S));
      weights?.set(p, (b1 * B2 + b2) * L * S);
    }
  }
  return { output, weights };
}

/** The JS reference of Backend.attentionBackward. */
export function attentionBackward(spec: AttentionSpec, weights: Float32Array, gradOutput: AttentionInput, bufferSizes: readonly number[], targets: readonly (AttentionGradTarget | null)[]): Float32Array[] {
  const [B1, B2, L, E] = spec.q.layout.shape;
  const S = spec.k.layout.shape[2];
  const Ev = spec.v.layout.shape[3];
  const buffers = bufferSizes.map((n) => new Float32Array(n));
  const [tq, tk, tv] = targets;
  for (let b1 = 0; b1 < B1; b1++) {
    for (let b2 = 0; b2 < B2; b2++) {
      const p = weights.subarray((b1 * B2 + b2) * L * S, (b1 * B2 + b2 + 1) * L * S);
      const dOut = gather(gradOutput, b1, b2);
      if (tv) scatter(buffers[tv.buffer], tv.layout, b1, b2, matmulNN(p, dOut, S, Ev, L, true));
      if (!tq && !tk) continue;
      // ds = scale * (p * dp - p * sum(p * dp)), dp = dOut v^T.
      const ds = matmulNT(dOut, gather(spec.v, b1, b2), L, S, Ev);
      for (let i = 0; i < L; i++) {
        let dot = 0;
        for (let j = 0; j < S; j++) {
          const t = Math.fround(p[i * S + j] * ds[i * S + j]);
          ds[i * S + j] = t;
          dot += t;
        }
        const total = Math.fround(dot);
        for (let j = 0; j < S; j++) ds[i * S + j] = Math.fround(ds[i * S + j] - Math.fround(p[i * S + j] * total)) * spec.scale;
      }
      if (tq) scatter(buffers[tq.buffer], tq.layout, b1, b2, matmulNN(ds, gather(spec.k, b1, b2), L, E, S));
      if (tk) scatter(buffers[tk.buffer], tk.layout, b1, b2, matmulNN(ds, gather(spec.q, b1, b2), S, E, L, true));
    }
  }
  return buffers;
}
