import type { AdamUpdate } from "../backend/backend.js";
import { adamStep, decayParameter, updateMoments } from "../backend/js/optim.js";
import { backend } from "../backend/registry.js";
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
        const g = readElements(grad);
        const m = stateElements(state.exp_avg as Tensor);
        const v = stateElements(state.exp_avg_sq as Tensor);
        const vMax = amsgrad ? stateElements(state.max_exp_avg_sq as Tensor) : null;
        updateElements(param, (p) => {
          const update: AdamUpdate = {
            param: p, grad: effectiveGradient(g, p, maximize, decoupled ? 0 : weightDecay), expAvg: m, expAvgSq: v,
            beta1: f(beta1), beta2: f(beta2), oneMinusBeta1: f(1 - beta1), oneMinusBeta2: f(1 - beta2),
            biasCorrection2Sqrt: f(biasCorrection2Sqrt), eps: f(eps), negStepSize: f(-stepSize),
            // p * 1 is p exactly, so Adam passes 1.
            decay: decoupled ? f(1 - lr * weightDecay) : 1,
          };
          if (vMax === null) backend().adamUpdate(update);
          else amsgradUpdate(update, vMax);
        });
      }
    }
    return loss;
  }
}

/** AMSGrad: Adam's update with the running maximum of exp_avg_sq in the denominator (JS loops only). */
function amsgradUpdate(u: AdamUpdate, vMax: Float32Array): void {
  if (u.decay !== 1) decayParameter(u.param, u.decay);
  updateMoments(u.expAvg, u.expAvgSq, u.grad, u.beta1, u.beta2, u.oneMinusBeta1, u.oneMinusBeta2);
  for (let i = 0; i < vMax.length; i++) vMax[i] = Math.max(vMax[i], u.expAvgSq[i]);
  adamStep(u.param, u.expAvg, vMax, u.biasCorrection2Sqrt, u.eps, u.negStepSize);
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
