// Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Unfold, Fold (PyTorch's weight
// layouts, state-dict keys `weight` and `bias`, and default initialisation).
import { fail, fmtShape } from "../../core/errors.js";
import type { Tensor } from "../../tensor/tensor.js";
import { conv1d, conv2d, convTranspose1d, convTranspose2d, fold, unfold, type ConvPadding } from "../functional/conv.js";
import { pad } from "../functional/padding.js";
import { kaimingUniform, uniform, calculateFanInAndFanOut } from "../init.js";
import { Module, pyRepr, pyTuple } from "../module.js";
import { Parameter, parameterData } from "../parameter.js";
import { noGrad } from "../../autograd/grad-mode.js";

export type PaddingMode = "zeros" | "reflect" | "replicate" | "circular";

export interface ConvLayerOptions {
  stride?: number | number[];
  /** An int, a list of ints, "valid" (no padding) or "same" (output size = input size; stride 1 only). */
  padding?: ConvPadding;
  dilation?: number | number[];
  groups?: number;
  bias?: boolean;
  /** How the border is padded: "zeros" (default), "reflect", "replicate" or "circular". */
  paddingMode?: PaddingMode;
}

export interface ConvTransposeLayerOptions {
  stride?: number | number[];
  padding?: number | number[];
  outputPadding?: number | number[];
  groups?: number;
  bias?: boolean;
  dilation?: number | number[];
}

function tuple(op: string, name: string, value: number | number[], n: number, min: number): number[] {
  const list = typeof value === "number" ? new Array<number>(n).fill(value) : value.length === 1 ? new Array<number>(n).fill(value[0]) : value.slice();
  if (list.length !== n) fail(op, `${name} must be an int or a list of ${n} ints, got ${JSON.stringify(value)}`);
  for (const v of list) if (!Number.isInteger(v) || v < min) fail(op, `${name} must hold integers >= ${min}, got ${JSON.stringify(value)}`);
  return list;
}

/** PyTorch's _ConvNd.reset_parameters: kaiming_uniform(a = sqrt(5)) and bias ~ U(+-1/sqrt(fanIn)). */
function resetConvParameters(weight: Parameter, bias: Parameter | null): void {
  kaimingUniform(weight, { a: Math.sqrt(5) });
  if (bias) {
    const [fanIn] = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform(bias, { a: -bound, b: bound });
  }
}

