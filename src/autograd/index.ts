import { fail } from "../core/errors.js";
import { Tensor } from "../tensor/tensor.js";
import { onesLikeTensor } from "../ops/elementwise.js";
import { runBackward } from "./engine.js";

export { gradcheck, type GradcheckOptions } from "./gradcheck.js";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from "./grad-mode.js";

export interface GradOptions {
  gradOutputs?: Tensor[];
  retainGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/** The gradients of `outputs` with respect to `inputs`, without touching any `.grad`. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const seeds = outs.map((o, i) => {
    const given = options.gradOutputs?.[i];
    if (given) return given;
    if (o.numel() !== 1) fail("autograd.grad", "grad can be implicitly created only for scalar outputs; pass gradOutputs");
    return onesLikeTensor(o);
  });
  for (const o of outs) if (!o.requiresGrad) fail("autograd.grad", "one of the outputs does not require grad");
  const result = runBackward(outs, seeds, { retainGraph: options.retainGraph }, ins);
  if (!options.allowUnused && result.some((g) => g === null)) {
    fail("autograd.grad", "one of the inputs was not used in the graph; pass { allowUnused: true } to get null for it");
  }
  return result;
}
