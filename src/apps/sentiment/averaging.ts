/**
 * An exponential moving average of a model's parameters (Polyak averaging): after every optimizer
 * step, average = decay * average + (1 - decay) * parameter. The average starts at the initial
 * weights, as in examples/sentiment_pytorch.py. Evaluating with the average smooths out the step-to-step
 * noise of Adam on SST-2, where the dev accuracy of the raw weights swings by a point or more between
 * epochs.
 */
import * as flint from "../../index.js";
import { fail } from "../../core/errors.js";

export class ParameterAverage {
  private readonly parameters: flint.Tensor[];
  private readonly averages: flint.Tensor[];

  constructor(parameters: flint.Tensor[], readonly decay: number) {
    if (!(decay > 0 && decay < 1)) fail("ParameterAverage", `decay must be in (0, 1), got ${decay}`);
    this.parameters = parameters;
    this.averages = flint.noGrad(() => parameters.map((p) => p.detach().clone()));
  }

  /** Folds the parameters' current values into the average (call after each optimizer step). */
  update(): void {
    flint.noGrad(() => {
      this.parameters.forEach((p, i) => this.averages[i].mul_(this.decay).add_(p.detach(), { alpha: 1 - this.decay }));
    });
  }

  /** Runs `fn` with the averaged values in the parameters, then puts the trained values back. */
  withAverage<T>(fn: () => T): T {
    const trained = flint.noGrad(() => this.parameters.map((p) => p.detach().clone()));
    flint.noGrad(() => this.parameters.forEach((p, i) => p.copy_(this.averages[i])));
    try {
      return fn();
    } finally {
      flint.noGrad(() => this.parameters.forEach((p, i) => p.copy_(trained[i])));
    }
  }
}
