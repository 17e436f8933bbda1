import { fail } from "../../core/errors.js";
import { type AnyOptimizer, LRScheduler, type SchedulerStateDict } from "./scheduler.js";

/**
 * Runs schedulers one after another: `schedulers[i]` is in charge from `milestones[i - 1]` on
 * (e.g. a LinearLR warm-up, then CosineAnnealingLR). Each later scheduler starts from epoch 0.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];

  constructor(optimizer: AnyOptimizer, schedulers: LRScheduler[], milestones: number[], options: { lastEpoch?: number } = {}) {
    super(optimizer, -1);
    if (!Array.isArray(schedulers) || schedulers.length === 0) fail("SequentialLR", "expected a non-empty array of schedulers");
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) fail("SequentialLR", `expects all schedulers to belong to the same optimizer, but got scheduler at index ${i} to be different than the optimizer passed in`);
    });
    if (milestones.length !== schedulers.length - 1) {
      fail("SequentialLR", `expects the number of schedulers to be one more than the number of milestones, but got ${schedulers.length} schedulers and ${milestones.length} milestones`);
    }
    this.schedulers = schedulers.slice();
    this.milestones = milestones.slice();
    this.lastEpoch = (options.lastEpoch ?? -1) + 1;
    // Undo the schedulers' own constructor steps and restart from the initial rates.
    for (const group of optimizer.paramGroups) group.lr = group.initialLr as number;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    this.schedulers[0].initialStep();
    this.lastLr = this.schedulers[0].getLastLr();
  }

  protected computeLr(): number[] {
    return this.groupLrs();
  }

  override step(): void {
    this.lastEpoch += 1;
    const index = this.milestones.filter((m) => m <= this.lastEpoch).length;
    const scheduler = this.schedulers[index];
    // A scheduler taking over starts at its epoch 0.
    if (index > 0 && this.milestones[index - 1] === this.lastEpoch) scheduler.step(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), _schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    const { _schedulers: nested, ...own } = state;
    super.loadStateDict(own);
    if (Array.isArray(nested)) nested.forEach((s, i) => this.schedulers[i]?.loadStateDict(s as SchedulerStateDict));
  }
}

/**
 * Steps several schedulers at once, each multiplying into the rate the previous one set (e.g. a
 * ConstantLR warm-up with an ExponentialLR decay). Unlike SequentialLR, all are active together.
 */
export class ChainedScheduler {
  readonly schedulers: LRScheduler[];
  readonly optimizer: AnyOptimizer;
  private lastLr: number[];

  constructor(schedulers: LRScheduler[]) {
    if (!Array.isArray(schedulers) || schedulers.length === 0) fail("ChainedScheduler", "expected a non-empty array of schedulers");
    schedulers.forEach((s, i) => {
      if (s.optimizer !== schedulers[0].optimizer) fail("ChainedScheduler", `expects all schedulers to belong to the same optimizer, but got schedulers at index 0 and ${i} to be different`);
    });
    this.schedulers = schedulers.slice();
    this.optimizer = schedulers[0].optimizer;
    this.lastLr = this.optimizer.paramGroups.map((group) => group.lr);
  }

  step(): void {
    for (const s of this.schedulers) s.step();
    this.lastLr = this.optimizer.paramGroups.map((group) => group.lr);
  }

  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  stateDict(): SchedulerStateDict {
    return { _last_lr: this.lastLr.slice(), _schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  loadStateDict(state: SchedulerStateDict): void {
    if (Array.isArray(state._last_lr)) this.lastLr = (state._last_lr as number[]).slice();
    if (Array.isArray(state._schedulers)) state._schedulers.forEach((s, i) => this.schedulers[i]?.loadStateDict(s as SchedulerStateDict));
  }
}