/** The shared state of the convolution layers (PyTorch's _ConvNd). */
abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | "same" | "valid";
  readonly dilation: number[];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  readonly outputPadding: number[];
  readonly transposed: boolean;
  weight: Parameter;
  bias: Parameter | null;

  protected constructor(
    name: string, spatial: number, transposed: boolean, inChannels: number, outChannels: number, kernelSize: number | number[],
    options: ConvLayerOptions & { outputPadding?: number | number[] },
  ) {
    super();
    for (const [label, v] of [["inChannels", inChannels], ["outChannels", outChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) fail(name, `${label} must be a positive integer, got ${v}`);
    }
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1) fail(name, `groups must be a positive integer, got ${groups}`);
    if (inChannels % groups !== 0) fail(name, `inChannels (${inChannels}) must be divisible by groups (${groups})`);
    if (outChannels % groups !== 0) fail(name, `outChannels (${outChannels}) must be divisible by groups (${groups})`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = tuple(name, "kernelSize", kernelSize, spatial, 1);
    this.stride = tuple(name, "stride", options.stride ?? 1, spatial, 1);
    const padding = options.padding ?? 0;
    if (padding === "same" || padding === "valid") {
      if (padding === "same" && this.stride.some((s) => s !== 1)) fail(name, `padding="same" is not supported for strided convolutions (stride ${fmtShape(this.stride)})`);
      this.padding = padding;
    } else if (typeof padding === "string") {
      fail(name, `padding must be an int, a list of ints, "same" or "valid", got ${JSON.stringify(padding)}`);
    } else {
      this.padding = tuple(name, "padding", padding, spatial, 0);
    }
    this.dilation = tuple(name, "dilation", options.dilation ?? 1, spatial, 1);
    this.groups = groups;
    this.paddingMode = options.paddingMode ?? "zeros";
    if (!["zeros", "reflect", "replicate", "circular"].includes(this.paddingMode)) {
      fail(name, `paddingMode must be one of "zeros", "reflect", "replicate", "circular", got ${JSON.stringify(this.paddingMode)}`);
    }
    this.outputPadding = tuple(name, "outputPadding", options.outputPadding ?? 0, spatial, 0);
    this.transposed = transposed;
    const weightShape = transposed ? [inChannels, outChannels / groups, ...this.kernelSize] : [outChannels, inChannels / groups, ...this.kernelSize];
    this.weight = new Parameter(parameterData(weightShape));
    this.bias = options.bias ?? true ? new Parameter(parameterData([outChannels])) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    noGrad(() => resetConvParameters(this.weight, this.bias));
  }

  /** Checks the channel count, naming the layer and the expected layout. */
  protected checkInput(name: string, input: Tensor, spatial: number): void {
    const dims = spatial === 1 ? "L" : "H, W";
    const channelDim = input.ndim === spatial + 2 ? 1 : input.ndim === spatial + 1 ? 0 : -1;
    if (channelDim < 0) fail(name, `expected a ${spatial + 1}-D (unbatched [C, ${dims}]) or ${spatial + 2}-D (batched [N, C, ${dims}]) input, got shape ${fmtShape(input.shape)}`);
    if (input.shape[channelDim] !== this.inChannels) {
      const layout = channelDim === 1 ? `[N, ${this.inChannels}, ${dims}]` : `[${this.inChannels}, ${dims}]`;
      fail(name, `expected input with ${this.inChannels} channels (shape ${layout}), got ${fmtShape(input.shape)}`);
    }
    if (this.transposed || this.padding === "same") return;
    const spatialSizes = input.shape.slice(channelDim + 1);
    const padding = this.padding === "valid" ? new Array<number>(spatial).fill(0) : this.padding;
    for (let i = 0; i < spatial; i++) {
      const padded = spatialSizes[i] + 2 * padding[i];
      const effective = this.dilation[i] * (this.kernelSize[i] - 1) + 1;
      if (padded < effective) {
        fail(name, `input of shape ${fmtShape(input.shape)} is too small: spatial size ${fmtShape(spatialSizes)} with padding ${fmtShape(padding)} is smaller than the effective kernel size ${effective} (kernel ${fmtShape(this.kernelSize)}, dilation ${fmtShape(this.dilation)})`);
      }
    }
  }

  /** PyTorch's extra_repr text. */
  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (typeof this.padding === "string") s += `, padding=${this.padding}`;
    else if (this.padding.some((p) => p !== 0)) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, output_padding=${pyTuple(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ", bias=False";
    if (this.paddingMode !== "zeros") s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

/** Convolution with a non-zeros padding mode: pad explicitly with F.pad, then convolve unpadded. */
function explicitPadding(layer: ConvNd, input: Tensor): Tensor {
  const amounts: number[] = [];
  for (let i = layer.kernelSize.length - 1; i >= 0; i--) {
    if (layer.padding === "same") {
      const total = layer.dilation[i] * (layer.kernelSize[i] - 1);
      amounts.push(Math.floor(total / 2), total - Math.floor(total / 2));
    } else if (layer.padding === "valid") {
      amounts.push(0, 0);
    } else {
      amounts.push(layer.padding[i], layer.padding[i]);
    }
  }
  const mode = layer.paddingMode === "zeros" ? "constant" : layer.paddingMode;
  return pad(input, amounts, { mode });
}

/** torch.nn.Conv1d: input [N, Cin, L] (or [Cin, L]); weight [Cout, Cin/groups, k]. */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvLayerOptions = {}) {
    super("Conv1d", 1, false, inChannels, outChannels, kernelSize, options);
  }

  forward(input: Tensor): Tensor {
    this.checkInput("Conv1d", input, 1);
    const common = { bias: this.bias, stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode !== "zeros") return conv1d(explicitPadding(this, input), this.weight, { ...common, padding: 0 });
    return conv1d(input, this.weight, { ...common, padding: this.padding });
  }
}

/** torch.nn.Conv2d: input [N, Cin, H, W] (or [Cin, H, W]); weight [Cout, Cin/groups, kH, kW]. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvLayerOptions = {}) {
    super("Conv2d", 2, false, inChannels, outChannels, kernelSize, options);
  }

  forward(input: Tensor): Tensor {
    this.checkInput("Conv2d", input, 2);
    const common = { bias: this.bias, stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode !== "zeros") return conv2d(explicitPadding(this, input), this.weight, { ...common, padding: 0 });
    return conv2d(input, this.weight, { ...common, padding: this.padding });
  }
}

/** torch.nn.ConvTranspose1d: input [N, Cin, L]; weight [Cin, Cout/groups, k]. */
export class ConvTranspose1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvTransposeLayerOptions = {}) {
    super("ConvTranspose1d", 1, true, inChannels, outChannels, kernelSize, options);
  }

  forward(input: Tensor): Tensor {
    this.checkInput("ConvTranspose1d", input, 1);
    return convTranspose1d(input, this.weight, {
      bias: this.bias, stride: this.stride, padding: this.padding as number[], outputPadding: this.outputPadding, groups: this.groups, dilation: this.dilation,
    });
  }
}

/** torch.nn.ConvTranspose2d: input [N, Cin, H, W]; weight [Cin, Cout/groups, kH, kW]. */
export class ConvTranspose2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvTransposeLayerOptions = {}) {
    super("ConvTranspose2d", 2, true, inChannels, outChannels, kernelSize, options);
  }

  forward(input: Tensor): Tensor {
    this.checkInput("ConvTranspose2d", input, 2);
    return convTranspose2d(input, this.weight, {
      bias: this.bias, stride: this.stride, padding: this.padding as number[], outputPadding: this.outputPadding, groups: this.groups, dilation: this.dilation,
    });
  }
}

export interface UnfoldLayerOptions {
  dilation?: number | number[];
  padding?: number | number[];
  stride?: number | number[];
}

function sizesRepr(options: UnfoldLayerOptions, kernelSize: number | number[]): string {
  return `kernel_size=${pyRepr(kernelSize)}, dilation=${pyRepr(options.dilation ?? 1)}, padding=${pyRepr(options.padding ?? 0)}, stride=${pyRepr(options.stride ?? 1)}`;
}

/** torch.nn.Unfold: extracts sliding blocks, [N, C, H, W] -> [N, C*kH*kW, L]. */
export class Unfold extends Module {
  constructor(readonly kernelSize: number | number[], readonly options: UnfoldLayerOptions = {}) {
    super();
  }

  forward(input: Tensor): Tensor {
    return unfold(input, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return sizesRepr(this.options, this.kernelSize);
  }
}

/** torch.nn.Fold: sums sliding blocks back into an image, [N, C*kH*kW, L] -> [N, C, outputSize]. */
export class Fold extends Module {
  constructor(readonly outputSize: number | number[], readonly kernelSize: number | number[], readonly options: UnfoldLayerOptions = {}) {
    super();
  }

  forward(input: Tensor): Tensor {
    return fold(input, this.outputSize, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `output_size=${pyRepr(this.outputSize)}, ${sizesRepr(this.options, this.kernelSize)}`;
  }
}
