// Every basic layer and activation module against PyTorch: PyTorch's weights are loaded with
// loadStateDict (strict, so the state-dict keys must match PyTorch's exactly), then the forward
// output, the input gradients and the parameter gradients for a fixed upstream gradient are
// compared, as is String(module) with repr(module). Goldens: test/fixtures/gen_nn_basic.py.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { assertClose, loadJsonFixture } from "../helpers.js";
import { decode, goldenInputs, type GoldenLayer } from "./basic-fixtures.js";

const { nn } = flint;
type Module = InstanceType<typeof nn.Module>;

// Each golden case's twin: the same module built with flint's API (weights come from the golden).
const LAYERS: Record<string, () => Module> = {
  linear: () => new nn.Linear(5, 3),
  linear_nobias: () => new nn.Linear(5, 3, { bias: false }),
  linear_3d: () => new nn.Linear(5, 3),
  linear_1d: () => new nn.Linear(5, 3),
  bilinear: () => new nn.Bilinear(4, 3, 2),
  bilinear_nobias_3d: () => new nn.Bilinear(4, 3, 2, { bias: false }),
  identity: () => new nn.Identity(),
  flatten: () => new nn.Flatten(),
  flatten_0_1: () => new nn.Flatten({ startDim: 0, endDim: 1 }),
  unflatten: () => new nn.Unflatten(1, [2, 2]),
  embedding: () => new nn.Embedding(10, 3),
  embedding_padding: () => new nn.Embedding(6, 3, { paddingIdx: 1 }),
  embedding_padding_negative: () => new nn.Embedding(6, 3, { paddingIdx: -1 }),
  embedding_max_norm: () => new nn.Embedding(6, 4, { maxNorm: 1 }),
  relu: () => new nn.ReLU(),
  relu_inplace: () => new nn.ReLU({ inplace: true }),
  leaky_relu: () => new nn.LeakyReLU(),
  leaky_relu_0_2: () => new nn.LeakyReLU({ negativeSlope: 0.2 }),
  prelu: () => new nn.PReLU(),
  prelu_channels: () => new nn.PReLU({ numParameters: 3, init: 0.1 }),
  prelu_channels_2d: () => new nn.PReLU({ numParameters: 4 }),
  elu: () => new nn.ELU(),
  elu_alpha: () => new nn.ELU({ alpha: 0.5 }),
  gelu: () => new nn.GELU(),
  gelu_tanh: () => new nn.GELU({ approximate: "tanh" }),
  silu: () => new nn.SiLU(),
  softplus: () => new nn.Softplus(),
  softplus_beta: () => new nn.Softplus({ beta: 2, threshold: 3 }),
  softshrink: () => new nn.Softshrink(),
  softshrink_0_3: () => new nn.Softshrink({ lambd: 0.3 }),
  hardtanh: () => new nn.Hardtanh(),
  hardtanh_limits: () => new nn.Hardtanh({ minVal: -0.5, maxVal: 2 }),
  tanh: () => new nn.Tanh(),
  sigmoid: () => new nn.Sigmoid(),
  softmax_1: () => new nn.Softmax(1),
  softmax_last: () => new nn.Softmax(-1),
  log_softmax_1: () => new nn.LogSoftmax(1),
  log_softmax_0: () => new nn.LogSoftmax(0),
  dropout_eval: () => new nn.Dropout(0.3),
  dropout2d_eval: () => new nn.Dropout2d(),
  dropconnect_eval: () => new nn.DropConnect(new nn.Linear(4, 3)),
  sequential: () => new nn.Sequential(new nn.Linear(4, 6), new nn.ReLU(), new nn.Linear(6, 2), new nn.LogSoftmax(1)),
  sequential_named: () =>
    new nn.Sequential(new Map<string, Module>([["fc", new nn.Linear(3, 5)], ["act", new nn.GELU()], ["drop", new nn.Dropout(0.1)], ["out", new nn.Linear(5, 2)]])),
};

// DropConnect has no PyTorch twin: its golden is a plain module holding the Linear as `linear`,
// whose repr differs; every other case's repr must match PyTorch's.
const OWN_REPR: Record<string, string> = {
  dropconnect_eval: "DropConnect(\n  p=0.5\n  (linear): Linear(in_features=4, out_features=3, bias=True)\n)",
};

const goldens = loadJsonFixture<Record<string, GoldenLayer>>("nn_basic/layers.json");

test("every golden layer case has a flint twin and vice versa", () => {
  assert.deepEqual(Object.keys(LAYERS).sort(), Object.keys(goldens).sort());
});

