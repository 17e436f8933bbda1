import { fail } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import type { Tensor } from "../../tensor/tensor.js";
import { crop, pad, paddingOf, type PaddingMode } from "./pad.js";
import { generatorOf, imagePlanes, pairOf, type RandomTransformOptions } from "./transform.js";

export interface RandomCropOptions extends RandomTransformOptions {
  /** Padding applied before cropping: p, [left/right, top/bottom] or [left, top, right, bottom]. */
  padding?: number | number[] | null;
  /** Pad an image smaller than `size` up to it (default false). */
  padIfNeeded?: boolean;
  fill?: number;
  paddingMode?: PaddingMode;
}

/** Crops a random size[0] x size[1] window of a [..., H, W] image (torchvision.transforms.RandomCrop). */
export class RandomCrop {
  readonly size: [number, number];
  readonly padding: [number, number, number, number] | null;
  readonly padIfNeeded: boolean;
  readonly fill: number;
  readonly paddingMode: PaddingMode;
  private readonly generator: Generator;

  constructor(size: number | number[], options: RandomCropOptions = {}) {
    this.size = pairOf("RandomCrop", size, "size");
    if (this.size.some((s) => !Number.isInteger(s) || s <= 0)) fail("RandomCrop", `size must be positive integers, got ${JSON.stringify(size)}`);
    this.padding = options.padding == null ? null : paddingOf("RandomCrop", options.padding);
    this.padIfNeeded = options.padIfNeeded ?? false;
    this.fill = options.fill ?? 0;
    this.paddingMode = options.paddingMode ?? "constant";
    this.generator = generatorOf(options);
  }

  forward(image: Tensor): Tensor {
    const padOptions = { fill: this.fill, paddingMode: this.paddingMode };
    let img = this.padding ? pad(image, this.padding, padOptions) : image;
    const [th, tw] = this.size;
    let [h, w] = img.shape.slice(-2);
    if (this.padIfNeeded && w < tw) img = pad(img, [tw - w, 0], padOptions);
    if (this.padIfNeeded && h < th) img = pad(img, [0, th - h], padOptions);
    [h, w] = img.shape.slice(-2);
    imagePlanes("RandomCrop", img);
    if (h < th || w < tw) fail("RandomCrop", `required crop size (${th}, ${tw}) is larger than input image size (${h}, ${w})`);
    if (h === th && w === tw) return img;
    const top = this.generator.randint(0, h - th + 1);
    const left = this.generator.randint(0, w - tw + 1);
    return crop(img, top, left, th, tw);
  }

  toString(): string {
    return `RandomCrop(size=(${this.size.join(", ")}), padding=${this.padding ? `[${this.padding.join(", ")}]` : "None"})`;
  }
}
