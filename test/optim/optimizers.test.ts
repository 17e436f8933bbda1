import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose, loadJsonFixture, type Golden } from "../helpers.js";

const { optim } = flint;
type Tensor = flint.Tensor;

interface Case {
  optimizer: "SGD" | "Adam" | "AdamW" | "RMSprop" | "Adagrad";
  options: Record<string, unknown>;
  groups: Array<Record<string, unknown> & { params: number[] }> | null;
  trajectory: Golden[][];
  state: Record<string, Record<string, Golden | number | null>>;
}
interface Fixture {
  params0: Golden[];
  grads: (Golden | null)[][];
  cases: Case[];
  objective: { targets: Golden[]; weights: Golden[]; losses: number[]; final: Golden[] };
}

const fx = loadJsonFixture<Fixture>("optim/optimizers.json");
const fromGolden = (g: Golden): Tensor => flint.tensor(g.data).reshape(g.shape);
const freshParams = (): Tensor[] => fx.params0.map((g) => fromGolden(g).requiresGrad_());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = flint.optim.Optimizer<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function build(c: Case, params: Tensor[]): AnyOptimizer {
  const Ctor = optim[c.optimizer] as new (params: any, options: any) => AnyOptimizer;
  const spec = c.groups === null ? params : c.groups.map((g) => ({ ...g, params: g.params.map((i) => params[i]) }));
  return new Ctor(spec, c.options);
}

function setGrads(params: Tensor[], step: number): void {
  params.forEach((p, i) => {
    const g = fx.grads[step][i];
    p.grad = g === null ? null : fromGolden(g);
  });
}

function label(c: Case): string {
  return `${c.optimizer} ${JSON.stringify(c.options)}${c.groups ? ` groups ${JSON.stringify(c.groups)}` : ""}`;
}

describe("optimizers match PyTorch trajectories", () => {
  for (const c of fx.cases) {
    it(label(c), () => {
      const params = freshParams();
      const opt = build(c, params);
      c.trajectory.forEach((expected, step) => {
        opt.zeroGrad();
        setGrads(params, step);
        opt.step();
        // Tight: the fused loops round like PyTorch's float32 ops, so most elements match bit for bit.
        params.forEach((p, i) => assertClose(p, expected[i], { atol: 1e-7, rtol: 1e-6, message: `step ${step} param ${i}` }));
      });
      // The state dict has PyTorch's layout and values.
      const sd = opt.stateDict();
      assert.deepEqual(Object.keys(sd.state).sort(), Object.keys(c.state).sort());
      for (const [index, entries] of Object.entries(c.state)) {
        const mine = sd.state[Number(index)];
        assert.deepEqual(Object.keys(mine).sort(), Object.keys(entries).sort(), `state keys of param ${index}`);
        for (const [key, value] of Object.entries(entries)) {
          if (value === null || typeof value === "number") assert.equal(mine[key], value, `state ${index}.${key}`);
          else assertClose(mine[key] as Tensor, value, { atol: 1e-6, rtol: 1e-5, message: `state ${index}.${key}` });
        }
      }
    });
  }
});

