import { backend } from "../backend/registry.js";
import { fail } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { effectiveGradient, f, readElements, stateElements, stateLike, updateElements } from "./elements.js";
import { Optimizer, stripUndefined, type ParamGroup, type Params } from "./optimizer.js";

export interface SGDHyperParams {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}
export type SGDOptions = Partial<SGDHyperParams>;

/**
 * Stochastic gradient descent with optional momentum (heavy-ball or Nesterov), weight decay and
 * dampening: PyTorch's update rule, with the momentum buffer started from the first gradient.
 *
 *   const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer<SGDHyperParams> {
  constructor(params: Params<SGDHyperParams>, options: SGDOptions = {}) {
    // lr has no default, as in PyTorch: every group must get one (here or in the group).
    super(params, { lr: options.lr, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...stripUndefined(options) });
  }

  protected override validateGroup(group: ParamGroup<SGDHyperParams>): void {
    if (!(group.lr >= 0)) fail("SGD", `invalid learning rate: ${group.lr}`);
    if (!(group.momentum >= 0)) fail("SGD", `invalid momentum value: ${group.momentum}`);
    if (!(group.weightDecay >= 0)) fail("SGD", `invalid weightDecay value: ${group.weightDecay}`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) fail("SGD", `Nesterov momentum requires a momentum and zero dampening (got momentum ${group.momentum}, dampening ${group.dampening})`);
  }

  step(closure?: () => Tensor | number): Tensor | number | undefined {
    const loss = this.evaluate(closure);
    for (const group of this.paramGroups) {
      const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
      for (const [param, grad] of this.paramsWithGrad(group)) {
        const state = this.stateOf(param, () => ({ momentum_buffer: null }));
        const isFirst = state.momentum_buffer === null;
        if (momentum !== 0 && isFirst) state.momentum_buffer = stateLike(param);
        const g = readElements(grad);
        const buf = momentum !== 0 ? stateElements(state.momentum_buffer as Tensor) : null;
        updateElements(param, (p) => {
          const d = effectiveGradient(g, p, maximize, weightDecay);
          if (buf === null) plainStep(p, d, lr);
          else if (isFirst) firstMomentumStep(p, d, buf, lr, momentum, nesterov);
          else backend().sgdMomentumUpdate({ param: p, grad: d, buffer: buf, momentum: f(momentum), keep: f(1 - dampening), negLr: f(-lr), nesterov });
        });
      }
    }
    return loss;
  }
}

// The plain and first-momentum loops (later momentum steps are the backend's sgdMomentumUpdate,
// src/backend/js/optim.ts).

// param.add_(d, alpha=-lr) in float32.
function plainStep(p: Float32Array, d: Float32Array, lr: number): void {
  const negLr = f(-lr);
  for (let i = 0; i < p.length; i++) p[i] += negLr * d[i];
}

/** The first momentum step starts the buffer from the gradient itself (no dampening). */
function firstMomentumStep(p: Float32Array, d: Float32Array, buf: Float32Array, lr: number, momentum: number, nesterov: boolean): void {
  buf.set(d);
  const negLr = f(-lr);
  const m = f(momentum);
  if (nesterov) for (let i = 0; i < p.length; i++) p[i] += negLr * f(d[i] + m * buf[i]);
  else for (let i = 0; i < p.length; i++) p[i] += negLr * buf[i];
}
