// Upsampling layers over F.interpolate.
import type { Tensor } from "../../tensor/tensor.js";
import { interpolate, type InterpolateMode } from "../functional/sampling.js";
import { Module, pyFloat, pyRepr } from "../module.js";

export interface UpsampleOptions {
  size?: number | number[] | null;
  scaleFactor?: number | number[] | null;
  mode?: InterpolateMode;
  alignCorners?: boolean | null;
  recomputeScaleFactor?: boolean | null;
}

/** torch.nn.Upsample: every argument is optional in PyTorch, so all go in the options. */
export class Upsample extends Module {
  readonly size: number | number[] | null;
  readonly scaleFactor: number | number[] | null;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | null;
  readonly recomputeScaleFactor: boolean | null;

  constructor(options: UpsampleOptions = {}) {
    super();
    this.size = options.size ?? null;
    this.scaleFactor = options.scaleFactor ?? null;
    this.mode = options.mode ?? "nearest";
    this.alignCorners = options.alignCorners ?? null;
    this.recomputeScaleFactor = options.recomputeScaleFactor ?? null;
  }

  forward(input: Tensor): Tensor {
    return interpolate(input, {
      size: this.size, scaleFactor: this.scaleFactor, mode: this.mode, alignCorners: this.alignCorners, recomputeScaleFactor: this.recomputeScaleFactor,
    });
  }

  override extraRepr(): string {
    const scale = this.scaleFactor === null ? null : typeof this.scaleFactor === "number" ? pyFloat(this.scaleFactor) : `(${this.scaleFactor.map(pyFloat).join(", ")})`;
    const head = scale !== null ? `scale_factor=${scale}` : `size=${pyRepr(this.size)}`;
    return `${head}, mode=${this.mode}`;
  }
}

/** torch.nn.UpsamplingNearest2d: Upsample with mode "nearest". */
export class UpsamplingNearest2d extends Upsample {
  constructor(options: { size?: number | number[] | null; scaleFactor?: number | number[] | null } = {}) {
    super({ ...options, mode: "nearest" });
  }
}

/** torch.nn.UpsamplingBilinear2d: Upsample with mode "bilinear" and alignCorners true. */
export class UpsamplingBilinear2d extends Upsample {
  constructor(options: { size?: number | number[] | null; scaleFactor?: number | number[] | null } = {}) {
    super({ ...options, mode: "bilinear", alignCorners: true });
  }
}
