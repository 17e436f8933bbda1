import { fail } from "../../core/errors.js";
import type { HyperParams, Optimizer } from "../optimizer.js";

/** Any optimizer: schedulers only read and write each group's `lr` (and, for OneCycleLR, its momentum). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOptimizer = Optimizer<any>;

export interface SchedulerOptions {
  /** The index of the last epoch when resuming; -1 (default) starts from the optimizer's lr. */
  lastEpoch?: number;
}

/** A scheduler's state: its numeric settings and counters under snake_case keys, as in PyTorch. */
export type SchedulerStateDict = Record<string, unknown>;

// The first letter keeps its case, so `TMax` becomes PyTorch's `T_max`.
const toSnakeCase = (key: string): string => key.slice(0, 1) + key.slice(1).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const toCamelCase = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const copyValue = (value: unknown): unknown => (Array.isArray(value) ? value.map(copyValue) : value);

/**
 * The base of the epoch-based schedulers (PyTorch's `_LRScheduler`). Each `step()` advances
 * `lastEpoch` and writes the new rate into every parameter group. As in PyTorch the constructor
 * performs the first step, so right after construction `getLastLr()` is the epoch-0 rate.
 *
 * Subclasses set their fields after `super()` and then call `initialStep()` (PyTorch sets them
 * before its base constructor, which TypeScript does not allow).
 */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** Each group's starting lr (`initialLr`, recorded in the group on first use). */
  baseLrs: number[];
  lastEpoch: number;
  stepCount = 0;
  protected lastLr: number[] = [];

  constructor(optimizer: AnyOptimizer, lastEpoch = -1) {
    if (optimizer === null || typeof optimizer !== "object" || !Array.isArray(optimizer.paramGroups)) {
      fail(this.constructor.name, `expected an Optimizer, got ${optimizer === null ? "null" : typeof optimizer}`);
    }
    this.optimizer = optimizer;
    if (lastEpoch === -1) {
      for (const group of optimizer.paramGroups) if (group.initialLr === undefined) group.initialLr = group.lr;
    } else {
      optimizer.paramGroups.forEach((group, i) => {
        if (group.initialLr === undefined) fail(this.constructor.name, `param "initialLr" is not specified in paramGroups[${i}] when resuming an optimizer`);
      });
    }
    this.baseLrs = optimizer.paramGroups.map((group) => group.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** The rates for `lastEpoch`, computed from the current ones (PyTorch's chainable form). */
  protected abstract computeLr(): number[];

  /** The rates for `lastEpoch` computed from the base rates, used when step() is given an epoch. */
  protected closedFormLr(): number[] {
    return this.computeLr();
  }

  /** @internal Resets the counters and performs the constructor's step (also used by SequentialLR). */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /**
   * Advances one epoch and sets the groups' learning rates. Passing `epoch` (deprecated in
   * PyTorch) jumps to that epoch using the closed form.
   */
  step(epoch?: number): void {
    this.stepCount += 1;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch += 1;
      values = this.computeLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr();
    }
    this.optimizer.paramGroups.forEach((group, i) => {
      group.lr = values[i];
    });
    this.lastLr = this.optimizer.paramGroups.map((group) => group.lr);
  }

  /** The learning rates set by the last step, one per parameter group. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  /** The current learning rates of the optimizer's groups. */
  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((group) => group.lr);
  }

  /** Every field except the optimizer and functions, under snake_case keys (PyTorch's layout). */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [key, value] of Object.entries(this)) {
      if (key === "optimizer" || typeof value === "function" || value instanceof Object && !Array.isArray(value)) continue;
      out[toSnakeCase(key)] = copyValue(value);
    }
    return out;
  }

  loadStateDict(state: SchedulerStateDict): void {
    for (const [key, value] of Object.entries(state)) {
      const name = toCamelCase(key);
      if (name in this && name !== "optimizer") (this as Record<string, unknown>)[name] = copyValue(value);
    }
  }
}

export { toCamelCase, toSnakeCase, copyValue };
