import { fail, fmtShape } from "../../core/errors.js";
import type { Tensor } from "../../tensor/tensor.js";
import { imagePlanes, planesToTensor } from "./transform.js";

/**
 * (x - mean[c]) / std[c] per channel of a [..., C, H, W] float tensor. One mean/std value is
 * broadcast over every channel. Works the same on one image and on a batch.
 */
export class Normalize {
  readonly mean: number[];
  readonly std: number[];

  constructor(mean: number | number[], std: number | number[]) {
    this.mean = typeof mean === "number" ? [mean] : mean.slice();
    this.std = typeof std === "number" ? [std] : std.slice();
    if (this.std.some((s) => s === 0)) fail("Normalize", `std evaluated to zero after conversion to float32, leading to division by zero: std = [${this.std.join(", ")}]`);
  }

  forward(image: Tensor): Tensor {
    if (image.ndim < 3) fail("Normalize", `expected a tensor image of shape [..., C, H, W], got ${fmtShape(image.shape)}`);
    const p = imagePlanes("Normalize", image);
    const channels = p.shape[p.shape.length - 3];
    for (const [name, values] of [["mean", this.mean], ["std", this.std]] as const) {
      if (values.length !== 1 && values.length !== channels) fail("Normalize", `${name} has ${values.length} values but the image has ${channels} channels (shape ${fmtShape(p.shape)})`);
    }
    const planeSize = p.height * p.width;
    const out = p.data; // already a private copy
    // Computes (x - mean) / std in float32 steps as PyTorch does (sub_ then div_).
    const mean = Float32Array.from({ length: channels }, (_, c) => this.mean[this.mean.length === 1 ? 0 : c]);
    const std = Float32Array.from({ length: channels }, (_, c) => this.std[this.std.length === 1 ? 0 : c]);
    for (let plane = 0; plane < p.planes; plane++) {
      const c = plane % channels;
      const m = mean[c];
      const s = std[c];
      const base = plane * planeSize;
      for (let i = base; i < base + planeSize; i++) out[i] = Math.fround(out[i] - m) / s;
    }
    return planesToTensor(out, p.shape.slice(0, -2), p.height, p.width);
  }

  forwardBatch(batch: Tensor): Tensor {
    return this.forward(batch);
  }

  toString(): string {
    return `Normalize(mean=[${this.mean.join(", ")}], std=[${this.std.join(", ")}])`;
  }
}
