// Normalization layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d, LayerNorm, GroupNorm,
// LocalResponseNorm, and the lectures' LocalContrastNorm. PyTorch's parameter and buffer names
// (`weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`) are the state-dict keys.
import { noGrad } from "../../autograd/grad-mode.js";
import { fail, fmtShape } from "../../core/errors.js";
import { ones, zeros } from "../../tensor/creation.js";
import type { Tensor } from "../../tensor/tensor.js";
import { batchNorm, groupNorm, instanceNorm, layerNorm, localContrastNorm, localResponseNorm } from "../functional/normalization.js";
import { Module, pyBool, pyFloat, pyTuple } from "../module.js";
import { Parameter, parameterData } from "../parameter.js";

export interface BatchNormLayerOptions {
  eps?: number;
  /** Weight of each new batch in the running statistics; null means a cumulative (equal-weight) average. */
  momentum?: number | null;
  /** Learnable per-channel weight (init 1) and bias (init 0); default true. */
  affine?: boolean;
  /** Keep running statistics for eval mode; default true. */
  trackRunningStats?: boolean;
}

/** The state shared by batch and instance norm (PyTorch's _NormBase). */
abstract class NormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;

  protected constructor(name: string, numFeatures: number, options: BatchNormLayerOptions, defaults: { affine: boolean; trackRunningStats: boolean }) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) fail(name, `numFeatures must be a positive integer, got ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? defaults.affine;
    this.trackRunningStats = options.trackRunningStats ?? defaults.trackRunningStats;
    this.weight = this.affine ? new Parameter(parameterData([numFeatures], 1)) : null;
    this.bias = this.affine ? new Parameter(parameterData([numFeatures])) : null;
    if (this.trackRunningStats) {
      this.registerBuffer("running_mean", zeros([numFeatures]));
      this.registerBuffer("running_var", ones([numFeatures]));
      this.registerBuffer("num_batches_tracked", zeros([], { dtype: "int32" }));
    } else {
      this.registerBuffer("running_mean", null);
      this.registerBuffer("running_var", null);
      this.registerBuffer("num_batches_tracked", null);
    }
  }

  /** Zeroes the running statistics (mean 0, variance 1, no batches seen). */
  resetRunningStats(): void {
    noGrad(() => {
      this.running_mean?.zero_();
      this.running_var?.fill_(1);
      this.num_batches_tracked?.zero_();
    });
  }

  resetParameters(): void {
    this.resetRunningStats();
    noGrad(() => {
      this.weight?.fill_(1);
      this.bias?.zero_();
    });
  }

  /** Checks rank and channel count, naming the layer and the expected layout. */
  protected checkInput(name: string, input: Tensor, ranks: number[], layout: string, channelDim: (ndim: number) => number): void {
    if (!ranks.includes(input.ndim)) fail(name, `expected ${ranks.map((r) => `${r}D`).join(" or ")} input (${layout}), got shape ${fmtShape(input.shape)}`);
    const c = channelDim(input.ndim);
    if (input.shape[c] !== this.numFeatures) {
      fail(name, `expected input with ${this.numFeatures} channels (${layout.replace("C", String(this.numFeatures))}), got ${fmtShape(input.shape)}`);
    }
  }

  override extraRepr(): string {
    const momentum = this.momentum === null ? "None" : pyFloat(this.momentum);
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${momentum}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

abstract class BatchNormBase extends NormBase {
  constructor(name: string, numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(name, numFeatures, options, { affine: true, trackRunningStats: true });
  }

  /** PyTorch's _BatchNorm.forward: counts batches, picks the averaging factor and the statistics. */
  protected normalize(input: Tensor): Tensor {
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      const tracked = this.num_batches_tracked;
      noGrad(() => tracked.add_(1));
      if (this.momentum === null) factor = 1 / tracked.item();
    }
    const useBatchStats = this.training || (this.running_mean === null && this.running_var === null);
    const useBuffers = !this.training || this.trackRunningStats;
    return batchNorm(input, useBuffers ? this.running_mean : null, useBuffers ? this.running_var : null, {
      weight: this.weight, bias: this.bias, training: useBatchStats, momentum: factor, eps: this.eps,
    });
  }
}

/** torch.nn.BatchNorm1d over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super("BatchNorm1d", numFeatures, options);
  }

  forward(input: Tensor): Tensor {
    this.checkInput("BatchNorm1d", input, [2, 3], "shape [N, C] or [N, C, L]", () => 1);
    return this.normalize(input);
  }
}

/** torch.nn.BatchNorm2d over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super("BatchNorm2d", numFeatures, options);
  }

  forward(input: Tensor): Tensor {
    this.checkInput("BatchNorm2d", input, [4], "shape [N, C, H, W]", () => 1);
    return this.normalize(input);
  }
}

/** torch.nn.BatchNorm3d over [N, C, D, H, W]. */
export class BatchNorm3d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super("BatchNorm3d", numFeatures, options);
  }

  forward(input: Tensor): Tensor {
    this.checkInput("BatchNorm3d", input, [5], "shape [N, C, D, H, W]", () => 1);
    return this.normalize(input);
  }
}

abstract class InstanceNormBase extends NormBase {
  constructor(name: string, numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(name, numFeatures, options, { affine: false, trackRunningStats: false });
    // PyTorch's instance norm has no cumulative average: momentum None fails at its first forward.
    if (this.momentum === null) fail(name, "momentum must be a number (null, a cumulative average, is only supported by batch norm)");
  }

  /** PyTorch's _InstanceNorm: per-instance statistics unless tracking stats in eval mode. */
  protected normalize(input: Tensor, spatial: number): Tensor {
    const unbatched = input.ndim === spatial + 1;
    const x = unbatched ? input.unsqueeze(0) : input;
    const out = instanceNorm(x, {
      runningMean: this.running_mean, runningVar: this.running_var, weight: this.weight, bias: this.bias,
      useInputStats: this.training || !this.trackRunningStats, momentum: this.momentum as number, eps: this.eps,
    });
    return unbatched ? out.squeeze(0) : out;
  }
}

/** torch.nn.InstanceNorm1d over [N, C, L] (or unbatched [C, L]). */
export class InstanceNorm1d extends InstanceNormBase {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super("InstanceNorm1d", numFeatures, options);
  }

  forward(input: Tensor): Tensor {
    this.checkInput("InstanceNorm1d", input, [2, 3], "shape [N, C, L] or [C, L]", (n) => n - 2);
    return this.normalize(input, 1);
  }
}

/** torch.nn.InstanceNorm2d over [N, C, H, W] (or unbatched [C, H, W]). */
export class InstanceNorm2d extends InstanceNormBase {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super("InstanceNorm2d", numFeatures, options);
  }

  forward(input: Tensor): Tensor {
    this.checkInput("InstanceNorm2d", input, [3, 4], "shape [N, C, H, W] or [C, H, W]", (n) => n - 3);
    return this.normalize(input, 2);
  }
}

export interface LayerNormLayerOptions {
  eps?: number;
  /** Learnable elementwise weight (init 1) and bias (init 0); default true. */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, whether to learn the bias too; default true. */
  bias?: boolean;
}

/** torch.nn.LayerNorm: normalizes over the trailing `normalizedShape` dims. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | number[], options: LayerNormLayerOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape.slice();
    if (this.normalizedShape.some((d) => !Number.isInteger(d) || d < 1)) fail("LayerNorm", `normalizedShape must hold positive integers, got ${JSON.stringify(normalizedShape)}`);
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine ? new Parameter(parameterData(this.normalizedShape, 1)) : null;
    this.bias = this.elementwiseAffine && (options.bias ?? true) ? new Parameter(parameterData(this.normalizedShape)) : null;
  }

  resetParameters(): void {
    noGrad(() => {
      this.weight?.fill_(1);
      this.bias?.zero_();
    });
  }

  forward(input: Tensor): Tensor {
    const n = this.normalizedShape.length;
    if (input.ndim < n || input.shape.slice(input.ndim - n).some((d, i) => d !== this.normalizedShape[i])) {
      fail("LayerNorm", `expected input with shape [*, ${this.normalizedShape.join(", ")}], got ${fmtShape(input.shape)}`);
    }
    return layerNorm(input, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

/** torch.nn.GroupNorm: per sample, channels split into `numGroups` groups, each normalized. */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, options: { eps?: number; affine?: boolean } = {}) {
    super();
    if (!Number.isInteger(numGroups) || numGroups < 1 || !Number.isInteger(numChannels) || numChannels % numGroups !== 0) {
      fail("GroupNorm", `numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    }
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-5;
    this.affine = options.affine ?? true;
    this.weight = this.affine ? new Parameter(parameterData([numChannels], 1)) : null;
    this.bias = this.affine ? new Parameter(parameterData([numChannels])) : null;
  }

  resetParameters(): void {
    noGrad(() => {
      this.weight?.fill_(1);
      this.bias?.zero_();
    });
  }

  forward(input: Tensor): Tensor {
    if (input.ndim < 2 || input.shape[1] !== this.numChannels) {
      fail("GroupNorm", `expected input with ${this.numChannels} channels (shape [N, ${this.numChannels}, *]), got ${fmtShape(input.shape)}`);
    }
    return groupNorm(input, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}

/** torch.nn.LocalResponseNorm: each value divided by (k + alpha/size * sum of squares over `size` neighbouring channels)^beta. */
export class LocalResponseNorm extends Module {
  readonly size: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;

  constructor(size: number, options: { alpha?: number; beta?: number; k?: number } = {}) {
    super();
    this.size = size;
    this.alpha = options.alpha ?? 1e-4;
    this.beta = options.beta ?? 0.75;
    this.k = options.k ?? 1;
  }

  forward(input: Tensor): Tensor {
    return localResponseNorm(input, this.size, { alpha: this.alpha, beta: this.beta, k: this.k });
  }

  override extraRepr(): string {
    return `${this.size}, alpha=${pyFloat(this.alpha)}, beta=${pyFloat(this.beta)}, k=${pyFloat(this.k)}`;
  }
}

/**
 * Local contrast normalization from the lectures (subtractive then divisive, over a `size` x `size`
 * window across all channels); see F.localContrastNorm for the formula. flint's own layer.
 */
export class LocalContrastNorm extends Module {
  readonly size: number;
  readonly eps: number;

  constructor(size: number, options: { eps?: number } = {}) {
    super();
    this.size = size;
    this.eps = options.eps ?? 1e-4;
  }

  forward(input: Tensor): Tensor {
    return localContrastNorm(input, this.size, { eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.size}, eps=${pyFloat(this.eps)}`;
  }
}
