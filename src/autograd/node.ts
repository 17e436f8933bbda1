import { fail } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import type { PartialGradient } from "./partial-gradient.js";

/**
 * Computes the gradients of an op's inputs from the gradient of its output (null: no gradient;
 * a PartialGradient: one that covers part of its input, for the engine to add into the input's sum).
 */
export type BackwardFn = (gradOutput: Tensor) => (Tensor | PartialGradient | null)[];

/**
 * One recorded op on the tape: its inputs and the closure that maps the output's gradient to
 * theirs. The closure holds the tensors the gradient needs; `release` drops them, and the
 * inputs, after a backward pass (unless the graph is retained), so a tensor kept after backward
 * (a loss stored for logging) does not keep the whole graph's activations alive.
 */
export class GradNode {
  private backwardFn: BackwardFn | null;
  private inputList: readonly Tensor[];

  private onRelease: (() => void) | null;

  /** `onRelease` frees what only the closure uses (e.g. saved tensors in a backend's own memory) once the node is released. */
  constructor(
    readonly name: string,
    inputs: readonly Tensor[],
    backwardFn: BackwardFn,
    onRelease: (() => void) | null = null,
  ) {
    this.inputList = inputs;
    this.backwardFn = backwardFn;
    this.onRelease = onRelease;
  }

  /** The op's inputs; empty once released (a released node fails in `apply` before they are needed). */
  get inputs(): readonly Tensor[] {
    return this.inputList;
  }

  apply(gradOutput: Tensor): (Tensor | PartialGradient | null)[] {
    if (this.backwardFn === null) {
      fail(
        "backward",
        `trying to backward through the graph a second time (through ${this.name}); its saved tensors were freed after the first backward. Pass { retainGraph: true } to the first backward call if you need to backward twice`,
      );
    }
    return this.backwardFn(gradOutput);
  }

  release(): void {
    this.backwardFn = null;
    this.inputList = [];
    const onRelease = this.onRelease;
    this.onRelease = null;
    onRelease?.();
  }
}
