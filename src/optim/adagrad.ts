import { fail } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { effectiveGradient, f, readElements, stateElements, stateLike, updateElements } from "./elements.js";
import { Optimizer, stripUndefined, type ParamGroup, type ParamGroupSpec, type Params } from "./optimizer.js";

export interface AdagradHyperParams {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}
export type AdagradOptions = Partial<AdagradHyperParams>;

/** sum += g^2; param -= clr * g / (sqrt(sum) + eps), with PyTorch's float32 temporaries. */
function adagradStep(p: Float32Array, sum: Float32Array, g: Float32Array, clr: number, eps: number): void {
  const e = f(eps);
  const negLr = f(-clr);
  for (let i = 0; i < p.length; i++) {
    sum[i] += f(g[i] * g[i]);
    const std = f(f(Math.sqrt(sum[i])) + e);
    p[i] += f(f(negLr * g[i]) / std);
  }
}

/**
 * Adagrad (Duchi et al.): each coordinate's step is divided by the root of its accumulated
 * squared gradients; `lrDecay` shrinks the rate as `lr / (1 + (t - 1) * lrDecay)`. As in
 * PyTorch, the accumulator state exists from construction on.
 */
export class Adagrad extends Optimizer<AdagradHyperParams> {
  constructor(params: Params<AdagradHyperParams>, options: AdagradOptions = {}) {
    super(params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false, ...stripUndefined(options) });
  }

  override addParamGroup(spec: ParamGroupSpec<AdagradHyperParams>): void {
    super.addParamGroup(spec);
    const group = this.paramGroups[this.paramGroups.length - 1];
    for (const param of group.params) this.stateOf(param, () => this.initialState(param, group));
  }

  private initialState(param: Tensor, group: ParamGroup<AdagradHyperParams>) {
    return { step: 0, sum: stateLike(param, group.initialAccumulatorValue) };
  }

  protected override validateGroup(group: ParamGroup<AdagradHyperParams>): void {
    if (!(group.lr >= 0)) fail("Adagrad", `invalid learning rate: ${group.lr}`);
    if (!(group.lrDecay >= 0)) fail("Adagrad", `invalid lrDecay value: ${group.lrDecay}`);
    if (!(group.weightDecay >= 0)) fail("Adagrad", `invalid weightDecay value: ${group.weightDecay}`);
    if (!(group.initialAccumulatorValue >= 0)) fail("Adagrad", `invalid initialAccumulatorValue value: ${group.initialAccumulatorValue}`);
    if (!(group.eps >= 0)) fail("Adagrad", `invalid epsilon value: ${group.eps}`);
  }

  step(closure?: () => Tensor | number): Tensor | number | undefined {
    const loss = this.evaluate(closure);
    for (const group of this.paramGroups) {
      const { lr, lrDecay, weightDecay, eps, maximize } = group;
      for (const [param, grad] of this.paramsWithGrad(group)) {
        const state = this.stateOf(param, () => this.initialState(param, group));
        const step = (state.step as number) + 1;
        state.step = step;
        const clr = lr / (1 + (step - 1) * lrDecay);
        const g = readElements(grad);
        const sum = stateElements(state.sum as Tensor);
        updateElements(param, (p) => adagradStep(p, sum, effectiveGradient(g, p, maximize, weightDecay), clr, eps));
      }
    }
    return loss;
  }
}
