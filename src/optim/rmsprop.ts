import { fail } from "../core/errors.js";
import { Tensor } from "../tensor/tensor.js";
import { effectiveGradient, f, readElements, stateElements, stateLike, updateElements } from "./elements.js";
import { Optimizer, stripUndefined, type ParamGroup, type Params } from "./optimizer.js";

export interface RMSpropHyperParams {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}
export type RMSpropOptions = Partial<RMSpropHyperParams>;

let avgScratch = new Float32Array(0);

/**
 * Updates the running averages and returns sqrt(E[g^2] - E[g]^2 if centered) + eps per element
 * in a scratch buffer (PyTorch's `avg` temporary, float32).
 */
function rootMeanSquare(squareAvg: Float32Array, gradAvg: Float32Array | null, g: Float32Array, alpha: number, eps: number): Float32Array {
  if (avgScratch.length < g.length) avgScratch = new Float32Array(g.length);
  const avg = avgScratch.subarray(0, g.length);
  const a = f(alpha);
  const c = f(1 - alpha);
  const e = f(eps);
  // square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
  for (let i = 0; i < g.length; i++) squareAvg[i] = f(squareAvg[i] * a) + f(f(c * g[i]) * g[i]);
  if (gradAvg === null) {
    for (let i = 0; i < g.length; i++) avg[i] = f(Math.sqrt(squareAvg[i])) + e;
  } else {
    for (let i = 0; i < g.length; i++) {
      // grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha); square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
      gradAvg[i] = f(gradAvg[i] * a) + c * g[i];
      avg[i] = f(Math.sqrt(f(squareAvg[i] - f(gradAvg[i] * gradAvg[i])))) + e;
    }
  }
  return avg;
}

function momentumStep(p: Float32Array, buf: Float32Array, g: Float32Array, avg: Float32Array, lr: number, momentum: number): void {
  const m = f(momentum);
  const negLr = f(-lr);
  for (let i = 0; i < p.length; i++) {
    buf[i] = f(buf[i] * m) + f(g[i] / avg[i]);
    p[i] += negLr * buf[i];
  }
}

function plainStep(p: Float32Array, g: Float32Array, avg: Float32Array, lr: number): void {
  const negLr = f(-lr);
  for (let i = 0; i < p.length; i++) p[i] += f(f(negLr * g[i]) / avg[i]);
}

/**
 * RMSprop (Hinton): divides the gradient by a running root-mean-square of recent gradients,
 * with eps added outside the square root (PyTorch's placement); `centered` subtracts the squared
 * running mean of the gradient first; `momentum` keeps a buffer of the scaled steps.
 */
export class RMSprop extends Optimizer<RMSpropHyperParams> {
  constructor(params: Params<RMSpropHyperParams>, options: RMSpropOptions = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, ...stripUndefined(options) });
  }

  protected override validateGroup(group: ParamGroup<RMSpropHyperParams>): void {
    if (!(group.lr >= 0)) fail("RMSprop", `invalid learning rate: ${group.lr}`);
    if (!(group.eps >= 0)) fail("RMSprop", `invalid epsilon value: ${group.eps}`);
    if (!(group.momentum >= 0)) fail("RMSprop", `invalid momentum value: ${group.momentum}`);
    if (!(group.weightDecay >= 0)) fail("RMSprop", `invalid weightDecay value: ${group.weightDecay}`);
    if (!(group.alpha >= 0)) fail("RMSprop", `invalid alpha value: ${group.alpha}`);
  }

  step(closure?: () => Tensor | number): Tensor | number | undefined {
    const loss = this.evaluate(closure);
    for (const group of this.paramGroups) {
      const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = group;
      for (const [param, grad] of this.paramsWithGrad(group)) {
        const state = this.stateOf(param, () => ({ step: 0, square_avg: stateLike(param) }));
        if (momentum > 0 && !(state.momentum_buffer instanceof Tensor)) state.momentum_buffer = stateLike(param);
        if (centered && !(state.grad_avg instanceof Tensor)) state.grad_avg = stateLike(param);
        state.step = (state.step as number) + 1;
        const g = readElements(grad);
        const squareAvg = stateElements(state.square_avg as Tensor);
        const gradAvg = centered ? stateElements(state.grad_avg as Tensor) : null;
        const buf = momentum > 0 ? stateElements(state.momentum_buffer as Tensor) : null;
        updateElements(param, (p) => {
          const gi = effectiveGradient(g, p, maximize, weightDecay);
          const avg = rootMeanSquare(squareAvg, gradAvg, gi, alpha, eps);
          if (buf !== null) momentumStep(p, buf, gi, avg, lr, momentum);
          else plainStep(p, gi, avg, lr);
        });
      }
    }
    return loss;
  }
}
