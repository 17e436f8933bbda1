import type { AdditiveAttentionGrads, AdditiveAttentionProblem, AdditiveAttentionResult } from "../backend.js";

// The reference for additive (Bahdanau) attention, one query row at a time, in the order the
// wasm kernel (kernels/additive-attention.ts) computes it.

export function additiveAttention(p: AdditiveAttentionProblem): AdditiveAttentionResult {
  const { batch: N, queries: L, keys: S, hidden: H, valueSize: D } = p;
  const out = new Float32Array(N * L * (D + S));
  const tanh = new Float32Array(N * L * S * H);
  const scores = new Float64Array(S);
  for (let n = 0; n < N; n++) {
    for (let l = 0; l < L; l++) {
      const r = n * L + l;
      let largest = -Infinity;
      for (let s = 0; s < S; s++) {
        let score = 0;
        for (let h = 0; h < H; h++) {
          const t = Math.fround(Math.tanh(p.query[r * H + h] + p.key[(n * S + s) * H + h]));
          tanh[(r * S + s) * H + h] = t;
          score += t * p.v[h];
        }
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
  return { out, tanh };
}

export function additiveAttentionBackward(p: AdditiveAttentionProblem, forward: AdditiveAttentionResult, gradOut: Float32Array): AdditiveAttentionGrads {
  const { batch: N, queries: L, keys: S, hidden: H, valueSize: D } = p;
  const { out, tanh } = forward;
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
          const t = tanh[(r * S + s) * H + h];
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