for (const [name, golden] of Object.entries(goldens)) {
  test(`layer ${name}: keys, forward, gradients and repr match PyTorch`, () => {
    const module = LAYERS[name]();
    module.eval();
    const state = Object.fromEntries(Object.entries(golden.state).map(([k, v]) => [k, decode(v)]));
    assert.deepEqual(Object.keys(module.stateDict()), Object.keys(golden.state), "state-dict keys");
    const result = module.loadStateDict(state);
    assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });

    const inputs = goldenInputs(golden);
    const out: Tensor = module.forward(...inputs);
    assert.equal(out.dtype, golden.output.dtype, "output dtype");
    assertClose(out, golden.output, { atol: 1e-5, rtol: 1e-4, message: "output" });

    if (golden.upstream) {
      out.backward(decode(golden.upstream));
      golden.inputGrads?.forEach((g, i) => {
        if (g === null) return;
        const grad = inputs[i].grad;
        assert.ok(grad, `input ${i} has a gradient`);
        assertClose(grad, g, { atol: 1e-5, rtol: 1e-4, message: `input ${i} gradient` });
      });
      const params = Object.fromEntries(module.namedParameters());
      assert.deepEqual(Object.keys(golden.paramGrads).sort(), Object.keys(params).filter((k) => params[k].grad !== null).sort(), "parameters with gradients");
      for (const [key, g] of Object.entries(golden.paramGrads)) {
        assertClose(params[key].grad as Tensor, g, { atol: 1e-5, rtol: 1e-4, message: `gradient of ${key}` });
      }
    }
    // State after forward (Embedding's maxNorm renormalises rows in place).
    const after = module.stateDict();
    for (const [key, value] of Object.entries(golden.stateAfter)) assertClose(after[key], value, { atol: 1e-6, rtol: 1e-5, message: `${key} after forward` });

    assert.equal(String(module), OWN_REPR[name] ?? golden.repr);
  });
}

test("layer constructors and forwards validate their arguments", () => {
  assert.throws(() => new nn.Linear(2.5, 3), /Linear: inFeatures must be a non-negative integer, got 2.5/);
  assert.throws(() => new nn.Bilinear(2, -1, 3), /Bilinear: in2Features must be a non-negative integer, got -1/);
  assert.throws(() => new nn.Linear(4, 2).forward(flint.zeros([3, 5])), /linear: input of shape \[3, 5\] does not match weight of shape \[2, 4\]/);
  assert.throws(() => new nn.Embedding(5, 2, { paddingIdx: 5 }), /Embedding: paddingIdx must be within \[-5, 5\), got 5/);
  assert.throws(() => new nn.Embedding(5, 2, { weight: flint.zeros([4, 2]) }), /Embedding: weight of shape \[4, 2\] does not match \[5, 2\]/);
  assert.throws(() => new nn.Hardtanh({ minVal: 1, maxVal: 0 }), /hardtanh: minVal \(1\) cannot be greater than maxVal \(0\)/);
  assert.throws(() => new nn.Unflatten(1, [2, 2.5]), /Unflatten: unflattenedSize must be a list of integers/);
  assert.throws(() => new nn.Dropout2d(2), /Dropout2d: dropout probability has to be between 0 and 1, but got 2/);
});

test("Identity ignores constructor arguments; Unflatten infers -1; Softmax without dim uses PyTorch's implicit dim", () => {
  const x = flint.randn([2, 6]);
  assert.equal(new nn.Identity(54, { unused: true }).forward(x), x);
  assert.deepEqual(new nn.Unflatten(-1, [3, -1]).forward(x).shape, [2, 3, 2]);
  assertClose(new nn.Softmax().forward(x), nn.functional.softmax(x, 1));
  assertClose(new nn.LogSoftmax().forward(flint.randn([3]).mul(1)).exp().sum(), [1]);
});

test("Embedding.fromPretrained shares the weights and freezes them unless told otherwise", () => {
  const weights = flint.tensor([[1, 2], [3, 4], [5, 6]]);
  const frozen = nn.Embedding.fromPretrained(weights);
  assert.equal(frozen.weight.requiresGrad, false);
  assert.deepEqual(frozen.forward(flint.tensor([2, 0], { dtype: "int32" })).tolist(), [[5, 6], [1, 2]]);
  const trainable = nn.Embedding.fromPretrained(weights, { freeze: false, paddingIdx: 0 });
  assert.equal(trainable.weight.requiresGrad, true);
  assert.deepEqual(trainable.weight.select(0, 0).tolist(), [1, 2], "pretrained padding row is kept");
  trainable.forward(flint.tensor([[0, 1]], { dtype: "int32" })).sum().backward();
  assert.deepEqual(trainable.weight.grad?.tolist(), [[0, 0], [1, 1], [0, 0]]);
});

test("Linear and activations work on unbatched and higher-rank inputs", () => {
  const lin = new nn.Linear(3, 2);
  const x = flint.randn([2, 4, 5, 3]);
  const y = lin.forward(x);
  assert.deepEqual(y.shape, [2, 4, 5, 2]);
  assertClose(y.select(1, 2), lin.forward(x.select(1, 2)));
  assert.deepEqual(new nn.PReLU().forward(flint.randn([3])).shape, [3]);
  assert.throws(() => new nn.PReLU({ numParameters: 3 }).forward(flint.randn([3])), /prelu: mismatch of parameter numbers and input channel size: found 3 parameters and 1 channels/);
  assert.deepEqual(new nn.PReLU({ numParameters: 3 }).forward(flint.randn([2, 3, 2, 2, 2])).shape, [2, 3, 2, 2, 2]);
});
