import { fail } from "../../core/errors.js";
import { type AnyOptimizer, LRScheduler, type SchedulerOptions } from "./scheduler.js";

export interface OneCycleLROptions extends SchedulerOptions {
  /** Steps in the cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the rate (default 0.3). */
  pctStart?: number;
  annealStrategy?: "cos" | "linear";
  /** Cycle momentum (or Adam's beta1) inversely to the rate (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to initialLr, down to minLr) as in the paper, instead of fastai's two. */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/**
 * The 1cycle policy (Smith & Topin): the rate climbs from `maxLr / divFactor` to `maxLr`, then
 * anneals far below the start, while momentum moves the opposite way. Step it after every batch.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly cycleMomentum: boolean;
  readonly useBeta1: boolean;
  readonly annealStrategy: "cos" | "linear";
  private readonly phases: Phase[];

  constructor(optimizer: AnyOptimizer, maxLr: number | number[], options: OneCycleLROptions = {}) {
    const groups = optimizer.paramGroups;
    const perGroup = (name: string, value: number | number[]): number[] => {
      if (!Array.isArray(value)) return groups.map(() => value);
      if (value.length !== groups.length) fail("OneCycleLR", `expected ${groups.length} values for ${name}, got ${value.length}`);
      return value;
    };
    let totalSteps: number;
    if (options.totalSteps !== undefined) {
      if (!(Number.isInteger(options.totalSteps) && options.totalSteps > 0)) fail("OneCycleLR", `expected a positive integer totalSteps, but got ${options.totalSteps}`);
      totalSteps = options.totalSteps;
    } else if (options.epochs !== undefined && options.stepsPerEpoch !== undefined) {
      if (!(Number.isInteger(options.epochs) && options.epochs > 0)) fail("OneCycleLR", `expected a positive integer epochs, but got ${options.epochs}`);
      if (!(Number.isInteger(options.stepsPerEpoch) && options.stepsPerEpoch > 0)) fail("OneCycleLR", `expected a positive integer stepsPerEpoch, but got ${options.stepsPerEpoch}`);
      totalSteps = options.epochs * options.stepsPerEpoch;
    } else {
      fail("OneCycleLR", "you must define either totalSteps OR (epochs AND stepsPerEpoch)");
    }
    const pctStart = options.pctStart ?? 0.3;
    if (!(pctStart >= 0 && pctStart <= 1)) fail("OneCycleLR", `expected pctStart between 0 and 1, but got ${pctStart}`);
    const annealStrategy = options.annealStrategy ?? "cos";
    if (annealStrategy !== "cos" && annealStrategy !== "linear") fail("OneCycleLR", `annealStrategy must be "cos" or "linear", got ${JSON.stringify(annealStrategy)}`);
    const divFactor = options.divFactor ?? 25;
    const finalDivFactor = options.finalDivFactor ?? 1e4;
    const lastEpoch = options.lastEpoch ?? -1;
    const maxLrs = perGroup("maxLr", maxLr);
    // Group bookkeeping must exist before the base constructor reads initialLr.
    if (lastEpoch === -1) {
      groups.forEach((group, i) => {
        group.initialLr = maxLrs[i] / divFactor;
        group.maxLr = maxLrs[i];
        group.minLr = (group.initialLr as number) / finalDivFactor;
      });
    }
    const cycleMomentum = options.cycleMomentum ?? true;
    const useBeta1 = "betas" in optimizer.defaults;
    if (cycleMomentum) {
      if (!("momentum" in optimizer.defaults) && !useBeta1) fail("OneCycleLR", "optimizer must support momentum with the cycleMomentum option enabled");
      const maxMomenta = perGroup("maxMomentum", options.maxMomentum ?? 0.95);
      const baseMomenta = perGroup("baseMomentum", options.baseMomentum ?? 0.85);
      if (lastEpoch === -1) {
        groups.forEach((group, i) => {
          if (useBeta1) group.betas = [maxMomenta[i], ...(group.betas as number[]).slice(1)];
          else group.momentum = maxMomenta[i];
          group.maxMomentum = maxMomenta[i];
          group.baseMomentum = baseMomenta[i];
        });
      }
    }
    super(optimizer, lastEpoch);
    this.totalSteps = totalSteps;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.annealStrategy = annealStrategy;
    const up: Phase = { endStep: pctStart * totalSteps - 1, startLr: "initialLr", endLr: "maxLr", startMomentum: "maxMomentum", endMomentum: "baseMomentum" };
    this.phases = options.threePhase
      ? [
          up,
          { endStep: 2 * pctStart * totalSteps - 2, startLr: "maxLr", endLr: "initialLr", startMomentum: "baseMomentum", endMomentum: "maxMomentum" },
          { endStep: totalSteps - 1, startLr: "initialLr", endLr: "minLr", startMomentum: "maxMomentum", endMomentum: "maxMomentum" },
        ]
      : [up, { endStep: totalSteps - 1, startLr: "maxLr", endLr: "minLr", startMomentum: "baseMomentum", endMomentum: "maxMomentum" }];
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "linear") return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  protected computeLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) fail("OneCycleLR", `tried to step ${stepNum + 1} times; the specified number of total steps is ${this.totalSteps}`);
    return this.optimizer.paramGroups.map((group) => {
      let startStep = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i];
        if (stepNum <= phase.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - startStep) / (phase.endStep - startStep);
          const lr = this.anneal(group[phase.startLr] as number, group[phase.endLr] as number, pct);
          if (this.cycleMomentum) {
            const momentum = this.anneal(group[phase.startMomentum] as number, group[phase.endMomentum] as number, pct);
            if (this.useBeta1) group.betas = [momentum, ...(group.betas as number[]).slice(1)];
            else group.momentum = momentum;
          }
          return lr;
        }
        startStep = phase.endStep;
      }
      return group.lr;
    });
  }
}
