import type { Tensor } from "../../tensor/tensor.js";
import * as F from "../functional/loss.js";
import { Module } from "../module.js";

// The loss modules: each holds its options (class weights as buffers, as in PyTorch, so they
// appear in the state dict under `weight` / `pos_weight`) and calls its functional twin.
// Usage: `const lossFn = new nn.CrossEntropyLoss(); lossFn.forward(logits, labels)`.

/** Losses configured by `reduction` alone. */
abstract class ReducingLoss extends Module {
  readonly reduction: F.Reduction;
  constructor(options: F.ReductionOptions = {}) {
    super();
    this.reduction = options.reduction ?? "mean";
  }
  abstract override forward(input: Tensor, target: Tensor): Tensor;
}

/** Mean squared error (`F.mseLoss`). */
export class MSELoss extends ReducingLoss {
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

/** Mean absolute error (`F.l1Loss`). */
export class L1Loss extends ReducingLoss {
  forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

/** Smooth L1 loss with threshold `beta` (`F.smoothL1Loss`). */
export class SmoothL1Loss extends ReducingLoss {
  readonly beta: number;
  constructor(options: F.SmoothL1LossOptions = {}) {
    super(options);
    this.beta = options.beta ?? 1;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/** Huber loss with threshold `delta` (`F.huberLoss`). */
export class HuberLoss extends ReducingLoss {
  readonly delta: number;
  constructor(options: F.HuberLossOptions = {}) {
    super(options);
    this.delta = options.delta ?? 1;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

/** Negative log-likelihood of log-probabilities (`F.nllLoss`); `weight` is a buffer. */
export class NLLLoss extends ReducingLoss {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  constructor(options: F.NLLLossOptions = {}) {
    super(options);
    this.registerBuffer("weight", options.weight ?? null);
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { reduction: this.reduction, weight: this.weight, ignoreIndex: this.ignoreIndex });
  }
}

/** Cross entropy of logits (`F.crossEntropy`); `weight` is a buffer. */
export class CrossEntropyLoss extends ReducingLoss {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(options: F.CrossEntropyOptions = {}) {
    super(options);
    this.registerBuffer("weight", options.weight ?? null);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, { reduction: this.reduction, weight: this.weight, ignoreIndex: this.ignoreIndex, labelSmoothing: this.labelSmoothing });
  }
}

/** Binary cross entropy of probabilities (`F.binaryCrossEntropy`); `weight` is a buffer. */
export class BCELoss extends ReducingLoss {
  declare readonly weight: Tensor | null;
  constructor(options: F.BCEOptions = {}) {
    super(options);
    this.registerBuffer("weight", options.weight ?? null);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, { reduction: this.reduction, weight: this.weight });
  }
}

/** Binary cross entropy of logits (`F.binaryCrossEntropyWithLogits`); `weight` and `pos_weight` are buffers. */
export class BCEWithLogitsLoss extends ReducingLoss {
  declare readonly weight: Tensor | null;
  declare readonly pos_weight: Tensor | null;
  constructor(options: F.BCEWithLogitsOptions = {}) {
    super(options);
    this.registerBuffer("weight", options.weight ?? null);
    // PyTorch's buffer name, so state dicts interchange.
    this.registerBuffer("pos_weight", options.posWeight ?? null);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, { reduction: this.reduction, weight: this.weight, posWeight: this.pos_weight });
  }
}

/** Kullback-Leibler divergence of log-probabilities (`F.kldiv`). */
export class KLDivLoss extends Module {
  readonly reduction: F.KLDivOptions["reduction"];
  readonly logTarget: boolean;
  constructor(options: F.KLDivOptions = {}) {
    super();
    this.reduction = options.reduction ?? "mean";
    this.logTarget = options.logTarget ?? false;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.kldiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
}
