import { fail } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import type { Tensor } from "../../tensor/tensor.js";
import { generatorOf, imagePlanes, planesToTensor, uniform, type RandomTransformOptions } from "./transform.js";

export type Interpolation = "nearest" | "bilinear";

export interface AffineOptions {
  /** Interpolation of the resampled pixels (default "nearest", as torchvision). */
  interpolation?: Interpolation;
  /** Value for pixels that fall outside the source image (default 0). */
  fill?: number;
  /** Centre of rotation/scale in pixel coordinates [x, y]; defaults to the image centre. */
  center?: [number, number] | null;
}

/**
 * The inverse of "rotate by `angle` degrees about `center`, scale, shear, then translate", as
 * torchvision's _get_inverse_affine_matrix: maps output coordinates back to input coordinates
 * (origin at the image centre, y pointing down). Returns [a, b, c, d, e, f] of [[a b c], [d e f]].
 */
export function inverseAffineMatrix(center: [number, number], angle: number, translate: [number, number], scale: number, shear: [number, number]): number[] {
  const rot = (angle * Math.PI) / 180;
  const sx = (shear[0] * Math.PI) / 180;
  const sy = (shear[1] * Math.PI) / 180;
  const [cx, cy] = center;
  const [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0].map((v) => v / scale);
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
  m[2] += cx;
  m[5] += cy;
  return m;
}

/**
 * Resamples a [..., H, W] image through an inverse affine matrix in centred coordinates, as
 * torchvision does for tensors (affine_grid + grid_sample, align_corners=false, zero padding,
 * then `fill` where the sample fell outside).
 */
