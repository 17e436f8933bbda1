import type { AdamUpdate, SgdMomentumUpdate } from "../backend.js";

// The reference optimizer loops (the wasm kernels in kernels/optim.ts give the same bits). They
// compute in double and round to float32 (Math.fround, or the store into a Float32Array) where
// PyTorch materialises a float32 value; `a + c * g` with an unrounded product mirrors PyTorch's
// fused add with alpha (see src/optim/elements.ts). Adam's loops are bound by the double divisions
// and square root, not memory: one fused pass measured ~7% slower than these two. The hot loops
// take their operands as arguments (destructured from the update object they ran ~50% slower).

const f = Math.fround;

export function adamUpdate(u: AdamUpdate): void {
  const { param: p, expAvg: m, expAvgSq: v } = u;
  // AdamW's decay first, as PyTorch does (param.mul_(1 - lr * weight_decay)).
  if (u.decay !== 1) decayParameter(p, u.decay);
  updateMoments(m, v, u.grad, u.beta1, u.beta2, u.oneMinusBeta1, u.oneMinusBeta2);
  adamStep(p, m, v, u.biasCorrection2Sqrt, u.eps, u.negStepSize);
}

export function decayParameter(p: Float32Array, decay: number): void {
  for (let i = 0; i < p.length; i++) p[i] *= decay;
}

// exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
export function updateMoments(m: Float32Array, v: Float32Array, g: Float32Array, beta1: number, beta2: number, c1: number, c2: number): void {
  for (let i = 0; i < m.length; i++) {
    const gi = g[i];
    m[i] = f(m[i] * beta1) + c1 * gi;
    v[i] = f(v[i] * beta2) + f(f(c2 * gi) * gi);
  }
}

// param.addcdiv_(exp_avg, exp_avg_sq.sqrt() / bias_correction2_sqrt + eps, value=-step_size)
export function adamStep(p: Float32Array, m: Float32Array, v: Float32Array, bc2: number, eps: number, negStep: number): void {
  for (let i = 0; i < p.length; i++) {
    const denom = f(f(f(Math.sqrt(v[i])) / bc2) + eps);
    p[i] += f(f(negStep * m[i]) / denom);
  }
}

export function sgdMomentumUpdate(u: SgdMomentumUpdate): void {
  if (u.nesterov) nesterovMomentum(u.param, u.grad, u.buffer, u.momentum, u.keep, u.negLr);
  else heavyBallMomentum(u.param, u.grad, u.buffer, u.momentum, u.keep, u.negLr);
}

function heavyBallMomentum(p: Float32Array, d: Float32Array, buf: Float32Array, momentum: number, keep: number, negLr: number): void {
  for (let i = 0; i < p.length; i++) {
    const b = f(f(buf[i] * momentum) + keep * d[i]);
    buf[i] = b;
    p[i] += negLr * b;
  }
}

function nesterovMomentum(p: Float32Array, d: Float32Array, buf: Float32Array, momentum: number, keep: number, negLr: number): void {
  for (let i = 0; i < p.length; i++) {
    const b = f(f(buf[i] * momentum) + keep * d[i]);
    buf[i] = b;
    p[i] += negLr * f(d[i] + momentum * b);
  }
}
