import { fail } from "../../core/errors.js";
import { type AnyOptimizer, LRScheduler, type SchedulerOptions } from "./scheduler.js";

export interface LinearLROptions extends SchedulerOptions {
  /** The factor applied at epoch 0 (default 1/3). */
  startFactor?: number;
  /** The factor reached after `totalIters` epochs (default 1). */
  endFactor?: number;
  /** The number of epochs of the linear change (default 5). */
  totalIters?: number;
}

/** Scales the learning rate by a factor going linearly from `startFactor` to `endFactor` over `totalIters` epochs (warm-up). */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: AnyOptimizer, options: LinearLROptions = {}) {
    super(optimizer, options.lastEpoch);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) fail("LinearLR", `startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) fail("LinearLR", `endFactor must be in [0, 1], got ${this.endFactor}`);
    this.initialStep();
  }

  protected computeLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n, lastEpoch: t } = this;
    if (t === 0) return this.groupLrs().map((lr) => lr * s);
    if (t > n) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * (1 + (e - s) / (n * s + (t - 1) * (e - s))));
  }

  protected override closedFormLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n, lastEpoch: t } = this;
    return this.baseLrs.map((base) => base * (s + ((e - s) * Math.min(n, t)) / n));
  }
}

export interface ConstantLROptions extends SchedulerOptions {
  /** The factor applied until `totalIters` (default 1/3). */
  factor?: number;
  /** The number of epochs at the reduced rate (default 5). */
  totalIters?: number;
}

/** Scales the learning rate by a constant `factor` for the first `totalIters` epochs (warm-up). */
export class ConstantLR extends LRScheduler {
  readonly factor: number;
  readonly totalIters: number;

  constructor(optimizer: AnyOptimizer, options: ConstantLROptions = {}) {
    super(optimizer, options.lastEpoch);
    this.factor = options.factor ?? 1 / 3;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.factor >= 0 && this.factor <= 1)) fail("ConstantLR", `constant multiplicative factor expected to be between 0 and 1, got ${this.factor}`);
    this.initialStep();
  }

  protected computeLr(): number[] {
    if (this.lastEpoch === 0) return this.groupLrs().map((lr) => lr * this.factor);
    if (this.lastEpoch !== this.totalIters) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * (1 / this.factor));
  }

  protected override closedFormLr(): number[] {
    const after = this.lastEpoch >= this.totalIters ? 1 : 0;
    return this.baseLrs.map((base) => base * (this.factor + after * (1 - this.factor)));
  }
}
