import { fail, fmtShape } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import { permutation } from "../dataset.js";
import type { Tensor } from "../../tensor/tensor.js";
import { generatorOf, imagePlanes, planesToTensor, rangeOf, uniform, type Planes, type RandomTransformOptions } from "./transform.js";

// The colour adjustments of torchvision.transforms.functional on float [..., C, H, W] images in [0, 1].

function colorPlanes(op: string, image: Tensor): Planes & { channels: number } {
  const p = imagePlanes(op, image);
  const channels = p.shape.length >= 3 ? p.shape[p.shape.length - 3] : 0;
  if (channels !== 1 && channels !== 3) fail(op, `expected an image with 1 or 3 channels ([..., C, H, W]), got shape ${fmtShape(p.shape)}`);
  return { ...p, channels };
}

function result(p: Planes, data: Float32Array): Tensor {
  return planesToTensor(data, p.shape.slice(0, -2), p.height, p.width);
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** ratio * a + (1 - ratio) * b, clamped to [0, 1] (torchvision's _blend). */
function blend(a: number, b: number, ratio: number): number {
  return clamp01(Math.fround(Math.fround(ratio * a) + Math.fround((1 - ratio) * b)));
}

/** Per-image grayscale (ITU-R 601-2 luma, as torchvision's rgb_to_grayscale), one plane per image. */
function grayscale(p: Planes & { channels: number }): Float32Array {
  const size = p.height * p.width;
  const images = p.planes / p.channels;
  const gray = new Float32Array(images * size);
  for (let n = 0; n < images; n++) {
    const base = n * p.channels * size;
    for (let i = 0; i < size; i++) {
      gray[n * size + i] = p.channels === 1 ? p.data[base + i] : 0.2989 * p.data[base + i] + 0.587 * p.data[base + size + i] + 0.114 * p.data[base + 2 * size + i];
    }
  }
  return gray;
}

export function adjustBrightness(image: Tensor, factor: number): Tensor {
  if (factor < 0) fail("adjustBrightness", `brightness factor (${factor}) is not non-negative`);
  const p = colorPlanes("adjustBrightness", image);
  const out = p.data.map((v) => blend(v, 0, factor));
  return result(p, out);
}

export function adjustContrast(image: Tensor, factor: number): Tensor {
  if (factor < 0) fail("adjustContrast", `contrast factor (${factor}) is not non-negative`);
  const p = colorPlanes("adjustContrast", image);
  const gray = grayscale(p);
  const size = p.height * p.width;
  const out = new Float32Array(p.data.length);
  for (let n = 0; n < p.planes / p.channels; n++) {
    let sum = 0;
    for (let i = n * size; i < (n + 1) * size; i++) sum += Math.fround(gray[i]);
    const mean = Math.fround(sum / size);
    for (let i = n * p.channels * size; i < (n + 1) * p.channels * size; i++) out[i] = blend(p.data[i], mean, factor);
  }
  return result(p, out);
}

/** A one-channel image has no saturation: it is returned unchanged, as torchvision does. */
export function adjustSaturation(image: Tensor, factor: number): Tensor {
  if (factor < 0) fail("adjustSaturation", `saturation factor (${factor}) is not non-negative`);
  const p = colorPlanes("adjustSaturation", image);
  if (p.channels === 1) return image;
  const gray = grayscale(p);
  const size = p.height * p.width;
  const out = new Float32Array(p.data.length);
  for (let n = 0; n < p.planes / 3; n++) {
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < size; i++) out[(n * 3 + c) * size + i] = blend(p.data[(n * 3 + c) * size + i], Math.fround(gray[n * size + i]), factor);
    }
  }
  return result(p, out);
}

