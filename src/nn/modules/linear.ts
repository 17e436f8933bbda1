import { noGrad } from "../../autograd/grad-mode.js";
import { fail } from "../../core/errors.js";
import type { Tensor } from "../../tensor/tensor.js";
import * as F from "../functional/linear.js";
import * as init from "../init.js";
import { Module, pyBool } from "../module.js";
import { Parameter, parameterData } from "../parameter.js";

function checkFeatures(op: string, values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v < 0) fail(op, `${name} must be a non-negative integer, got ${v}`);
  }
}

/** Passes its input through unchanged (a placeholder layer); accepts and ignores any arguments. */
export class Identity extends Module {
  constructor(..._args: unknown[]) {
    super();
  }
  forward(input: Tensor): Tensor {
    return input;
  }
}

/** y = x W^T + b. weight [out, in], bias [out]; PyTorch's init: U(-1/sqrt(in), 1/sqrt(in)) for both. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    checkFeatures("Linear", { inFeatures, outFeatures });
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = new Parameter(parameterData([outFeatures, inFeatures]));
    this.bias = options.bias ?? true ? new Parameter(parameterData([outFeatures])) : null;
    this.resetParameters();
  }

  /** kaimingUniform with a = sqrt(5) (bound 1/sqrt(fanIn)) for the weight, U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for the bias. */
  resetParameters(): void {
    noGrad(() => {
      init.kaimingUniform(this.weight, { a: Math.sqrt(5) });
      if (this.bias !== null) {
        const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
        init.uniform(this.bias, { a: -bound, b: bound });
      }
    });
  }

  forward(input: Tensor): Tensor {
    return F.linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

/**
 * y_k = x1^T A_k x2 + b_k: the multiplicative (sigma-pi / quadratic) module of the lectures.
 * weight [out, in1, in2], bias [out], both U(-1/sqrt(in1), 1/sqrt(in1)) as in PyTorch.
 */
export class Bilinear extends Module {
  readonly in1Features: number;
  readonly in2Features: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(in1Features: number, in2Features: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    checkFeatures("Bilinear", { in1Features, in2Features, outFeatures });
    this.in1Features = in1Features;
    this.in2Features = in2Features;
    this.outFeatures = outFeatures;
    this.weight = new Parameter(parameterData([outFeatures, in1Features, in2Features]));
    this.bias = options.bias ?? true ? new Parameter(parameterData([outFeatures])) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    const bound = this.in1Features > 0 ? 1 / Math.sqrt(this.in1Features) : 0;
    init.uniform(this.weight, { a: -bound, b: bound });
    if (this.bias !== null) init.uniform(this.bias, { a: -bound, b: bound });
  }

  forward(input1: Tensor, input2: Tensor): Tensor {
    return F.bilinear(input1, input2, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in1_features=${this.in1Features}, in2_features=${this.in2Features}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}
