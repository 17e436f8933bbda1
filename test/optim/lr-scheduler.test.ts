import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as flint from "../../src/index.js";
import { loadJsonFixture } from "../helpers.js";

const { optim } = flint;
const S = optim.lrScheduler;

interface SchedulerCase {
  lrs: number[][];
  momenta: (number | null)[][];
}
const fx = loadJsonFixture<{ steps: number; plateauMetrics: number[]; plateauMax: number[]; cases: Record<string, SchedulerCase> }>("optim/schedulers.json");

const sgd2 = () =>
  new optim.SGD(
    [
      { params: [flint.zeros([1]).requiresGrad_()], lr: 0.1 },
      { params: [flint.zeros([1]).requiresGrad_()], lr: 0.02 },
    ],
    { lr: 0.1, momentum: 0.9 },
  );
const adam1 = () => new optim.Adam([flint.zeros([1]).requiresGrad_()], { lr: 0.01 });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Stepper = { step(metric?: any): void; getLastLr(): number[] };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = flint.optim.Optimizer<any>;

const builders: Record<string, [() => AnyOptimizer, (o: AnyOptimizer) => Stepper, number[]?]> = {
  StepLR: [sgd2, (o) => new S.StepLR(o, 4)],
  StepLR_gamma: [sgd2, (o) => new S.StepLR(o, 3, { gamma: 0.5 })],
  MultiStepLR: [sgd2, (o) => new S.MultiStepLR(o, [3, 7, 7, 12], { gamma: 0.3 })],
  ExponentialLR: [sgd2, (o) => new S.ExponentialLR(o, 0.9)],
  CosineAnnealingLR: [sgd2, (o) => new S.CosineAnnealingLR(o, 10)],
  CosineAnnealingLR_etaMin: [sgd2, (o) => new S.CosineAnnealingLR(o, 7, { etaMin: 0.001 })],
  LambdaLR: [sgd2, (o) => new S.LambdaLR(o, (e) => 0.95 ** e)],
  LambdaLR_list: [sgd2, (o) => new S.LambdaLR(o, [(e) => 1 / (e + 1), (e) => Math.floor(e / 5) + 1])],
  LinearLR: [sgd2, (o) => new S.LinearLR(o)],
  LinearLR_custom: [sgd2, (o) => new S.LinearLR(o, { startFactor: 0.1, endFactor: 0.5, totalIters: 12 })],
  OneCycleLR: [sgd2, (o) => new S.OneCycleLR(o, 1.0, { totalSteps: fx.steps })],
  OneCycleLR_linear_3phase: [
    sgd2,
    (o) => new S.OneCycleLR(o, [0.5, 0.2], { epochs: 5, stepsPerEpoch: 6, pctStart: 0.25, annealStrategy: "linear", threePhase: true, divFactor: 10, finalDivFactor: 100 }),
  ],
  OneCycleLR_adam: [adam1, (o) => new S.OneCycleLR(o, 0.1, { totalSteps: fx.steps, baseMomentum: 0.8, maxMomentum: 0.9 })],
  OneCycleLR_noMomentum: [sgd2, (o) => new S.OneCycleLR(o, 0.3, { totalSteps: fx.steps, cycleMomentum: false })],
  SequentialLR: [sgd2, (o) => new S.SequentialLR(o, [new S.LinearLR(o, { startFactor: 0.2, totalIters: 4 }), new S.ExponentialLR(o, 0.9)], [5])],
  SequentialLR_three: [
    sgd2,
    (o) => new S.SequentialLR(o, [new S.LinearLR(o, { startFactor: 0.5, totalIters: 3 }), new S.StepLR(o, 3, { gamma: 0.5 }), new S.CosineAnnealingLR(o, 8)], [4, 15]),
  ],
  ConstantLR: [sgd2, (o) => new S.ConstantLR(o)],
  ConstantLR_custom: [sgd2, (o) => new S.ConstantLR(o, { factor: 0.5, totalIters: 8 })],
  MultiplicativeLR: [sgd2, (o) => new S.MultiplicativeLR(o, (e) => (e % 2 ? 0.9 : 0.97))],
  PolynomialLR: [sgd2, (o) => new S.PolynomialLR(o, { totalIters: 12, power: 2 })],
  PolynomialLR_default: [sgd2, (o) => new S.PolynomialLR(o)],
  CosineAnnealingWarmRestarts: [sgd2, (o) => new S.CosineAnnealingWarmRestarts(o, 5)],
  CosineAnnealingWarmRestarts_mult: [sgd2, (o) => new S.CosineAnnealingWarmRestarts(o, 3, { TMult: 2, etaMin: 0.005 })],
  CosineAnnealingWarmRestarts_fractional: [sgd2, (o) => new S.CosineAnnealingWarmRestarts(o, 4, { TMult: 2 }), Array.from({ length: fx.steps }, (_, i) => 0.5 * i + 0.25)],
  ChainedScheduler: [sgd2, (o) => new S.ChainedScheduler([new S.ConstantLR(o, { factor: 0.1, totalIters: 2 }), new S.ExponentialLR(o, 0.9)])],
  SequentialLR_constant_cosine: [sgd2, (o) => new S.SequentialLR(o, [new S.ConstantLR(o, { factor: 0.25, totalIters: 3 }), new S.CosineAnnealingLR(o, 10)], [3])],
  ReduceLROnPlateau: [sgd2, (o) => new S.ReduceLROnPlateau(o, { patience: 2 }), fx.plateauMetrics],
  ReduceLROnPlateau_opts: [
    sgd2,
    (o) => new S.ReduceLROnPlateau(o, { mode: "max", factor: 0.5, patience: 1, threshold: 0.05, thresholdMode: "abs", cooldown: 2, minLr: [0.02, 0.004] }),
    fx.plateauMax,
  ],
};

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-12 + 1e-9 * Math.abs(expected), `${what}: got ${actual}, expected ${expected}`);
}

