// LocallyConnected2d (the lectures' "local connection patterns" and the 1989 "locally connected"
// net): a convolution without weight sharing, each output location has its own filter.
import { noGrad } from "../../autograd/grad-mode.js";
import { fail, fmtShape } from "../../core/errors.js";
import { unfold, windowOutputSize } from "../../ops/window.js";
import type { Tensor } from "../../tensor/tensor.js";
import { Module, pyTuple } from "../module.js";
import { Parameter, parameterData } from "../parameter.js";

export interface LocallyConnectedOptions {
  stride?: number | number[];
  padding?: number | number[];
  bias?: boolean;
}

function pair(name: string, value: number | number[], min: number): [number, number] {
  const list = typeof value === "number" ? [value, value] : value.length === 1 ? [value[0], value[0]] : value;
  if (list.length !== 2 || list.some((v) => !Number.isInteger(v) || v < min)) fail("LocallyConnected2d", `${name} must be an int or a list of 2 integers >= ${min}, got ${JSON.stringify(value)}`);
  return [list[0], list[1]];
}

/**
 * nn.LocallyConnected2d(inChannels, outChannels, inputSize, kernelSize, { stride, padding, bias }):
 *   out[n, o, i, j] = bias[o, i, j] + sum_{c, ki, kj} weight[i, j, o, c, ki, kj] * xpad[n, c, i*sH + ki, j*sW + kj]
 * Weight layout: [outH, outW, outChannels, inChannels, kH, kW] (one Conv2d-shaped filter bank per
 * output location, location-major); bias: [outChannels, outH, outW]. The input size is fixed at
 * construction because the number of filters depends on it. Initialised like Conv2d (uniform with
 * bound 1/sqrt(inChannels*kH*kW) for weight and bias). No PyTorch counterpart: flint's own layer.
 */
export class LocallyConnected2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inputSize: [number, number];
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputSize: [number, number];
  weight: Parameter;
  bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, inputSize: number | number[], kernelSize: number | number[], options: LocallyConnectedOptions = {}) {
    super();
    for (const [label, v] of [["inChannels", inChannels], ["outChannels", outChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) fail("LocallyConnected2d", `${label} must be a positive integer, got ${v}`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.inputSize = pair("inputSize", inputSize, 1);
    this.kernelSize = pair("kernelSize", kernelSize, 1);
    this.stride = pair("stride", options.stride ?? 1, 1);
    this.padding = pair("padding", options.padding ?? 0, 0);
    const out = [0, 1].map((i) => windowOutputSize(this.inputSize[i], this.kernelSize[i], this.stride[i], this.padding[i], 1));
    if (out[0] < 1 || out[1] < 1) {
      fail("LocallyConnected2d", `inputSize ${fmtShape(this.inputSize)} is too small for kernel ${fmtShape(this.kernelSize)} with padding ${fmtShape(this.padding)}`);
    }
    this.outputSize = [out[0], out[1]];
    this.weight = new Parameter(parameterData([out[0], out[1], outChannels, inChannels, ...this.kernelSize]));
    this.bias = options.bias ?? true ? new Parameter(parameterData([outChannels, out[0], out[1]])) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    // PyTorch's Conv2d default (kaiming_uniform with a = sqrt(5)) reduces to this bound.
    const bound = 1 / Math.sqrt(this.inChannels * this.kernelSize[0] * this.kernelSize[1]);
    noGrad(() => {
      this.weight.uniform_(-bound, bound);
      this.bias?.uniform_(-bound, bound);
    });
  }

  forward(input: Tensor): Tensor {
    const [h, w] = this.inputSize;
    const unbatched = input.ndim === 3;
    const x = unbatched ? input.unsqueeze(0) : input;
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels || x.shape[2] !== h || x.shape[3] !== w) {
      fail("LocallyConnected2d", `expected input of shape [N, ${this.inChannels}, ${h}, ${w}] (or [${this.inChannels}, ${h}, ${w}]), got ${fmtShape(input.shape)}`);
    }
    const [outH, outW] = this.outputSize;
    const locations = outH * outW;
    const k = this.inChannels * this.kernelSize[0] * this.kernelSize[1];
    // Columns [N, K, L] -> [L, K, N]; one small GEMM per location: weight[l] [O, K] @ columns[l] [K, N].
    const cols = unfold(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, dilation: [1, 1] });
    const perLocation = this.weight.reshape([locations, this.outChannels, k]).bmm(cols.permute([2, 1, 0]));
    let out = perLocation.permute([2, 1, 0]).reshape([x.shape[0], this.outChannels, outH, outW]);
    if (this.bias) out = out.add(this.bias);
    return unbatched ? out.squeeze(0) : out;
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, input_size=${pyTuple(this.inputSize)}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}, padding=${pyTuple(this.padding)}, bias=${this.bias ? "True" : "False"}`;
  }
}
