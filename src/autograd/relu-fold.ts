import type { Tensor } from "../tensor/tensor.js";
import { gradientObserved } from "./engine.js";

/**
 * Folding a ReLU's backward into the op that reads its output. Max pooling sends each window's
 * gradient to the window's maximum alone, so it can also apply the ReLU's mask there (drop the
 * windows whose maximum the ReLU zeroed) at no cost, instead of a separate pass over the whole
 * ReLU output; the ReLU's backward then hands that gradient on unchanged. This is exact: the
 * mask of an element the gradient never reaches does not matter.
 *
 * A folded gradient is not the true gradient of the ReLU's output (it is already masked), so an
 * op folds only when that gradient reaches nothing else: the ReLU output's own gradient is not
 * observed (gradientObserved), and it reaches the ReLU's backward unchanged (no other op added
 * to it; a sum with another op's gradient is a new tensor, which the ReLU masks as usual).
 */
const folded = new WeakMap<Tensor, Tensor>();

/** Whether `x` is the output of a recorded float32 ReLU whose backward an op reading `x` may fold into its own now. */
export function canFoldRelu(x: Tensor): boolean {
  return x.dtype === "float32" && x.gradFn?.name === "relu" && !gradientObserved(x);
}

/** Marks `gradient` (of `reluOutput`) as already masked by that ReLU's backward. */
export function markReluFolded(gradient: Tensor, reluOutput: Tensor): void {
  folded.set(gradient, reluOutput);
}

/** Whether `gradient` already carries the backward of the ReLU that produced `reluOutput`. */
export function isReluFolded(gradient: Tensor, reluOutput: Tensor): boolean {
  return folded.get(gradient) === reluOutput;
}
