import { fail } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import type { Tensor } from "../../tensor/tensor.js";
import { generatorOf, imagePlanes, type RandomTransformOptions } from "./transform.js";

/** Mirrors the image left-right with probability p, default 0.5 (torchvision.transforms.RandomHorizontalFlip). */
export class RandomHorizontalFlip {
  readonly p: number;
  private readonly generator: Generator;

  constructor(options: RandomTransformOptions & { p?: number } = {}) {
    const p = options.p ?? 0.5;
    if (!(p >= 0 && p <= 1)) fail("RandomHorizontalFlip", `p should be a probability in [0, 1], got ${p}`);
    this.p = p;
    this.generator = generatorOf(options);
  }

  forward(image: Tensor): Tensor {
    imagePlanes("RandomHorizontalFlip", image);
    return this.generator.random() < this.p ? image.flip([-1]).contiguous() : image;
  }

  toString(): string {
    return `RandomHorizontalFlip(p=${this.p})`;
  }
}
