import { fail } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import type { Tensor } from "../../tensor/tensor.js";
import { pad } from "./pad.js";
import { generatorOf, imagePlanes, pairOf, planesToTensor, uniform, type RandomTransformOptions } from "./transform.js";

/** The normalised 1-D Gaussian torchvision uses: exp(-x^2 / (2 sigma^2)) at x = -k/2 .. k/2. */
export function gaussianKernel1d(kernelSize: number, sigma: number): Float32Array {
  const half = (kernelSize - 1) * 0.5;
  const kernel = new Float32Array(kernelSize);
  let sum = 0;
  for (let i = 0; i < kernelSize; i++) {
    const x = kernelSize === 1 ? -half : -half + (2 * half * i) / (kernelSize - 1);
    kernel[i] = Math.exp(-0.5 * (x / sigma) ** 2);
    sum += kernel[i];
  }
  for (let i = 0; i < kernelSize; i++) kernel[i] /= sum;
  return kernel;
}

/**
 * Blurs a [..., H, W] image with a Gaussian kernel (torchvision.transforms.functional.gaussian_blur):
 * reflect padding, so the output has the input's size. `kernelSize` is [kx, ky] (odd), `sigma` [sx, sy]
 * (default: torchvision's choice for the kernel size).
 */
export function gaussianBlur(image: Tensor, kernelSize: number | number[], options: { sigma?: number | number[] } = {}): Tensor {
  const sigma = options.sigma;
  const [kx, ky] = pairOf("gaussianBlur", kernelSize, "kernelSize");
  if ([kx, ky].some((k) => !Number.isInteger(k) || k <= 0 || k % 2 === 0)) fail("gaussianBlur", `kernel size should have odd and positive integers, got [${kx}, ${ky}]`);
  // torchvision's default sigma for a kernel size k: 0.3 * ((k - 1) * 0.5 - 1) + 0.8
  const [sx, sy] = sigma === undefined ? [kx, ky].map((k) => 0.3 * ((k - 1) * 0.5 - 1) + 0.8) : pairOf("gaussianBlur", sigma, "sigma");
  if (sx <= 0 || sy <= 0) fail("gaussianBlur", `sigma should have positive values, got [${sx}, ${sy}]`);
  const kernelX = gaussianKernel1d(kx, sx);
  const kernelY = gaussianKernel1d(ky, sy);
  const padded = pad(image, [kx >> 1, ky >> 1, kx >> 1, ky >> 1], { paddingMode: "reflect" });
  const p = imagePlanes("gaussianBlur", padded);
  const height = p.height - 2 * (ky >> 1);
  const width = p.width - 2 * (kx >> 1);
  const out = new Float32Array(p.planes * height * width);
  const rows = new Float32Array(p.height * width);
  for (let plane = 0; plane < p.planes; plane++) {
    const src = plane * p.height * p.width;
    // Separable: blur along x into `rows`, then along y into the output.
    for (let y = 0; y < p.height; y++) {
      for (let x = 0; x < width; x++) {
        let acc = 0;
        for (let k = 0; k < kx; k++) acc += kernelX[k] * p.data[src + y * p.width + x + k];
        rows[y * width + x] = acc;
      }
    }
    const dst = plane * height * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let acc = 0;
        for (let k = 0; k < ky; k++) acc += kernelY[k] * rows[(y + k) * width + x];
        out[dst + y * width + x] = acc;
      }
    }
  }
  return planesToTensor(out, p.shape.slice(0, -2), height, width);
}

/**
 * Blurs with a Gaussian whose sigma is drawn uniformly from `sigma` = [min, max] (default
 * [0.1, 2.0]) or fixed to a single value (torchvision.transforms.GaussianBlur).
 */
export class GaussianBlur {
  readonly kernelSize: [number, number];
  readonly sigma: [number, number];
  private readonly generator: Generator;

  constructor(kernelSize: number | number[], options: RandomTransformOptions & { sigma?: number | number[] } = {}) {
    const sigma = options.sigma ?? [0.1, 2.0];
    this.kernelSize = pairOf("GaussianBlur", kernelSize, "kernelSize");
    if (this.kernelSize.some((k) => !Number.isInteger(k) || k <= 0 || k % 2 === 0)) fail("GaussianBlur", `kernel size value should be an odd and positive number, got ${JSON.stringify(kernelSize)}`);
    if (typeof sigma === "number") {
      if (sigma <= 0) fail("GaussianBlur", `if sigma is a single number, it must be positive, got ${sigma}`);
      this.sigma = [sigma, sigma];
    } else {
      if (sigma.length !== 2 || !(0 < sigma[0] && sigma[0] <= sigma[1])) fail("GaussianBlur", `sigma values should be positive and of the form (min, max), got ${JSON.stringify(sigma)}`);
      this.sigma = [sigma[0], sigma[1]];
    }
    this.generator = generatorOf(options);
  }

  forward(image: Tensor): Tensor {
    const sigma = uniform(this.generator, this.sigma[0], this.sigma[1]);
    return gaussianBlur(image, this.kernelSize, { sigma: [sigma, sigma] });
  }

  toString(): string {
    return `GaussianBlur(kernel_size=(${this.kernelSize.join(", ")}), sigma=(${this.sigma.join(", ")}))`;
  }
}
