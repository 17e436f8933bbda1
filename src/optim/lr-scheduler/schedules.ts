import { fail } from "../../core/errors.js";
import { type AnyOptimizer, LRScheduler, type SchedulerOptions, type SchedulerStateDict } from "./scheduler.js";

/** Python's modulo: the result takes the divisor's sign. */
const pyMod = (a: number, m: number): number => ((a % m) + m) % m;

export interface StepLROptions extends SchedulerOptions {
  /** Multiplicative decay (default 0.1). */
  gamma?: number;
}

/** Multiplies the learning rate by `gamma` every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, stepSize: number, options: StepLROptions = {}) {
    super(optimizer, options.lastEpoch);
    if (!(Number.isInteger(stepSize) && stepSize > 0)) fail("StepLR", `stepSize must be a positive integer, got ${stepSize}`);
    this.stepSize = stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  protected computeLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Multiplies the learning rate by `gamma` at each milestone epoch (a repeated milestone counts twice). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, milestones: number[], options: StepLROptions = {}) {
    super(optimizer, options.lastEpoch);
    if (!Array.isArray(milestones)) fail("MultiStepLR", `milestones must be an array of epochs, got ${typeof milestones}`);
    this.milestones = milestones.slice().sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (hits === 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma ** hits);
  }

  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((base) => base * this.gamma ** passed);
  }
}

/** Multiplies the learning rate by `gamma` every epoch. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, gamma: number, options: SchedulerOptions = {}) {
    super(optimizer, options.lastEpoch);
    this.gamma = gamma;
    this.initialStep();
  }

  protected computeLr(): number[] {
    if (this.lastEpoch === 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** this.lastEpoch);
  }
}

export interface CosineAnnealingLROptions extends SchedulerOptions {
  /** The minimum learning rate (default 0). */
  etaMin?: number;
}

/**
 * Anneals the learning rate from its initial value to `etaMin` along half a cosine over `TMax`
 * epochs (SGDR without restarts), then back up, computed recursively as PyTorch does.
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly TMax: number;
  readonly etaMin: number;

  constructor(optimizer: AnyOptimizer, TMax: number, options: CosineAnnealingLROptions = {}) {
    super(optimizer, options.lastEpoch);
    if (!(TMax > 0)) fail("CosineAnnealingLR", `TMax must be positive, got ${TMax}`);
    this.TMax = TMax;
    this.etaMin = options.etaMin ?? 0;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const { lastEpoch: t, TMax, etaMin } = this;
    if (t === 0) return this.groupLrs();
    if (this.stepCount === 1 && t > 0) return this.baseLrs.map((base) => etaMin + (base - etaMin) * (1 + Math.cos((t * Math.PI) / TMax)) / 2);
    if (pyMod(t - 1 - TMax, 2 * TMax) === 0) {
      return this.optimizer.paramGroups.map((group, i) => group.lr + (this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / TMax)) / 2);
    }
    return this.groupLrs().map((lr) => ((1 + Math.cos((Math.PI * t) / TMax)) / (1 + Math.cos((Math.PI * (t - 1)) / TMax))) * (lr - etaMin) + etaMin);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => this.etaMin + (base - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.TMax)) / 2);
  }
}

/** Sets each group's learning rate to its initial lr times `lrLambda(epoch)` (one function, or one per group). */
export class LambdaLR extends LRScheduler {
  readonly lrLambdas: Array<(epoch: number) => number>;

  constructor(optimizer: AnyOptimizer, lrLambda: ((epoch: number) => number) | Array<(epoch: number) => number>, options: SchedulerOptions = {}) {
    super(optimizer, options.lastEpoch);
    const groups = optimizer.paramGroups.length;
    if (Array.isArray(lrLambda)) {
      if (lrLambda.length !== groups) fail("LambdaLR", `expected ${groups} lrLambdas, but got ${lrLambda.length}`);
      this.lrLambdas = lrLambda.slice();
    } else {
      if (typeof lrLambda !== "function") fail("LambdaLR", `lrLambda must be a function or an array of functions, got ${typeof lrLambda}`);
      this.lrLambdas = Array.from({ length: groups }, () => lrLambda);
    }
    this.initialStep();
  }

  protected computeLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lrLambdas[i](this.lastEpoch));
  }

  /** Functions cannot be saved: like PyTorch, the state dict holds null for each of them. */
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), lr_lambdas: this.lrLambdas.map(() => null) };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    const { lr_lambdas: _functions, ...rest } = state;
    super.loadStateDict(rest);
  }
}

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
