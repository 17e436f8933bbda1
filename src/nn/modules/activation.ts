/**
 * Activation layers: each holds its settings and calls its functional twin in F. Their
 * `extraRepr()` matches PyTorch's text. `inplace` is accepted for porting and shown in the repr,
 * but flint always returns a new tensor (with the same values).
 */
import { full } from "../../tensor/creation.js";
import type { Tensor } from "../../tensor/tensor.js";
import * as F from "../functional/activation.js";
import { Module, pyFloat } from "../module.js";
import { Parameter, parameterData } from "../parameter.js";

interface InplaceOption {
  inplace?: boolean;
}

/** ", inplace=True" when set: PyTorch's reprs only mention inplace when it is on. */
function inplaceRepr(inplace: boolean, first = false): string {
  if (!inplace) return "";
  return first ? "inplace=True" : ", inplace=True";
}

export class ReLU extends Module {
  readonly inplace: boolean;
  constructor(options: InplaceOption = {}) {
    super();
    this.inplace = options.inplace ?? false;
  }
  forward(input: Tensor): Tensor {
    return F.relu(input);
  }
  override extraRepr(): string {
    return inplaceRepr(this.inplace, true);
  }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  constructor(options: { negativeSlope?: number } & InplaceOption = {}) {
    super();
    this.negativeSlope = options.negativeSlope ?? 0.01;
    this.inplace = options.inplace ?? false;
  }
  forward(input: Tensor): Tensor {
    return F.leakyRelu(input, { negativeSlope: this.negativeSlope });
  }
  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}${inplaceRepr(this.inplace)}`;
  }
}

/** Leaky ReLU with a learned slope: `numParameters` slopes (1, or one per channel), initialised to `init`. */
export class PReLU extends Module {
  readonly numParameters: number;
  weight: Parameter;
  constructor(options: { numParameters?: number; init?: number } = {}) {
    super();
    this.numParameters = options.numParameters ?? 1;
    this.weight = new Parameter(parameterData([this.numParameters], options.init ?? 0.25));
  }
  forward(input: Tensor): Tensor {
    return F.prelu(input, this.weight);
  }
  override extraRepr(): string {
    return `num_parameters=${this.numParameters}`;
  }
}

export class ELU extends Module {
  readonly alpha: number;
  readonly inplace: boolean;
  constructor(options: { alpha?: number } & InplaceOption = {}) {
    super();
    this.alpha = options.alpha ?? 1;
    this.inplace = options.inplace ?? false;
  }
  forward(input: Tensor): Tensor {
    return F.elu(input, { alpha: this.alpha });
  }
  override extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}${inplaceRepr(this.inplace)}`;
  }
}

export class GELU extends Module {
  readonly approximate: "none" | "tanh";
  constructor(options: { approximate?: "none" | "tanh" } = {}) {
    super();
    this.approximate = options.approximate ?? "none";
  }
  forward(input: Tensor): Tensor {
    return F.gelu(input, { approximate: this.approximate });
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class SiLU extends Module {
  readonly inplace: boolean;
  constructor(options: InplaceOption = {}) {
    super();
    this.inplace = options.inplace ?? false;
  }
  forward(input: Tensor): Tensor {
    return F.silu(input);
  }
  override extraRepr(): string {
    return inplaceRepr(this.inplace, true);
  }
}

export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(options: { beta?: number; threshold?: number } = {}) {
    super();
    this.beta = options.beta ?? 1;
    this.threshold = options.threshold ?? 20;
  }
  forward(input: Tensor): Tensor {
    return F.softplus(input, { beta: this.beta, threshold: this.threshold });
  }
  override extraRepr(): string {
    // PyTorch's defaults here are Python ints, so they print without ".0".
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

export class Softshrink extends Module {
  readonly lambd: number;
  constructor(options: { lambd?: number } = {}) {
    super();
    this.lambd = options.lambd ?? 0.5;
  }
  forward(input: Tensor): Tensor {
    return F.softshrink(input, { lambd: this.lambd });
  }
  override extraRepr(): string {
    return pyFloat(this.lambd);
  }
}

export class Hardtanh extends Module {
  readonly minVal: number;
  readonly maxVal: number;
  readonly inplace: boolean;
  constructor(options: { minVal?: number; maxVal?: number } & InplaceOption = {}) {
    super();
    this.minVal = options.minVal ?? -1;
    this.maxVal = options.maxVal ?? 1;
    this.inplace = options.inplace ?? false;
    F.hardtanh(full([], 0), { minVal: this.minVal, maxVal: this.maxVal }); // validates the limits now
  }
  forward(input: Tensor): Tensor {
    return F.hardtanh(input, { minVal: this.minVal, maxVal: this.maxVal });
  }
  override extraRepr(): string {
    return `min_val=${pyFloat(this.minVal)}, max_val=${pyFloat(this.maxVal)}${inplaceRepr(this.inplace)}`;
  }
}

export class Tanh extends Module {
  forward(input: Tensor): Tensor {
    return F.tanh(input);
  }
}

export class Sigmoid extends Module {
  forward(input: Tensor): Tensor {
    return F.sigmoid(input);
  }
}

/** Softmax along `dim` (PyTorch's implicit-dim rule when omitted, which PyTorch deprecates). */
export class Softmax extends Module {
  readonly dim: number | undefined;
  constructor(dim?: number) {
    super();
    this.dim = dim;
  }
  forward(input: Tensor): Tensor {
    return F.softmax(input, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim ?? "None"}`;
  }
}

export class LogSoftmax extends Module {
  readonly dim: number | undefined;
  constructor(dim?: number) {
    super();
    this.dim = dim;
  }
  forward(input: Tensor): Tensor {
    return F.logSoftmax(input, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim ?? "None"}`;
  }
}
