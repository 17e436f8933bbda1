import type { ClassCrossEntropy, ClassCrossEntropyForward } from "../backend.js";

// The reference cross-entropy loops (kernels/loss.ts is the wasm version), in double. The forward
// pass keeps, per position, the shift (the max logit) and 1 / sum(exp(x - shift)); the backward
// pass recomputes softmax = exp(x - shift) * that, so no second [positions, classes] array lives
// between the two passes.

export function crossEntropyForward(problem: ClassCrossEntropy): ClassCrossEntropyForward {
  const { logits, labels, classWeight, outer, classes, inner, ignoreIndex, smoothing } = problem;
  const positions = outer * inner;
  const losses = new Float64Array(positions);
  const rowStats = new Float64Array(2 * positions);
  const weightSum = classWeightSum(problem);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const pos = o * inner + k;
      const label = labels[pos];
      if (label === ignoreIndex) continue;
      const base = o * classes * inner + k;
      let max = -Infinity;
      for (let c = 0; c < classes; c++) max = Math.max(max, logits[base + c * inner]);
      const shift = max === -Infinity || max === Infinity ? 0 : max;
      let sumExp = 0;
      for (let c = 0; c < classes; c++) sumExp += Math.exp(logits[base + c * inner] - shift);
      const logSumExp = shift + Math.log(sumExp);
      rowStats[2 * pos] = shift;
      rowStats[2 * pos + 1] = 1 / sumExp;
      let loss = -(classWeight === null ? 1 : classWeight[label]) * (logits[base + label * inner] - logSumExp);
      if (smoothing > 0) {
        // -sum_c w[c] (x[c] - lse) = lse * sum(w) - sum_c w[c] x[c]
        let dot = 0;
        for (let c = 0; c < classes; c++) dot += (classWeight === null ? 1 : classWeight[c]) * logits[base + c * inner];
        loss = (1 - smoothing) * loss + (smoothing / classes) * (logSumExp * weightSum - dot);
      }
      losses[pos] = loss;
    }
  }
  return { losses, rowStats };
}

export function crossEntropyBackward(problem: ClassCrossEntropy, rowStats: Float64Array, rowGrad: Float64Array): Float32Array {
  const { logits, labels, classWeight, outer, classes, inner, ignoreIndex, smoothing } = problem;
  const grad = new Float32Array(outer * classes * inner);
  const weightSum = classWeightSum(problem);
  const uniformScale = smoothing / classes;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const pos = o * inner + k;
      const label = labels[pos];
      if (label === ignoreIndex) continue;
      const g = rowGrad[pos];
      const shift = rowStats[2 * pos];
      const inverseSum = rowStats[2 * pos + 1];
      const base = o * classes * inner + k;
      const nllScale = (1 - smoothing) * (classWeight === null ? 1 : classWeight[label]);
      for (let c = 0; c < classes; c++) {
        const p = Math.exp(logits[base + c * inner] - shift) * inverseSum;
        let d = nllScale * (p - (c === label ? 1 : 0));
        if (smoothing > 0) d += uniformScale * (weightSum * p - (classWeight === null ? 1 : classWeight[c]));
        grad[base + c * inner] = g * d;
      }
    }
  }
  return grad;
}

/** The sum of the class weights (the class count without weights), in double. */
export function classWeightSum(problem: ClassCrossEntropy): number {
  const w = problem.classWeight;
  if (w === null) return problem.classes;
  let sum = 0;
  for (let c = 0; c < w.length; c++) sum += w[c];
  return sum;
}
