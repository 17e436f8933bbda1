import type { AdditiveAttentionGrads, AdditiveAttentionProblem } from "../backend.js";

// The reference for additive (Bahdanau) attention, one query row at a time, in the order the
// wasm kernel (kernels/additive-attention.ts) computes it; the backward recomputes the tanh.

function tanhOf(p: AdditiveAttentionProblem, r: number, n: number, s: number, h: number): number {
  return Math.fround(Math.tanh(p.query[r * p.hidden + h] + p.key[(n * p.keys + s) * p.hidden + h]));
}

export function additiveAttention(p: AdditiveAttentionProblem): Float32Array {
  const { batch: N, queries: L, keys: S, hidden: H, valueSize: D } = p;
  const out = new Float32Array(N * L * (D + S));
  const scores = new Float64Array(S);
  for (let n = 0; n < N; n++) {
    for (let l = 0; l < L; l++) {
      const r = n * L + l;
      let largest = -Infinity;
      for (let s = 0; s < S; s++) {
        let score = 0;
        for (let h = 0; h < H; h++) score += tanhOf(p, r, n, s, h) * p.v[h];
        if (p.mask !== null && p.mask[n * S + s] !== 0) score = -Infinity;
        scores[s] = score;
        largest = Math.max(largest, score);
      }
      let total = 0;
      for (let s = 0; s < S; s++) total += scores[s] = Math.exp(scores[s] - largest);
      const row = r * (D + S);
      for (let s = 0; s < S; s++) {
        const w = scores[s] / total;
        out[row + D + s] = w;
        for (let d = 0; d < D; d++) out[row + d] += w * p.values[(n * S + s) * D + d];
      }
    }
  }
  return out;
}

export function additiveAttentionBackward(p: AdditiveAttentionProblem, out: Float32Array, gradOut: Float32Array): AdditiveAttentionGrads {
  const { batch: N, queries: L, keys: S, hidden: H, valueSize: D } = p;
  const grads = { query: new Float32Array(N * L * H), key: new Float32Array(N * S * H), v: new Float32Array(H), values: new Float32Array(N * S * D) };
  const dWeights = new Float64Array(S);
  for (let n = 0; n < N; n++) {
    for (let l = 0; l < L; l++) {
      const r = n * L + l;
      const row = r * (D + S);
      // d w[s] = given d w[s] + d c . x[s]; d x[s] += w[s] d c.
      let weighted = 0;
      for (let s = 0; s < S; s++) {
        const w = out[row + D + s];
        let dw = gradOut[row + D + s];
        for (let d = 0; d < D; d++) {
          dw += gradOut[row + d] * p.values[(n * S + s) * D + d];
          grads.values[(n * S + s) * D + d] += w * gradOut[row + d];
        }
        dWeights[s] = dw;
        weighted += w * dw;
      }
      // d e[s] = w[s] (d w[s] - sum_j w[j] d w[j]); d t = d e[s] v (1 - t^2), into q, k[s] and v.
      for (let s = 0; s < S; s++) {
        const de = out[row + D + s] * (dWeights[s] - weighted);
        if (de === 0) continue;
        for (let h = 0; h < H; h++) {
          const t = tanhOf(p, r, n, s, h);
          const dt = de * p.v[h] * (1 - t * t);
          grads.query[r * H + h] += dt;
          grads.key[(n * S + s) * H + h] += dt;
          grads.v[h] += de * t;
        }
      }
    }
  }
  return grads;
}