describe("optimizer state dicts", () => {
  it("uses PyTorch's structure and snake_case keys", () => {
    const params = freshParams();
    const opt = new optim.SGD([{ params: [params[0]], lr: 0.1 }, { params: [params[1], params[2]] }], { lr: 0.01, momentum: 0.9, weightDecay: 0.5 });
    setGrads(params, 0);
    opt.step();
    const sd = opt.stateDict();
    assert.deepEqual(sd.param_groups, [
      { lr: 0.1, momentum: 0.9, dampening: 0, weight_decay: 0.5, nesterov: false, maximize: false, params: [0] },
      { lr: 0.01, momentum: 0.9, dampening: 0, weight_decay: 0.5, nesterov: false, maximize: false, params: [1, 2] },
    ]);
    assert.deepEqual(Object.keys(sd.state[0]), ["momentum_buffer"]);
  });

  for (const c of fx.cases) {
    it(`round trip resumes exactly: ${label(c)}`, () => {
      const params = freshParams();
      const opt = build(c, params);
      const half = 3;
      for (let step = 0; step < half; step++) {
        opt.zeroGrad();
        setGrads(params, step);
        opt.step();
      }
      const saved = opt.stateDict();
      // A new optimizer over copies of the parameters, with different hyperparameters that the load replaces.
      const resumedParams = params.map((p) => p.detach().clone().requiresGrad_());
      const resumed = build({ ...c, options: { ...c.options, lr: 123 } }, resumedParams);
      resumed.loadStateDict(saved);
      // Stepping the original further must not change the saved state dict.
      for (let step = half; step < c.trajectory.length; step++) {
        for (const [o, ps] of [[opt, params], [resumed, resumedParams]] as const) {
          o.zeroGrad();
          setGrads(ps, step);
          o.step();
        }
      }
      resumedParams.forEach((p, i) => assertClose(p, params[i], { atol: 0, rtol: 0, message: `param ${i}` }));
      resumedParams.forEach((p, i) => assertClose(p, c.trajectory[c.trajectory.length - 1][i], { atol: 1e-6, rtol: 1e-5 }));
    });
  }

  it("rejects a state dict whose groups do not match", () => {
    const params = freshParams();
    const opt = new optim.Adam(params);
    const other = new optim.Adam([{ params: [params[0]] }, { params: [params[1]] }]);
    assert.throws(() => opt.loadStateDict(other.stateDict()), /Adam: loadStateDict: loaded state dict has 2 parameter groups, the optimizer has 1/);
    const small = new optim.Adam([params[0], params[1]]);
    assert.throws(() => opt.loadStateDict(small.stateDict()), /parameter group 0 has 2 parameters in the state dict and 3 in the optimizer/);
  });

  it("accepts PyTorch's 0-d tensor step counts and checks state shapes", () => {
    const [p] = freshParams();
    const opt = new optim.Adam([p]);
    opt.loadStateDict({
      state: { 0: { step: flint.tensor(4), exp_avg: flint.zeros([3, 4]), exp_avg_sq: flint.ones([3, 4]) } },
      param_groups: [{ lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false, maximize: false, params: [0] }],
    });
    assert.equal(opt.state.get(p)!.step, 4);
    assert.equal(opt.paramGroups[0].lr, 0.5);
    assert.equal(opt.paramGroups[0].weightDecay, 0);
    assert.throws(
      () => opt.loadStateDict({ state: { 0: { step: 1, exp_avg: flint.zeros([4]) } }, param_groups: [{ lr: 0.5, params: [0] }] }),
      /Adam: loadStateDict: state "exp_avg" of parameter 0 has shape \[4\], the parameter has shape \[3, 4\]/,
    );
  });
});

