// Pooling layers: thin modules over the functional pooling in ../functional/pooling.ts.
import type { Tensor } from "../../tensor/tensor.js";
import {
  adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveMaxPool1d, adaptiveMaxPool2d, avgPool1d, avgPool2d, logSumExpPool2d, lpPool1d, lpPool2d, maxPool1d, maxPool2d,
  type PoolWithIndices,
} from "../functional/pooling.js";
import { Module, pyBool, pyFloat, pyRepr, pyTuple } from "../module.js";

export interface MaxPoolLayerOptions {
  /** Defaults to kernelSize. */
  stride?: number | number[] | null;
  padding?: number | number[];
  dilation?: number | number[];
  /** Makes forward return [output, indices] (typed through the class's parameter). */
  returnIndices?: boolean;
  ceilMode?: boolean;
}

export interface AvgPoolLayerOptions {
  stride?: number | number[] | null;
  padding?: number | number[];
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/** PyTorch prints pooling sizes as given: an int stays an int, a list becomes a tuple. */
function show(value: number | number[] | null | undefined): string {
  return pyRepr(value ?? null);
}

/** What a max-pooling layer's forward returns: [output, indices] when built with returnIndices: true. */
export type MaxPoolResult<R extends boolean> = R extends true ? PoolWithIndices : Tensor;

abstract class MaxPoolNd<R extends boolean> extends Module {
  readonly kernelSize: number | number[];
  readonly stride: number | number[];
  readonly padding: number | number[];
  readonly dilation: number | number[];
  readonly returnIndices: R;
  readonly ceilMode: boolean;

  constructor(kernelSize: number | number[], options: MaxPoolLayerOptions & { returnIndices?: R } = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.returnIndices = (options.returnIndices ?? false) as R;
    this.ceilMode = options.ceilMode ?? false;
  }

  protected get options() {
    return { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode };
  }

