import { fail } from "../../core/errors.js";
import type { Tensor } from "../../tensor/tensor.js";
import { type AnyOptimizer, copyValue, type SchedulerStateDict, toCamelCase, toSnakeCase } from "./scheduler.js";

export interface ReduceLROnPlateauOptions {
  /** "min" (default): reduce when the metric stops decreasing; "max": when it stops increasing. */
  mode?: "min" | "max";
  /** new lr = lr * factor (default 0.1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** What counts as an improvement (default 1e-4), relative or absolute per `thresholdMode`. */
  threshold?: number;
  thresholdMode?: "rel" | "abs";
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** A lower bound on the rate, for all groups or one per group (default 0). */
  minLr?: number | number[];
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
}

/** Reduces the learning rate when a metric has stopped improving; call `step(metric)` after each evaluation. */
export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  mode: "min" | "max";
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: "rel" | "abs";
  cooldown: number;
  minLrs: number[];
  eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number[] | null = null;

  constructor(optimizer: AnyOptimizer, options: ReduceLROnPlateauOptions = {}) {
    this.optimizer = optimizer;
    this.factor = options.factor ?? 0.1;
    if (!(this.factor < 1)) fail("ReduceLROnPlateau", `factor should be < 1.0, got ${this.factor}`);
    const groups = optimizer.paramGroups.length;
    const minLr = options.minLr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== groups) fail("ReduceLROnPlateau", `expected ${groups} minLrs, got ${minLr.length}`);
      this.minLrs = minLr.slice();
    } else {
      this.minLrs = Array.from({ length: groups }, () => minLr);
    }
    this.patience = options.patience ?? 10;
    this.cooldown = options.cooldown ?? 0;
    this.mode = options.mode ?? "min";
    this.threshold = options.threshold ?? 1e-4;
    this.thresholdMode = options.thresholdMode ?? "rel";
    this.eps = options.eps ?? 1e-8;
    if (this.mode !== "min" && this.mode !== "max") fail("ReduceLROnPlateau", `mode ${JSON.stringify(this.mode)} is unknown (expected "min" or "max")`);
    if (this.thresholdMode !== "rel" && this.thresholdMode !== "abs") fail("ReduceLROnPlateau", `threshold mode ${JSON.stringify(this.thresholdMode)} is unknown (expected "rel" or "abs")`);
    this.best = this.worst();
  }

  private worst(): number {
    return this.mode === "min" ? Infinity : -Infinity;
  }

  private isBetter(a: number, best: number): boolean {
    if (this.mode === "min") return this.thresholdMode === "rel" ? a < best * (1 - this.threshold) : a < best - this.threshold;
    return this.thresholdMode === "rel" ? a > best * (this.threshold + 1) : a > best + this.threshold;
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** Records this epoch's metric (a number or a one-element tensor) and reduces the rate after `patience` bad epochs. */
  step(metric: number | Tensor): void {
    const current = typeof metric === "number" ? metric : metric.item();
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs during cooldown do not count
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((group, i) => {
        const newLr = Math.max(group.lr * this.factor, this.minLrs[i]);
        if (group.lr - newLr > this.eps) group.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((group) => group.lr);
  }

  /** The learning rates after the last step (the optimizer's current ones before any step). */
  getLastLr(): number[] {
    return this.lastLr?.slice() ?? this.optimizer.paramGroups.map((group) => group.lr);
  }

  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [key, value] of Object.entries(this)) if (key !== "optimizer") out[toSnakeCase(key)] = copyValue(value);
    return out;
  }

  loadStateDict(state: SchedulerStateDict): void {
    for (const [key, value] of Object.entries(state)) {
      const name = toCamelCase(key);
      if (name in this && name !== "optimizer" && name !== "inCooldown") (this as Record<string, unknown>)[name] = copyValue(value);
    }
  }
}