describe("optimizer behaviour", () => {
  it("trains a small objective through autograd like PyTorch's Adam", () => {
    const params = freshParams();
    const targets = fx.objective.targets.map(fromGolden);
    const weights = fx.objective.weights.map(fromGolden);
    const opt = new optim.Adam(params, { lr: 0.05 });
    fx.objective.losses.forEach((expected) => {
      opt.zeroGrad();
      let loss = flint.tensor(0);
      params.forEach((p, i) => {
        loss = loss.add(weights[i].mul(p.sub(targets[i]).square()).sum()).add(p.sin().sum());
      });
      loss.backward();
      opt.step();
      assert.ok(Math.abs(loss.item() - expected) <= 1e-4 * Math.abs(expected) + 1e-5, `loss ${loss.item()} vs ${expected}`);
    });
    params.forEach((p, i) => assertClose(p, fx.objective.final[i], { atol: 1e-5, rtol: 1e-4 }));
  });

  it("trains a small classifier end to end (Linear, CrossEntropyLoss, AdamW, clipping, a schedule)", () => {
    flint.manualSeed(0);
    const { nn } = flint;
    const model = new nn.Sequential(new nn.Linear(2, 16), new nn.Tanh(), new nn.Linear(16, 2));
    // XOR: not linearly separable, so the hidden layer has to learn.
    const x = flint.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
    const y = flint.tensor([0, 1, 1, 0], { dtype: "int32" });
    const lossFn = new nn.CrossEntropyLoss();
    const opt = new optim.AdamW(model.parameters(), { lr: 0.05 });
    const schedule = new optim.lrScheduler.StepLR(opt, 100, { gamma: 0.5 });
    let first = 0;
    let last = 0;
    for (let step = 0; step < 300; step++) {
      opt.zeroGrad();
      const loss = lossFn.forward(model.forward(x), y);
      loss.backward();
      flint.nn.utils.clipGradNorm(model.parameters(), 1);
      opt.step();
      schedule.step();
      if (step === 0) first = loss.item();
      last = loss.item();
    }
    assert.ok(last < 0.05 * first, `loss went from ${first} to ${last}`);
    assert.deepEqual((model.forward(x).argmax(1).tolist() as number[]), [0, 1, 1, 0]);
  });

  it("step(closure) evaluates the closure with grad enabled and returns its loss", () => {
    const p = flint.tensor([1, 2]).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 0.5 });
    const loss = flint.noGrad(() =>
      opt.step(() => {
        opt.zeroGrad();
        const l = p.square().sum();
        l.backward();
        return l;
      }),
    );
    assert.equal((loss as Tensor).item(), 5);
    assertClose(p, [0, 0]);
  });

  it("zeroGrad sets gradients to null by default and zeroes them in place on request", () => {
    const p = flint.tensor([1, 2]).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 0.1 });
    p.grad = flint.tensor([3, 4]);
    const grad = p.grad;
    opt.zeroGrad({ setToNone: false });
    assert.equal(p.grad, grad);
    assertClose(grad, [0, 0]);
    opt.zeroGrad();
    assert.equal(p.grad, null);
    opt.step(); // no gradient: nothing happens, no state is created
    assertClose(p, [1, 2]);
    assert.equal(opt.state.size, 0);
  });

  it("paramGroups[i].lr is mutable and takes effect on the next step", () => {
    const p = flint.tensor([1]).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 0.1 });
    opt.paramGroups[0].lr = 0.5;
    p.grad = flint.tensor([1]);
    opt.step();
    assertClose(p, [0.5]);
  });

  it("updates a strided (non-contiguous) parameter in place", () => {
    const base = flint.tensor([[1, 2, 3], [4, 5, 6]]);
    const p = new flint.nn.Parameter(base.t());
    const opt = new optim.SGD([p], { lr: 1, momentum: 0.5 });
    p.grad = flint.ones([3, 2]);
    opt.step();
    opt.step();
    // Two steps move every element by -(1 + 1.5); the update shows through the base tensor.
    assertClose(base, flint.tensor([[-1.5, -0.5, 0.5], [1.5, 2.5, 3.5]]), { message: "shared storage" });
  });

  it("addParamGroup adds parameters with their own hyperparameters", () => {
    const [a, b] = freshParams();
    const opt = new optim.Adam([a], { lr: 0.1 });
    opt.addParamGroup({ params: [b], lr: 0.01 });
    assert.equal(opt.paramGroups.length, 2);
    assert.equal(opt.paramGroups[1].lr, 0.01);
    assert.deepEqual(opt.paramGroups[1].betas, [0.9, 0.999]);
    assert.throws(() => opt.addParamGroup({ params: [a] }), /Adam: some parameters appear in more than one parameter group/);
  });

  it("validates its inputs like PyTorch", () => {
    const p = flint.zeros([2]).requiresGrad_();
    assert.throws(() => new optim.SGD([p]), /SGD: parameter group 0 didn't specify a value of required optimization parameter lr/);
    assert.throws(() => new optim.SGD([p], { lr: -1 }), /SGD: invalid learning rate: -1/);
    assert.throws(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), /SGD: Nesterov momentum requires a momentum and zero dampening/);
    assert.throws(() => new optim.Adam([p], { betas: [1, 0.9] }), /Adam: invalid beta parameter at index 0: 1/);
    assert.throws(() => new optim.AdamW([p], { eps: -1 }), /AdamW: invalid epsilon value: -1/);
    assert.throws(() => new optim.RMSprop([p], { alpha: -0.5 }), /RMSprop: invalid alpha value: -0.5/);
    assert.throws(() => new optim.Adagrad([p], { lrDecay: -1 }), /Adagrad: invalid lrDecay value: -1/);
    assert.throws(() => new optim.Adam([]), /Adam: optimizer got an empty parameter list/);
    assert.throws(() => new optim.SGD([p], { lr: 0.1, weight_decay: 0.1 } as flint.optim.SGDOptions), /SGD: unknown option "weight_decay"; flint spells it "weightDecay"/);
    assert.throws(() => new optim.Adam([{ params: [p], weight_decay: 0.1 }]), /Adam: unknown option "weight_decay"; flint spells it "weightDecay"/);
    assert.throws(() => new optim.Adam(p as unknown as Tensor[]), /Adam: params must be an array of Tensors or of parameter groups, got a single Tensor/);
    assert.throws(() => new optim.Adam([p.mul(2)]), /Adam: can't optimize a non-leaf Tensor/);
    assert.throws(() => new optim.Adam([flint.zeros([2], { dtype: "int32" })]), /Adam: can only optimize float32 tensors, got int32/);
  });

  it("prints like PyTorch's repr", () => {
    const opt = new optim.Adam([flint.zeros([1]).requiresGrad_()], { lr: 0.5 });
    assert.equal(opt.toString(), "Adam (\nParameter Group 0\n    amsgrad: False\n    betas: (0.9, 0.999)\n    eps: 1e-8\n    lr: 0.5\n    maximize: False\n    weight_decay: 0\n)");
  });

  it("Adagrad creates its accumulators at construction, as PyTorch does", () => {
    const p = flint.zeros([2]).requiresGrad_();
    const opt = new optim.Adagrad([p], { initialAccumulatorValue: 0.25 });
    const sd = opt.stateDict();
    assert.equal(sd.state[0].step, 0);
    assertClose(sd.state[0].sum as Tensor, [0.25, 0.25]);
  });
});