  override extraRepr(): string {
    return `kernel_size=${show(this.kernelSize)}, stride=${show(this.stride)}, padding=${show(this.padding)}, dilation=${show(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

/** torch.nn.MaxPool1d; built with `returnIndices: true`, the forward returns [output, indices]. */
export class MaxPool1d<R extends boolean = false> extends MaxPoolNd<R> {
  forward(input: Tensor): MaxPoolResult<R> {
    const result = this.returnIndices ? maxPool1d(input, this.kernelSize, { ...this.options, returnIndices: true }) : maxPool1d(input, this.kernelSize, this.options);
    return result as MaxPoolResult<R>;
  }
}

/** torch.nn.MaxPool2d; built with `returnIndices: true`, the forward returns [output, indices]. */
export class MaxPool2d<R extends boolean = false> extends MaxPoolNd<R> {
  forward(input: Tensor): MaxPoolResult<R> {
    const result = this.returnIndices ? maxPool2d(input, this.kernelSize, { ...this.options, returnIndices: true }) : maxPool2d(input, this.kernelSize, this.options);
    return result as MaxPoolResult<R>;
  }
}

abstract class AvgPoolNd extends Module {
  readonly kernelSize: number | number[];
  readonly stride: number | number[];
  readonly padding: number | number[];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(kernelSize: number | number[], options: AvgPoolLayerOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
    this.divisorOverride = options.divisorOverride ?? null;
  }

  override extraRepr(): string {
    return `kernel_size=${show(this.kernelSize)}, stride=${show(this.stride)}, padding=${show(this.padding)}`;
  }
}

/** torch.nn.AvgPool1d. */
export class AvgPool1d extends AvgPoolNd {
  constructor(kernelSize: number | number[], options: Omit<AvgPoolLayerOptions, "divisorOverride"> = {}) {
    super(kernelSize, options);
  }

  /** PyTorch's AvgPool1d stores its sizes as 1-tuples, so they print as `(4,)`. */
  override extraRepr(): string {
    const single = (v: number | number[]) => pyTuple(typeof v === "number" ? [v] : v);
    return `kernel_size=${single(this.kernelSize)}, stride=${single(this.stride)}, padding=${single(this.padding)}`;
  }

  forward(input: Tensor): Tensor {
    return avgPool1d(input, this.kernelSize, { stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad });
  }
}

/** torch.nn.AvgPool2d. */
export class AvgPool2d extends AvgPoolNd {
  forward(input: Tensor): Tensor {
    return avgPool2d(input, this.kernelSize, {
      stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad, divisorOverride: this.divisorOverride,
    });
  }
}

abstract class LPPoolNd extends Module {
  readonly normType: number;
  readonly kernelSize: number | number[];
  readonly stride: number | number[] | null;
  readonly ceilMode: boolean;

  constructor(normType: number, kernelSize: number | number[], options: { stride?: number | number[] | null; ceilMode?: boolean } = {}) {
    super();
    this.normType = normType;
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? null;
    this.ceilMode = options.ceilMode ?? false;
  }

  override extraRepr(): string {
    // Python prints the norm type as given; an integer here is taken to be an int (norm_type=2).
    return `norm_type=${this.normType}, kernel_size=${show(this.kernelSize)}, stride=${show(this.stride)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

/** torch.nn.LPPool1d: (sum over each window of x^p)^(1/p). */
export class LPPool1d extends LPPoolNd {
  forward(input: Tensor): Tensor {
    return lpPool1d(input, this.normType, this.kernelSize, { stride: this.stride, ceilMode: this.ceilMode });
  }
}

/** torch.nn.LPPool2d: (sum over each window of x^p)^(1/p). */
export class LPPool2d extends LPPoolNd {
  forward(input: Tensor): Tensor {
    return lpPool2d(input, this.normType, this.kernelSize, { stride: this.stride, ceilMode: this.ceilMode });
  }
}

/** torch.nn.AdaptiveAvgPool1d: average pooling to a fixed output length. */
export class AdaptiveAvgPool1d extends Module {
  constructor(readonly outputSize: number | number[]) {
    super();
  }

  forward(input: Tensor): Tensor {
    return adaptiveAvgPool1d(input, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${show(this.outputSize)}`;
  }
}

/** torch.nn.AdaptiveAvgPool2d: average pooling to a fixed output size; a null entry keeps the input's size. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | (number | null)[]) {
    super();
  }

  forward(input: Tensor): Tensor {
    return adaptiveAvgPool2d(input, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${pyRepr(this.outputSize)}`;
  }
}

/** torch.nn.AdaptiveMaxPool1d; built with `returnIndices: true`, the forward returns [output, indices]. */
export class AdaptiveMaxPool1d<R extends boolean = false> extends Module {
  readonly returnIndices: R;

  constructor(readonly outputSize: number | number[], options: { returnIndices?: R } = {}) {
    super();
    this.returnIndices = (options.returnIndices ?? false) as R;
  }

  forward(input: Tensor): MaxPoolResult<R> {
    const result = this.returnIndices ? adaptiveMaxPool1d(input, this.outputSize, { returnIndices: true }) : adaptiveMaxPool1d(input, this.outputSize);
    return result as MaxPoolResult<R>;
  }

  override extraRepr(): string {
    return `output_size=${show(this.outputSize)}`;
  }
}

/** torch.nn.AdaptiveMaxPool2d; a null size keeps the input's; `returnIndices: true` gives [output, indices]. */
export class AdaptiveMaxPool2d<R extends boolean = false> extends Module {
  readonly returnIndices: R;

  constructor(readonly outputSize: number | (number | null)[], options: { returnIndices?: R } = {}) {
    super();
    this.returnIndices = (options.returnIndices ?? false) as R;
  }

  forward(input: Tensor): MaxPoolResult<R> {
    const result = this.returnIndices ? adaptiveMaxPool2d(input, this.outputSize, { returnIndices: true }) : adaptiveMaxPool2d(input, this.outputSize);
    return result as MaxPoolResult<R>;
  }

  override extraRepr(): string {
    return `output_size=${pyRepr(this.outputSize)}`;
  }
}

/**
 * Log-sum-exp ("PROB") pooling from the lectures: (1/b) log(mean over the window of exp(b x)),
 * between average pooling (b -> 0) and max pooling (b -> infinity). flint's own layer.
 */
export class LogSumExpPool2d extends Module {
  readonly kernelSize: number | number[];
  readonly stride: number | number[];
  readonly b: number;

  constructor(kernelSize: number | number[], options: { stride?: number | number[] | null; b?: number } = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.b = options.b ?? 1;
  }

  forward(input: Tensor): Tensor {
    return logSumExpPool2d(input, this.kernelSize, { stride: this.stride, b: this.b });
  }

  override extraRepr(): string {
    return `kernel_size=${show(this.kernelSize)}, stride=${show(this.stride)}, b=${pyFloat(this.b)}`;
  }
}
