import { fail, fmtShape } from "../../core/errors.js";
import { defaultGenerator, type Generator } from "../../core/rng.js";
import { fromStorage } from "../../ops/util.js";
import type { Tensor } from "../../tensor/tensor.js";

/** A transform is a function or an object with `forward` (PyTorch's callable transform objects). */
export type Transform<I = any, O = any> = ((input: I) => O) | { forward(input: I): O };

export function applyTransform<I, O>(transform: Transform<I, O>, input: I): O {
  return typeof transform === "function" ? transform(input) : transform.forward(input);
}

/** Options shared by the random transforms: where their random numbers come from. */
export interface RandomTransformOptions {
  /** Defaults to the global generator, so flint.manualSeed makes augmentation reproducible. */
  generator?: Generator;
}

export function generatorOf(options: RandomTransformOptions): Generator {
  return options.generator ?? defaultGenerator;
}

/** Uniform in [low, high) (torch.empty(1).uniform_(low, high)). */
export function uniform(generator: Generator, low: number, high: number): number {
  return low + (high - low) * generator.random();
}

/** A float32 CHW image (or a batch [..., C, H, W]) unpacked for the pixel loops. */
export interface Planes {
  data: Float32Array;
  shape: number[];
  /** Number of H x W planes (product of the leading dims). */
  planes: number;
  height: number;
  width: number;
}

export function imagePlanes(op: string, image: Tensor): Planes {
  if (image.ndim < 2) fail(op, `expected an image tensor of shape [..., H, W], got ${fmtShape(image.shape)}`);
  if (image.dtype !== "float32") fail(op, `expected a float32 image tensor (use transforms.ToTensor() first), got ${image.dtype}`);
  const shape = image.shape.slice();
  const height = shape[shape.length - 2];
  const width = shape[shape.length - 1];
  const planes = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { data: image.data() as Float32Array, shape, planes, height, width };
}

export function planesToTensor(data: Float32Array, leading: readonly number[], height: number, width: number): Tensor {
  return fromStorage(data, [...leading, height, width], "float32");
}

/** Expands PyTorch's "int or (h, w)" size argument. */
export function pairOf(op: string, value: number | readonly number[], name: string): [number, number] {
  const pair = typeof value === "number" ? [value, value] : value.length === 1 ? [value[0], value[0]] : value.slice();
  if (pair.length !== 2 || pair.some((v) => !Number.isFinite(v))) fail(op, `${name} should be a number or a sequence of 2 numbers, got ${JSON.stringify(value)}`);
  return [pair[0], pair[1]];
}

/** The [min, max] range for a "v or (min, max)" argument, where a single v means [center - v, center + v]. */
export function rangeOf(op: string, value: number | readonly number[], name: string, center: number, bound: [number, number] = [-Infinity, Infinity], clipFirst = true): [number, number] {
  let range: [number, number];
  if (typeof value === "number") {
    if (value < 0) fail(op, `if ${name} is a single number, it must be non negative, got ${value}`);
    range = [center - value, center + value];
    if (clipFirst) range[0] = Math.max(range[0], 0);
  } else {
    if (value.length !== 2) fail(op, `${name} should be a single number or a list/tuple with length 2, got ${JSON.stringify(value)}`);
    range = [value[0], value[1]];
  }
  if (!(bound[0] <= range[0] && range[0] <= range[1] && range[1] <= bound[1])) {
    fail(op, `${name} values should be between [${bound.join(", ")}], got [${range.join(", ")}]`);
  }
  return range;
}
