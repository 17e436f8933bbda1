import { fail } from "../../core/errors.js";
import type { Tensor } from "../../tensor/tensor.js";
import { imagePlanes, planesToTensor } from "./transform.js";

export type PaddingMode = "constant" | "edge" | "reflect" | "symmetric";

/** torchvision's padding argument: p (all sides), [left/right, top/bottom] or [left, top, right, bottom]. */
export function paddingOf(op: string, padding: number | readonly number[]): [number, number, number, number] {
  const p = typeof padding === "number" ? [padding] : padding.slice();
  const sides = p.length === 1 ? [p[0], p[0], p[0], p[0]] : p.length === 2 ? [p[0], p[1], p[0], p[1]] : p.length === 4 ? p : null;
  if (sides === null || sides.some((v) => !Number.isInteger(v) || v < 0)) {
    fail(op, `padding must be a non-negative integer or a sequence of 2 or 4 of them, got ${JSON.stringify(padding)}`);
  }
  return sides as [number, number, number, number];
}

/** Maps an out-of-range coordinate back into [0, size) for the non-constant modes (null: use fill). */
function sourceIndex(i: number, size: number, mode: PaddingMode): number | null {
  if (i >= 0 && i < size) return i;
  switch (mode) {
    case "constant":
      return null;
    case "edge":
      return i < 0 ? 0 : size - 1;
    case "reflect": {
      const period = 2 * (size - 1);
      if (period === 0) return 0;
      let k = ((i % period) + period) % period;
      if (k >= size) k = period - k;
      return k;
    }
    case "symmetric": {
      const period = 2 * size;
      let k = ((i % period) + period) % period;
      if (k >= size) k = period - 1 - k;
      return k;
    }
  }
}

/** Pads the last two dims of a [..., H, W] float image (torchvision.transforms.functional.pad). */
export function pad(image: Tensor, padding: number | readonly number[], options: { fill?: number; paddingMode?: PaddingMode } = {}): Tensor {
  const [left, top, right, bottom] = paddingOf("pad", padding);
  const mode = options.paddingMode ?? "constant";
  const fill = options.fill ?? 0;
  const p = imagePlanes("pad", image);
  if (mode === "reflect" && (Math.max(left, right) >= p.width || Math.max(top, bottom) >= p.height)) {
    fail("pad", `reflect padding [${left}, ${top}, ${right}, ${bottom}] must be smaller than the image size ${p.height}x${p.width}`);
  }
  const outH = p.height + top + bottom;
  const outW = p.width + left + right;
  const rows = Array.from({ length: outH }, (_, y) => sourceIndex(y - top, p.height, mode));
  const cols = Array.from({ length: outW }, (_, x) => sourceIndex(x - left, p.width, mode));
  const out = new Float32Array(p.planes * outH * outW);
  for (let plane = 0; plane < p.planes; plane++) {
    const src = plane * p.height * p.width;
    const dst = plane * outH * outW;
    for (let y = 0; y < outH; y++) {
      const sy = rows[y];
      for (let x = 0; x < outW; x++) {
        const sx = cols[x];
        out[dst + y * outW + x] = sy === null || sx === null ? fill : p.data[src + sy * p.width + sx];
      }
    }
  }
  return planesToTensor(out, p.shape.slice(0, -2), outH, outW);
}

/** Pads the image on every side (torchvision.transforms.Pad). */
export class Pad {
  readonly padding: [number, number, number, number];
  readonly fill: number;
  readonly paddingMode: PaddingMode;

  constructor(padding: number | readonly number[], options: { fill?: number; paddingMode?: PaddingMode } = {}) {
    this.padding = paddingOf("Pad", padding);
    this.fill = options.fill ?? 0;
    this.paddingMode = options.paddingMode ?? "constant";
  }

  forward(image: Tensor): Tensor {
    return pad(image, this.padding, { fill: this.fill, paddingMode: this.paddingMode });
  }

  /** Padding is the same for every image, so a [B, C, H, W] batch pads in one call. */
  forwardBatch(batch: Tensor): Tensor {
    return this.forward(batch);
  }

  toString(): string {
    return `Pad(padding=[${this.padding.join(", ")}], fill=${this.fill}, padding_mode=${this.paddingMode})`;
  }
}

/** The [top, top + height) x [left, left + width) window of a [..., H, W] image (inside the image). */
export function crop(image: Tensor, top: number, left: number, height: number, width: number): Tensor {
  const p = imagePlanes("crop", image);
  if (top < 0 || left < 0 || top + height > p.height || left + width > p.width) {
    fail("crop", `window top=${top}, left=${left}, ${height}x${width} does not fit an image of ${p.height}x${p.width}`);
  }
  const out = new Float32Array(p.planes * height * width);
  for (let plane = 0; plane < p.planes; plane++) {
    for (let y = 0; y < height; y++) {
      const src = plane * p.height * p.width + (top + y) * p.width + left;
      out.set(p.data.subarray(src, src + width), (plane * height + y) * width);
    }
  }
  return planesToTensor(out, p.shape.slice(0, -2), height, width);
}