/** Shifts the hue by `factor` turns (in [-0.5, 0.5]) through HSV; a one-channel image is unchanged. */
export function adjustHue(image: Tensor, factor: number): Tensor {
  if (!(factor >= -0.5 && factor <= 0.5)) fail("adjustHue", `hue factor (${factor}) is not in [-0.5, 0.5]`);
  const p = colorPlanes("adjustHue", image);
  if (p.channels === 1) return image;
  const size = p.height * p.width;
  const out = new Float32Array(p.data.length);
  const f = Math.fround;
  for (let n = 0; n < p.planes / 3; n++) {
    const base = n * 3 * size;
    for (let i = 0; i < size; i++) {
      const r = p.data[base + i];
      const g = p.data[base + size + i];
      const b = p.data[base + 2 * size + i];
      // rgb -> hsv (torchvision's _rgb2hsv)
      const maxc = Math.max(r, g, b);
      const minc = Math.min(r, g, b);
      const cr = f(maxc - minc);
      const s = f(cr / (maxc === minc ? 1 : maxc));
      const divisor = maxc === minc ? 1 : cr;
      const rc = f(f(maxc - r) / divisor);
      const gc = f(f(maxc - g) / divisor);
      const bc = f(f(maxc - b) / divisor);
      let h = maxc === r ? f(bc - gc) : maxc === g ? f(f(2 + rc) - bc) : f(f(4 + gc) - rc);
      h = f(f(h / 6) + 1) % 1;
      h = f(f(h + factor) % 1);
      if (h < 0) h = f(h + 1);
      // hsv -> rgb (torchvision's _hsv2rgb)
      const v = maxc;
      const sector = Math.floor(f(h * 6));
      const frac = f(f(h * 6) - sector);
      const pp = clamp01(f(v * f(1 - s)));
      const q = clamp01(f(v * f(1 - f(s * frac))));
      const t = clamp01(f(v * f(1 - f(s * f(1 - frac)))));
      const k = ((sector % 6) + 6) % 6;
      out[base + i] = [v, q, pp, pp, t, v][k];
      out[base + size + i] = [t, v, v, q, pp, pp][k];
      out[base + 2 * size + i] = [pp, pp, t, v, v, q][k];
    }
  }
  return result(p, out);
}

export interface ColorJitterOptions extends RandomTransformOptions {
  /** Factor drawn from [max(0, 1 - b), 1 + b], or from [min, max]. */
  brightness?: number | [number, number];
  contrast?: number | [number, number];
  saturation?: number | [number, number];
  /** Shift drawn from [-h, h] (h <= 0.5), or from [min, max]. */
  hue?: number | [number, number];
}

/** Randomly changes brightness, contrast, saturation and hue, in a random order (torchvision.transforms.ColorJitter). */
export class ColorJitter {
  readonly brightness: [number, number] | null;
  readonly contrast: [number, number] | null;
  readonly saturation: [number, number] | null;
  readonly hue: [number, number] | null;
  private readonly generator: Generator;

  constructor(options: ColorJitterOptions = {}) {
    const check = (value: number | [number, number] | undefined, name: string, center: number, bound: [number, number], clipFirst: boolean) => {
      if (value === undefined) return null;
      const range = rangeOf("ColorJitter", value, name, center, bound, clipFirst);
      return range[0] === center && range[1] === center ? null : range;
    };
    this.brightness = check(options.brightness, "brightness", 1, [0, Infinity], true);
    this.contrast = check(options.contrast, "contrast", 1, [0, Infinity], true);
    this.saturation = check(options.saturation, "saturation", 1, [0, Infinity], true);
    this.hue = check(options.hue, "hue", 0, [-0.5, 0.5], false);
    this.generator = generatorOf(options);
  }

  forward(image: Tensor): Tensor {
    const g = this.generator;
    // Same draw order as torchvision's get_params: the order, then one factor per enabled adjustment.
    const order = permutation(4, g);
    const draw = (range: [number, number] | null) => (range === null ? null : uniform(g, range[0], range[1]));
    const factors = [draw(this.brightness), draw(this.contrast), draw(this.saturation), draw(this.hue)];
    const adjust = [adjustBrightness, adjustContrast, adjustSaturation, adjustHue];
    let img = image;
    for (const which of order) {
      const factor = factors[which];
      if (factor !== null) img = adjust[which](img, factor);
    }
    return img;
  }

  toString(): string {
    const fmt = (r: [number, number] | null) => (r ? `(${r[0]}, ${r[1]})` : "None");
    return `ColorJitter(brightness=${fmt(this.brightness)}, contrast=${fmt(this.contrast)}, saturation=${fmt(this.saturation)}, hue=${fmt(this.hue)})`;
  }
}
