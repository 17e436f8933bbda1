import { fail } from "../../core/errors.js";
import { type AnyOptimizer, LRScheduler, type SchedulerOptions, type SchedulerStateDict } from "./scheduler.js";

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

/** Sets each group's learning rate to its initial lr times `lrLambda(epoch)` (one function, or one per group). */
export class LambdaLR extends LRScheduler {
  readonly lrLambdas: Array<(epoch: number) => number>;

  constructor(optimizer: AnyOptimizer, lrLambda: ((epoch: number) => number) | Array<(epoch: number) => number>, options: SchedulerOptions = {}) {
    super(optimizer, options.lastEpoch);
    this.lrLambdas = perGroupFunctions("LambdaLR", optimizer, lrLambda);
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

/** Multiplies the learning rate by `lrLambda(epoch)` every epoch after the first (one function, or one per group). */
export class MultiplicativeLR extends LRScheduler {
  readonly lrLambdas: Array<(epoch: number) => number>;

  constructor(optimizer: AnyOptimizer, lrLambda: ((epoch: number) => number) | Array<(epoch: number) => number>, options: SchedulerOptions = {}) {
    super(optimizer, options.lastEpoch);
    this.lrLambdas = perGroupFunctions("MultiplicativeLR", optimizer, lrLambda);
    this.initialStep();
  }

  protected computeLr(): number[] {
    if (this.lastEpoch <= 0) return this.groupLrs();
    return this.groupLrs().map((lr, i) => lr * this.lrLambdas[i](this.lastEpoch));
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), lr_lambdas: this.lrLambdas.map(() => null) };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    const { lr_lambdas: _functions, ...rest } = state;
    super.loadStateDict(rest);
  }
}

export interface PolynomialLROptions extends SchedulerOptions {
  /** Epochs over which the rate decays to 0 (default 5). */
  totalIters?: number;
  /** The power of the polynomial (default 1). */
  power?: number;
}

/** Decays the learning rate to 0 over `totalIters` epochs as (1 - t / totalIters)^power. */
export class PolynomialLR extends LRScheduler {
  readonly totalIters: number;
  readonly power: number;

  constructor(optimizer: AnyOptimizer, options: PolynomialLROptions = {}) {
    super(optimizer, options.lastEpoch);
    this.totalIters = options.totalIters ?? 5;
    this.power = options.power ?? 1;
    if (!(this.totalIters > 0)) fail("PolynomialLR", `totalIters must be positive, got ${this.totalIters}`);
    this.initialStep();
  }

  protected computeLr(): number[] {
    const { totalIters: n, lastEpoch: t } = this;
    if (t === 0 || t > n) return this.groupLrs();
    const decay = ((1 - t / n) / (1 - (t - 1) / n)) ** this.power;
    return this.groupLrs().map((lr) => lr * decay);
  }

  protected override closedFormLr(): number[] {
    const { totalIters: n, lastEpoch: t } = this;
    return this.baseLrs.map((base) => base * (1 - Math.min(n, t) / n) ** this.power);
  }
}

/** One function per parameter group, from one function or an array of them. */
function perGroupFunctions(op: string, optimizer: AnyOptimizer, fn: ((epoch: number) => number) | Array<(epoch: number) => number>): Array<(epoch: number) => number> {
  const groups = optimizer.paramGroups.length;
  if (Array.isArray(fn)) {
    if (fn.length !== groups) fail(op, `expected ${groups} lrLambdas, but got ${fn.length}`);
    return fn.slice();
  }
  if (typeof fn !== "function") fail(op, `lrLambda must be a function or an array of functions, got ${typeof fn}`);
  return Array.from({ length: groups }, () => fn);
}
