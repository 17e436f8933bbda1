import { fail } from "../../core/errors.js";
import { type AnyOptimizer, LRScheduler, type SchedulerOptions } from "./scheduler.js";

/** Python's modulo: the result takes the divisor's sign. */
const pyMod = (a: number, m: number): number => ((a % m) + m) % m;

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

export interface CosineAnnealingWarmRestartsOptions extends SchedulerOptions {
  /** Each restart's period is the previous one times this integer (default 1). */
  TMult?: number;
  /** The minimum learning rate (default 0). */
  etaMin?: number;
}

/**
 * SGDR (Loshchilov & Hutter): cosine annealing from the initial rate to `etaMin` over `T0`
 * epochs, then a restart, each period `TMult` times longer. `step(epoch)` accepts fractional
 * epochs, for stepping after every batch.
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  readonly T0: number;
  readonly TMult: number;
  readonly etaMin: number;
  /** The current period and the epochs since the last restart. */
  TI: number;
  TCur: number;

  constructor(optimizer: AnyOptimizer, T0: number, options: CosineAnnealingWarmRestartsOptions = {}) {
    super(optimizer, options.lastEpoch);
    if (!(Number.isInteger(T0) && T0 > 0)) fail("CosineAnnealingWarmRestarts", `expected a positive integer T0, but got ${T0}`);
    const TMult = options.TMult ?? 1;
    if (!(Number.isInteger(TMult) && TMult >= 1)) fail("CosineAnnealingWarmRestarts", `expected an integer TMult >= 1, but got ${TMult}`);
    this.T0 = T0;
    this.TI = T0;
    this.TMult = TMult;
    this.etaMin = options.etaMin ?? 0;
    this.TCur = this.lastEpoch;
    this.initialStep();
  }

  protected computeLr(): number[] {
    return this.baseLrs.map((base) => this.etaMin + (base - this.etaMin) * (1 + Math.cos((Math.PI * this.TCur) / this.TI)) / 2);
  }

  override step(epoch?: number): void {
    this.stepCount += 1;
    let e = epoch;
    if (e === undefined && this.lastEpoch < 0) e = 0;
    if (e === undefined) {
      e = this.lastEpoch + 1;
      this.TCur += 1;
      if (this.TCur >= this.TI) {
        this.TCur -= this.TI;
        this.TI *= this.TMult;
      }
    } else {
      if (e < 0) fail("CosineAnnealingWarmRestarts", `expected a non-negative epoch, but got ${e}`);
      if (e >= this.T0) {
        if (this.TMult === 1) {
          this.TCur = pyMod(e, this.T0);
        } else {
          const n = Math.trunc(Math.log((e / this.T0) * (this.TMult - 1) + 1) / Math.log(this.TMult));
          this.TCur = e - (this.T0 * (this.TMult ** n - 1)) / (this.TMult - 1);
          this.TI = this.T0 * this.TMult ** n;
        }
      } else {
        this.TI = this.T0;
        this.TCur = e;
      }
    }
    this.lastEpoch = Math.floor(e);
    const values = this.computeLr();
    this.optimizer.paramGroups.forEach((group, i) => {
      group.lr = values[i];
    });
    this.lastLr = this.groupLrs();
  }
}