function warp(image: Tensor, matrix: number[], interpolation: Interpolation, fill: number): Tensor {
  const p = imagePlanes("affine", image);
  const { height: h, width: w } = p;
  const f = Math.fround;
  // The grid in float32, as torch computes it: base coords (x, y, 1) times theta^T / (w/2, h/2).
  const theta = matrix.map((v) => f(v));
  const [t0, t1, t2] = [f(theta[0] / f(0.5 * w)), f(theta[1] / f(0.5 * w)), f(theta[2] / f(0.5 * w))];
  const [t3, t4, t5] = [f(theta[3] / f(0.5 * h)), f(theta[4] / f(0.5 * h)), f(theta[5] / f(0.5 * h))];
  const out = new Float32Array(p.planes * h * w);
  const size = h * w;
  for (let oy = 0; oy < h; oy++) {
    const y = f(-h * 0.5 + 0.5 + oy);
    for (let ox = 0; ox < w; ox++) {
      const x = f(-w * 0.5 + 0.5 + ox);
      const gx = f(f(f(x * t0) + f(y * t1)) + t2);
      const gy = f(f(f(x * t3) + f(y * t4)) + t5);
      // grid_sample's unnormalisation with align_corners=false
      const ix = f(f(f(gx + 1) * w - 1) / 2);
      const iy = f(f(f(gy + 1) * h - 1) / 2);
      const o = oy * w + ox;
      if (interpolation === "nearest") {
        const nx = roundHalfEven(ix);
        const ny = roundHalfEven(iy);
        const inside = nx >= 0 && nx < w && ny >= 0 && ny < h;
        for (let plane = 0; plane < p.planes; plane++) out[plane * size + o] = inside ? p.data[plane * size + ny * w + nx] : fill;
      } else {
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        const wx = ix - x0;
        const wy = iy - y0;
        const taps: [number, number, number][] = [
          [x0, y0, (1 - wx) * (1 - wy)],
          [x0 + 1, y0, wx * (1 - wy)],
          [x0, y0 + 1, (1 - wx) * wy],
          [x0 + 1, y0 + 1, wx * wy],
        ].filter(([tx, ty]) => tx >= 0 && tx < w && ty >= 0 && ty < h) as [number, number, number][];
        // The weight that landed inside the image: torchvision's "mask" channel.
        const mask = taps.reduce((acc, [, , weight]) => acc + weight, 0);
        for (let plane = 0; plane < p.planes; plane++) {
          let acc = 0;
          for (const [tx, ty, weight] of taps) acc += weight * p.data[plane * size + ty * w + tx];
          out[plane * size + o] = acc * mask + (1 - mask) * fill;
        }
      }
    }
  }
  return planesToTensor(out, p.shape.slice(0, -2), h, w);
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Centre of rotation in torchvision's centred coordinates. */
function centeredCenter(image: Tensor, center: [number, number] | null | undefined): [number, number] {
  if (!center) return [0, 0];
  const [h, w] = image.shape.slice(-2);
  return [center[0] - w * 0.5, center[1] - h * 0.5];
}

/** torchvision.transforms.functional.affine on a [..., H, W] float image. Angles in degrees. */
export function affine(image: Tensor, angle: number, translate: [number, number], scale: number, shear: number | [number, number], options: AffineOptions = {}): Tensor {
  if (!(scale > 0)) fail("affine", `scale should be positive, got ${scale}`);
  const shearPair: [number, number] = typeof shear === "number" ? [shear, 0] : shear;
  const matrix = inverseAffineMatrix(centeredCenter(image, options.center), angle, translate, scale, shearPair);
  return warp(image, matrix, options.interpolation ?? "nearest", options.fill ?? 0);
}

/** torchvision.transforms.functional.rotate (counter-clockwise for positive angles, same size). */
export function rotate(image: Tensor, angle: number, options: AffineOptions = {}): Tensor {
  // torchvision negates the angle here: its affine and rotate conventions differ.
  const matrix = inverseAffineMatrix(centeredCenter(image, options.center), -angle, [0, 0], 1, [0, 0]);
  return warp(image, matrix, options.interpolation ?? "nearest", options.fill ?? 0);
}

function degreesRange(op: string, degrees: number | [number, number]): [number, number] {
  if (typeof degrees === "number") {
    if (degrees < 0) fail(op, `if degrees is a single number, it must be positive, got ${degrees}`);
    return [-degrees, degrees];
  }
  if (degrees.length !== 2) fail(op, `degrees should be a number or a sequence of 2 numbers, got ${JSON.stringify(degrees)}`);
  return [degrees[0], degrees[1]];
}

export interface RandomAffineOptions extends AffineOptions, RandomTransformOptions {
  /** Maximum absolute fraction [a, b] of the width and height for horizontal and vertical shifts. */
  translate?: [number, number] | null;
  /** Scale factor range [min, max]. */
  scale?: [number, number] | null;
  /** Shear angle(s) in degrees: s (x in [-s, s]), [min, max] (x), or [xmin, xmax, ymin, ymax]. */
  shear?: number | number[] | null;
}

/** A random affine transform keeping the image centre (torchvision.transforms.RandomAffine). */
export class RandomAffine {
  readonly degrees: [number, number];
  readonly translate: [number, number] | null;
  readonly scale: [number, number] | null;
  readonly shear: number[] | null;
  private readonly options: AffineOptions;
  private readonly generator: Generator;

  constructor(degrees: number | [number, number], options: RandomAffineOptions = {}) {
    this.degrees = degreesRange("RandomAffine", degrees);
    this.translate = options.translate ?? null;
    if (this.translate && this.translate.some((t) => !(t >= 0 && t <= 1))) fail("RandomAffine", `translation values should be between 0 and 1, got [${this.translate.join(", ")}]`);
    this.scale = options.scale ?? null;
    if (this.scale && this.scale.some((s) => !(s > 0))) fail("RandomAffine", `scale values should be positive, got [${this.scale.join(", ")}]`);
    const shear = options.shear ?? null;
    if (shear === null) this.shear = null;
    else if (typeof shear === "number") {
      if (shear < 0) fail("RandomAffine", `if shear is a single number, it must be positive, got ${shear}`);
      this.shear = [-shear, shear];
    } else if (shear.length === 2 || shear.length === 4) this.shear = shear.slice();
    else this.shear = fail("RandomAffine", `shear should be a number or a sequence of 2 or 4 numbers, got ${JSON.stringify(shear)}`);
    this.options = { interpolation: options.interpolation, fill: options.fill, center: options.center };
    this.generator = generatorOf(options);
  }

  /** Draws (angle, translation, scale, shear) in torchvision's get_params order. */
  getParams(width: number, height: number): { angle: number; translate: [number, number]; scale: number; shear: [number, number] } {
    const g = this.generator;
    const angle = uniform(g, this.degrees[0], this.degrees[1]);
    let translate: [number, number] = [0, 0];
    if (this.translate) {
      const maxDx = this.translate[0] * width;
      const maxDy = this.translate[1] * height;
      translate = [roundHalfEven(uniform(g, -maxDx, maxDx)), roundHalfEven(uniform(g, -maxDy, maxDy))];
    }
    const scale = this.scale ? uniform(g, this.scale[0], this.scale[1]) : 1;
    const shear: [number, number] = [0, 0];
    if (this.shear) {
      shear[0] = uniform(g, this.shear[0], this.shear[1]);
      if (this.shear.length === 4) shear[1] = uniform(g, this.shear[2], this.shear[3]);
    }
    return { angle, translate, scale, shear };
  }

  forward(image: Tensor): Tensor {
    const [h, w] = image.shape.slice(-2);
    const { angle, translate, scale, shear } = this.getParams(w, h);
    return affine(image, angle, translate, scale, shear, this.options);
  }

  toString(): string {
    return `RandomAffine(degrees=[${this.degrees.join(", ")}]${this.translate ? `, translate=[${this.translate.join(", ")}]` : ""}${this.scale ? `, scale=[${this.scale.join(", ")}]` : ""}${this.shear ? `, shear=[${this.shear.join(", ")}]` : ""})`;
  }
}

/** Rotates by an angle drawn from [-d, d] (or [min, max]) degrees (torchvision.transforms.RandomRotation). */
export class RandomRotation {
  readonly degrees: [number, number];
  private readonly options: AffineOptions;
  private readonly generator: Generator;

  constructor(degrees: number | [number, number], options: AffineOptions & RandomTransformOptions = {}) {
    this.degrees = degreesRange("RandomRotation", degrees);
    this.options = { interpolation: options.interpolation, fill: options.fill, center: options.center };
    this.generator = generatorOf(options);
  }

  forward(image: Tensor): Tensor {
    return rotate(image, uniform(this.generator, this.degrees[0], this.degrees[1]), this.options);
  }

  toString(): string {
    return `RandomRotation(degrees=[${this.degrees.join(", ")}])`;
  }
}