function momentumOf(group: flint.optim.ParamGroup): number | null {
  if (Array.isArray(group.betas)) return group.betas[0] as number;
  return (group.momentum as number | undefined) ?? null;
}

describe("LR schedulers match PyTorch's learning-rate sequences", () => {
  for (const [name, expected] of Object.entries(fx.cases)) {
    it(name, () => {
      const [makeOpt, makeScheduler, metrics] = builders[name];
      const opt = makeOpt();
      const scheduler = makeScheduler(opt);
      expected.lrs[0].forEach((lr, g) => close(scheduler.getLastLr()[g], lr, `initial lr of group ${g}`));
      for (let i = 0; i < fx.steps; i++) {
        opt.step();
        scheduler.step(metrics?.[i]);
        expected.lrs[i + 1].forEach((lr, g) => {
          close(opt.paramGroups[g].lr, lr, `step ${i + 1} group ${g} lr`);
          close(scheduler.getLastLr()[g], lr, `step ${i + 1} group ${g} getLastLr`);
        });
        expected.momenta[i].forEach((m, g) => {
          if (m !== null) close(momentumOf(opt.paramGroups[g])!, m, `step ${i + 1} group ${g} momentum`);
        });
      }
    });
  }
});

describe("LR scheduler behaviour", () => {
  it("the constructor performs the initial step (lastEpoch 0)", () => {
    const opt = sgd2();
    const s = new S.LinearLR(opt, { startFactor: 0.5 });
    assert.equal(s.lastEpoch, 0);
    assert.deepEqual(s.getLastLr(), [0.05, 0.01]);
    assert.equal(opt.paramGroups[0].initialLr, 0.1);
    assert.deepEqual(opt.stateDict().param_groups[0].initial_lr, 0.1);
  });

  it("stateDict/loadStateDict resume a schedule", () => {
    const a = sgd2();
    const sa = new S.CosineAnnealingLR(a, 10, { etaMin: 0.001 });
    for (let i = 0; i < 4; i++) sa.step();
    const saved = sa.stateDict();
    assert.equal(saved.last_epoch, 4);
    assert.equal(saved.T_max, 10);
    assert.deepEqual(saved.base_lrs, [0.1, 0.02]);
    // PyTorch's resume order: build both, then load the optimizer's state and the scheduler's.
    const b = sgd2();
    const sb = new S.CosineAnnealingLR(b, 10, { etaMin: 0.001 });
    b.loadStateDict(a.stateDict());
    sb.loadStateDict(saved);
    for (let i = 0; i < 8; i++) {
      sa.step();
      sb.step();
      assert.deepEqual(sb.getLastLr(), sa.getLastLr());
    }
  });

  it("LambdaLR saves null in place of its functions and keeps them on load", () => {
    const opt = sgd2();
    const s = new S.LambdaLR(opt, (e) => 0.5 ** e);
    s.step();
    const saved = s.stateDict();
    assert.deepEqual(saved.lr_lambdas, [null, null]);
    const other = new S.LambdaLR(sgd2(), (e) => 0.5 ** e);
    other.loadStateDict(saved);
    assert.equal(other.lastEpoch, 1);
    other.step();
    assert.deepEqual(other.getLastLr(), [0.1 * 0.25, 0.02 * 0.25]);
  });

  it("ReduceLROnPlateau state round-trips, and accepts 0-d tensors as metrics", () => {
    const opt = sgd2();
    const s = new S.ReduceLROnPlateau(opt, { patience: 0 });
    s.step(flint.tensor(1));
    s.step(flint.tensor(2));
    assert.deepEqual(s.getLastLr(), [0.1 * 0.1, 0.02 * 0.1]);
    const copy = new S.ReduceLROnPlateau(sgd2(), { patience: 5 });
    copy.loadStateDict(s.stateDict());
    assert.equal(copy.patience, 0);
    assert.equal(copy.best, 1);
  });

  it("rejects bad arguments with the scheduler's name", () => {
    const opt = sgd2();
    assert.throws(() => new S.LambdaLR(opt, [(e: number) => e]), /LambdaLR: expected 2 lrLambdas, but got 1/);
    assert.throws(() => new S.OneCycleLR(opt, 0.1), /OneCycleLR: you must define either totalSteps OR \(epochs AND stepsPerEpoch\)/);
    assert.throws(() => new S.ReduceLROnPlateau(opt, { factor: 1 }), /ReduceLROnPlateau: factor should be < 1.0, got 1/);
    assert.throws(() => new S.SequentialLR(opt, [new S.StepLR(opt, 2)], [3]), /SequentialLR: expects the number of schedulers to be one more than the number of milestones/);
    const oc = new S.OneCycleLR(sgd2(), 0.1, { totalSteps: 2 });
    oc.step();
    oc.step();
    assert.throws(() => oc.step(), /OneCycleLR: tried to step 4 times; the specified number of total steps is 2/);
    const fresh = sgd2();
    assert.throws(() => new S.StepLR(fresh, 2, { lastEpoch: 3 }), /StepLR: param "initialLr" is not specified in paramGroups\[0\] when resuming an optimizer/);
  });
});
