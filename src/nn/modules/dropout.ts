import { fail } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import type { Tensor } from "../../tensor/tensor.js";
import * as F from "../functional/linear.js";
import { Module, pyBool, pyFloat } from "../module.js";
import { Linear } from "./linear.js";

export interface DropoutModuleOptions {
  /** Accepted for porting and shown in the repr; flint always returns a new tensor. */
  inplace?: boolean;
  /** Draw masks from this generator instead of flint's global seeded one. */
  generator?: Generator;
}

function checkP(op: string, p: number): number {
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) fail(op, `dropout probability has to be between 0 and 1, but got ${p}`);
  return p;
}

/** In training, zeroes each element with probability p and scales the rest by 1 / (1 - p); identity in eval. */
export class Dropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  readonly generator: Generator | undefined;
  constructor(p = 0.5, options: DropoutModuleOptions = {}) {
    super();
    this.p = checkP("Dropout", p);
    this.inplace = options.inplace ?? false;
    this.generator = options.generator;
  }
  forward(input: Tensor): Tensor {
    return F.dropout(input, { p: this.p, training: this.training, generator: this.generator });
  }
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyBool(this.inplace)}`;
  }
}

/** Dropout of whole channels of [N, C, H, W] (or [C, H, W]) inputs, as after convolutions. */
export class Dropout2d extends Dropout {
  constructor(p = 0.5, options: DropoutModuleOptions = {}) {
    super(checkP("Dropout2d", p), options);
  }
  override forward(input: Tensor): Tensor {
    return F.dropout2d(input, { p: this.p, training: this.training, generator: this.generator });
  }
}

/**
 * DropConnect (Wan et al., 2013; the lectures' "Dropouts/DropConnects"): wraps a Linear layer and,
 * in training, drops its WEIGHTS rather than its activations: each forward draws one Bernoulli
 * mask over the weight matrix (shared by the whole batch), zeroing each weight with probability p
 * and scaling the kept ones by 1 / (1 - p), so the expected weight is unchanged. The bias is not
 * dropped. In eval the wrapped layer runs with its weights as they are.
 *
 * The wrapped layer is the child `linear`, so the state-dict keys are `linear.weight` and
 * `linear.bias` (PyTorch has no DropConnect; these follow its rule that keys are attribute paths).
 */
export class DropConnect extends Module {
  readonly linear: Linear;
  readonly p: number;
  readonly generator: Generator | undefined;
  constructor(linear: Linear, p = 0.5, options: { generator?: Generator } = {}) {
    super();
    if (!(linear instanceof Linear)) fail("DropConnect", "expected an nn.Linear layer to wrap");
    this.linear = linear;
    this.p = checkP("DropConnect", p);
    this.generator = options.generator;
  }
  forward(input: Tensor): Tensor {
    const weight = F.dropout(this.linear.weight, { p: this.p, training: this.training, generator: this.generator });
    return F.linear(input, weight, this.linear.bias);
  }
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}`;
  }
}
