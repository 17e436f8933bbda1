import { fail } from "../core/errors.js";
import { Tensor } from "../tensor/tensor.js";
import { effectiveGradient, f, readElements, stateElements, stateLike, updateElements } from "./elements.js";
import { Optimizer, stripUndefined, type ParamGroup, type Params } from "./optimizer.js";

export interface AdamHyperParams {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}
export type AdamOptions = Partial<AdamHyperParams>;

/**
 * Adam and AdamW share one update; they differ only in how weight decay enters: Adam adds
 * `weightDecay * param` to the gradient (L2), AdamW shrinks the parameter by `lr * weightDecay`
 * before the update (decoupled, Loshchilov & Hutter).
 */
abstract class AdamBase extends Optimizer<AdamHyperParams> {
  protected abstract readonly decoupledWeightDecay: boolean;

  protected override validateGroup(group: ParamGroup<AdamHyperParams>): void {
    const [beta1, beta2] = group.betas ?? [];
    if (!(group.lr >= 0)) fail(this.name, `invalid learning rate: ${group.lr}`);
    if (!(group.eps >= 0)) fail(this.name, `invalid epsilon value: ${group.eps}`);
    if (!(beta1 >= 0 && beta1 < 1)) fail(this.name, `invalid beta parameter at index 0: ${beta1}`);
    if (!(beta2 >= 0 && beta2 < 1)) fail(this.name, `invalid beta parameter at index 1: ${beta2}`);
    if (!(group.weightDecay >= 0)) fail(this.name, `invalid weightDecay value: ${group.weightDecay}`);
  }

  step(closure?: () => Tensor | number): Tensor | number | undefined {
    const loss = this.evaluate(closure);
    for (const group of this.paramGroups) {
      const { lr, eps, weightDecay, amsgrad, maximize } = group;
      const [beta1, beta2] = group.betas;
      const decoupled = this.decoupledWeightDecay;
      for (const [param, grad] of this.paramsWithGrad(group)) {
        const state = this.stateOf(param, () => ({
          step: 0,
          exp_avg: stateLike(param),
          exp_avg_sq: stateLike(param),
          ...(amsgrad ? { max_exp_avg_sq: stateLike(param) } : {}),
        }));
        // amsgrad may be switched on after the state was created.
        if (amsgrad && !(state.max_exp_avg_sq instanceof Tensor)) state.max_exp_avg_sq = stateLike(param);
        const step = (state.step as number) + 1;
        state.step = step;
        // PyTorch's scalar arithmetic, in double precision, in the same order.
        const stepSize = lr / (1 - beta1 ** step);
        const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
        const decay = 1 - lr * weightDecay;
        const g = readElements(grad);
        const m = stateElements(state.exp_avg as Tensor);
        const v = stateElements(state.exp_avg_sq as Tensor);
        const vMax = amsgrad ? stateElements(state.max_exp_avg_sq as Tensor) : null;
        updateElements(param, (p) => {
          if (decoupled && weightDecay !== 0) decayParameter(p, decay);
          const gi = effectiveGradient(g, p, maximize, decoupled ? 0 : weightDecay);
          updateMoments(m, v, gi, beta1, beta2);
          if (vMax !== null) {
            runningMax(vMax, v);
            adamStep(p, m, vMax, stepSize, biasCorrection2Sqrt, eps);
          } else {
            adamStep(p, m, v, stepSize, biasCorrection2Sqrt, eps);
          }
        });
      }
    }
    return loss;
  }
}

// The update loops, split so that each stays branch-free.

function decayParameter(p: Float32Array, decay: number): void {
  const factor = f(decay);
  for (let i = 0; i < p.length; i++) p[i] *= factor;
}

function updateMoments(m: Float32Array, v: Float32Array, g: Float32Array, beta1: number, beta2: number): void {
  const b1 = f(beta1);
  const b2 = f(beta2);
  const c1 = f(1 - beta1);
  const c2 = f(1 - beta2);
  for (let i = 0; i < m.length; i++) {
    const gi = g[i];
    // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    m[i] = f(m[i] * b1) + c1 * gi;
    v[i] = f(v[i] * b2) + f(f(c2 * gi) * gi);
  }
}

function runningMax(vMax: Float32Array, v: Float32Array): void {
  for (let i = 0; i < v.length; i++) vMax[i] = Math.max(vMax[i], v[i]);
}

/** param -= stepSize * m / (sqrt(v) / sqrt(1 - beta2^t) + eps), with PyTorch's float32 temporaries. */
function adamStep(p: Float32Array, m: Float32Array, v: Float32Array, stepSize: number, biasCorrection2Sqrt: number, eps: number): void {
  const bc2 = f(biasCorrection2Sqrt);
  const e = f(eps);
  const negStep = f(-stepSize);
  for (let i = 0; i < p.length; i++) {
    const denom = f(f(f(Math.sqrt(v[i])) / bc2) + e);
    p[i] += f(f(negStep * m[i]) / denom);
  }
}

/**
 * Adam (Kingma & Ba) with PyTorch's bias correction and eps placement:
 * `param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)`.
 *
 *   const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
 */
export class Adam extends AdamBase {
  protected readonly decoupledWeightDecay = false;
  constructor(params: Params<AdamHyperParams>, options: AdamOptions = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...stripUndefined(options) });
  }
}

/** AdamW: Adam with decoupled weight decay (default 1e-2), as in PyTorch. */
export class AdamW extends AdamBase {
  protected readonly decoupledWeightDecay = true;
  constructor(params: Params<AdamHyperParams>, options: AdamOptions = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...stripUndefined(options) });
  }
}
