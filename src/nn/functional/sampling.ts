// F.interpolate: resizing NCL / NCHW tensors. Every supported mode is separable, so resizing is
// one small [out, in] interpolation matrix per spatial dim, applied with matmul (its gradient
// comes from the tape).
import { fail, fmtShape } from "../../core/errors.js";
import { tensor } from "../../tensor/creation.js";
import type { Tensor } from "../../tensor/tensor.js";

export type InterpolateMode = "nearest" | "nearest-exact" | "linear" | "bilinear" | "area";

export interface InterpolateOptions {
  /** The output's spatial size (give this or scaleFactor). */
  size?: number | number[] | null;
  /** Multiplies each spatial size (rounded down). */
  scaleFactor?: number | number[] | null;
  /** "nearest" (default), "nearest-exact", "linear" (3-D input), "bilinear" (4-D input) or "area". */
  mode?: InterpolateMode;
  /** For linear modes: align the corner pixels' centres (default false). */
  alignCorners?: boolean | null;
  /** Compute the sampling scale from the output size instead of using scaleFactor directly. */
  recomputeScaleFactor?: boolean | null;
}

const f32 = Math.fround;

/** PyTorch's area_pixel_compute_scale: input/output pixel ratio, as float32. */
function pixelScale(inSize: number, outSize: number, alignCorners: boolean, scaleFactor: number | undefined): number {
  if (alignCorners) return outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : 0;
  return scaleFactor !== undefined && scaleFactor > 0 ? f32(1 / scaleFactor) : f32(inSize / outSize);
}

/** The [out, in] matrix of one separable resize, following PyTorch's CPU kernels' index rules. */
function resizeMatrix(mode: InterpolateMode, inSize: number, outSize: number, alignCorners: boolean, scaleFactor: number | undefined): Tensor {
  const m = new Float32Array(outSize * inSize);
  if (mode === "area") {
    // Adaptive average pooling windows [floor(i*in/out), ceil((i+1)*in/out)).
    for (let i = 0; i < outSize; i++) {
      const start = Math.floor((i * inSize) / outSize);
      const end = Math.ceil(((i + 1) * inSize) / outSize);
      for (let j = start; j < end; j++) m[i * inSize + j] = 1 / (end - start);
    }
  } else if (mode === "nearest" || mode === "nearest-exact") {
    const scale = pixelScale(inSize, outSize, false, scaleFactor);
    const offset = mode === "nearest-exact" ? 0.5 : 0;
    for (let i = 0; i < outSize; i++) {
      const src = Math.min(Math.floor(f32((i + offset) * scale)), inSize - 1);
      m[i * inSize + src] = 1;
    }
  } else {
    const scale = pixelScale(inSize, outSize, alignCorners, scaleFactor);
    for (let i = 0; i < outSize; i++) {
      const src = alignCorners ? f32(scale * i) : Math.max(0, f32(scale * (i + 0.5) - 0.5));
      const i0 = Math.min(Math.floor(src), inSize - 1);
      const i1 = Math.min(i0 + 1, inSize - 1);
      const lambda = Math.min(Math.max(src - i0, 0), 1);
      m[i * inSize + i0] += 1 - lambda;
      m[i * inSize + i1] += lambda;
    }
  }
  return tensor(m).reshape([outSize, inSize]);
}

function perDim(op: string, name: string, value: number | number[], n: number): number[] {
  const list = typeof value === "number" ? new Array<number>(n).fill(value) : value;
  if (list.length !== n) fail(op, `${name} must be a number or a list of ${n} numbers for an input with ${n} spatial dims, got ${JSON.stringify(value)}`);
  return list;
}

/** torch.nn.functional.interpolate for [N, C, L] and [N, C, H, W] inputs. */
export function interpolate(input: Tensor, options: InterpolateOptions = {}): Tensor {
  const op = "interpolate";
  const mode = options.mode ?? "nearest";
  if (input.ndim !== 3 && input.ndim !== 4) fail(op, `expected a 3-D [N, C, L] or 4-D [N, C, H, W] input, got shape ${fmtShape(input.shape)}`);
  const spatial = input.ndim - 2;
  if (mode === "linear" && spatial !== 1) fail(op, `mode "linear" needs a 3-D input, got shape ${fmtShape(input.shape)}`);
  if (mode === "bilinear" && spatial !== 2) fail(op, `mode "bilinear" needs a 4-D input, got shape ${fmtShape(input.shape)}`);
  if (!["nearest", "nearest-exact", "linear", "bilinear", "area"].includes(mode)) fail(op, `unsupported mode ${JSON.stringify(mode)}`);
  const linear = mode === "linear" || mode === "bilinear";
  if (options.alignCorners != null && !linear) fail(op, `alignCorners only applies to the linear modes, not "${mode}"`);
  const alignCorners = options.alignCorners ?? false;
  const inSizes = input.shape.slice(2);
  let outSizes: number[];
  let scales: (number | undefined)[] = inSizes.map(() => undefined);
  if (options.size != null && options.scaleFactor != null) fail(op, "only one of size or scaleFactor should be defined");
  if (options.size != null) {
    outSizes = perDim(op, "size", options.size, spatial);
  } else if (options.scaleFactor != null) {
    const factors = perDim(op, "scaleFactor", options.scaleFactor, spatial);
    if (factors.some((s) => !(s > 0))) fail(op, `scaleFactor must be positive, got ${JSON.stringify(options.scaleFactor)}`);
    outSizes = inSizes.map((n, i) => Math.floor(n * factors[i]));
    if (!options.recomputeScaleFactor) scales = factors;
  } else {
    return fail(op, "either size or scaleFactor should be defined");
  }
  if (outSizes.some((s) => !Number.isInteger(s) || s < 1)) fail(op, `output size ${fmtShape(outSizes)} must hold positive integers (input ${fmtShape(input.shape)})`);
  // Resize the last dim, then (for 2-D) the height: out = Mh @ x @ Mw^T.
  const last = spatial - 1;
  let out = input.matmul(resizeMatrix(mode, inSizes[last], outSizes[last], alignCorners, scales[last]).t());
  if (spatial === 2) out = resizeMatrix(mode, inSizes[0], outSizes[0], alignCorners, scales[0]).matmul(out);
  return out;
}
