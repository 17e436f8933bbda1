import type { LayerNormGrads, LayerNormProblem, LayerNormStats } from "../backend.js";

/**
 * Layer normalization, the reference for every backend: per row, mean and biased variance (sums
 * in doubles), out = (x - mean) * rstd * weight + bias with rstd = 1 / sqrt(var + eps).
 */
export function layerNorm(p: LayerNormProblem): { output: Float32Array; stats: LayerNormStats } {
  const { x, rows, size, weight, bias } = p;
  const output = new Float32Array(rows * size);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = r * size;
    let sum = 0;
    for (let i = 0; i < size; i++) sum += x[at + i];
    const m = Math.fround(sum / size);
    let squares = 0;
    for (let i = 0; i < size; i++) {
      const d = x[at + i] - m;
      squares += d * d;
    }
    const s = Math.fround(1 / Math.sqrt(squares / size + p.eps));
    mean[r] = m;
    rstd[r] = s;
    for (let i = 0; i < size; i++) {
      let v = (x[at + i] - m) * s;
      if (weight !== null) v *= weight[i];
      if (bias !== null) v += bias[i];
      output[at + i] = v;
    }
  }
  return { output, stats: { mean, rstd } };
}

/**
 * Layer norm backward. With xhat = (x - mean) * rstd and gy = g * weight:
 * dx = rstd * (gy - mean(gy) - xhat * mean(gy * xhat)); d(weight) = sum over rows of g * xhat;
 * d(bias) = sum over rows of g.
 */
export function layerNormBackward(p: LayerNormProblem, stats: LayerNormStats, grad: Float32Array, want: { input: boolean; weight: boolean; bias: boolean }): LayerNormGrads {
  const { x, rows, size, weight } = p;
  const input = want.input ? new Float32Array(rows * size) : null;
  const dWeight = want.weight ? new Float64Array(size) : null;
  const dBias = want.bias ? new Float64Array(size) : null;
  for (let r = 0; r < rows; r++) {
    const at = r * size;
    const m = stats.mean[r];
    const s = stats.rstd[r];
    let sumGy = 0;
    let sumGyXhat = 0;
    for (let i = 0; i < size; i++) {
      const g = grad[at + i];
      const xhat = (x[at + i] - m) * s;
      const gy = weight !== null ? g * weight[i] : g;
      sumGy += gy;
      sumGyXhat += gy * xhat;
      if (dWeight !== null) dWeight[i] += g * xhat;
      if (dBias !== null) dBias[i] += g;
    }
    if (input === null) continue;
    const a = sumGy / size;
    const b = sumGyXhat / size;
    for (let i = 0; i < size; i++) {
      const gy = weight !== null ? grad[at + i] * weight[i] : grad[at + i];
      input[at + i] = s * (gy - a - (x[at + i] - m) * s * b);
    }
  }
  return {
    input,
    weight: dWeight === null ? null : Float32Array.from(dWeight),
    bias: dBias === null ? null : Float32Array.from(dBias),
  };
}
