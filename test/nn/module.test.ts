// nn.Module machinery: discovery of parameters/buffers/children in definition order, PyTorch's
// state-dict keys and repr for nested containers (goldens from test/fixtures/gen_nn_basic.py),
// strict and non-strict loading, modes, gradients, apply, and the containers' APIs.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { assertClose, loadJsonFixture } from "../helpers.js";

const { nn } = flint;
type Module = InstanceType<typeof nn.Module>;

interface ModuleGoldens {
  nested_repr: string;
  nested_keys: string[];
  nested_param_names: string[];
  nested_buffer_names: string[];
  nested_module_names: string[];
  reprs: Record<string, string>;
  tied_keys: string[];
  tied_param_names: string[];
  shared_keys: string[];
  shared_param_names: string[];
  shared_module_names: string[];
  shared_repr: string;
}
const golden = loadJsonFixture<ModuleGoldens>("nn_basic/module.json");

/** The twin of gen_nn_basic.py's Block: properties in the same order as PyTorch's attributes. */
class Block extends nn.Module {
  conv_like = new nn.Linear(3, 3);
  layers = new nn.ModuleList([new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 3, { bias: false })]);
  heads = new nn.ModuleDict(new Map<string, Module>([["b", new nn.Tanh()], ["a", new nn.Linear(3, 1)]]));
  declare running_mean: Tensor;
  declare scratch: Tensor;
  act: Module;
  constructor() {
    super();
    this.registerBuffer("running_mean", flint.zeros([3]));
    this.registerBuffer("scratch", flint.zeros([2]), { persistent: false });
    this.act = new nn.PReLU();
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

function nested(): Module {
  return new nn.Sequential(new Map<string, Module>([
    ["embed", new nn.Embedding(10, 3, { paddingIdx: 0 })],
    ["block", new Block()],
    ["flat", new nn.Flatten()],
    ["drop", new nn.Dropout(0.25)],
    ["soft", new nn.Softmax(1)],
  ]));
}

test("nested containers: repr, state-dict keys and member names match PyTorch", () => {
  const net = nested();
  assert.equal(String(net), golden.nested_repr);
  assert.deepEqual(Object.keys(net.stateDict()), golden.nested_keys);
  assert.deepEqual(net.namedParameters().map(([n]) => n), golden.nested_param_names);
  assert.deepEqual(net.namedBuffers().map(([n]) => n), golden.nested_buffer_names);
  assert.deepEqual(net.namedModules().map(([n]) => n), golden.nested_module_names);
  assert.equal(net.parameters().length, golden.nested_param_names.length);
  assert.equal(net.buffers().length, golden.nested_buffer_names.length);
});

test("layer reprs show PyTorch's extra_repr text", () => {
  const modules: Record<string, Module> = {
    leaky: new nn.LeakyReLU({ negativeSlope: 0.2, inplace: true }),
    elu: new nn.ELU({ alpha: 0.5 }),
    hardtanh: new nn.Hardtanh({ minVal: -2, maxVal: 3 }),
    softplus: new nn.Softplus(),
    softshrink: new nn.Softshrink({ lambd: 0.25 }),
    gelu: new nn.GELU({ approximate: "tanh" }),
    silu: new nn.SiLU(),
    prelu: new nn.PReLU({ numParameters: 3 }),
    dropout: new nn.Dropout(),
    dropout2d: new nn.Dropout2d(0.2),
    embedding_norm: new nn.Embedding(5, 2, { maxNorm: 2, normType: 1 }),
    unflatten: new nn.Unflatten(1, [2, 3]),
    flatten: new nn.Flatten({ startDim: 0, endDim: 2 }),
    bilinear: new nn.Bilinear(2, 3, 4, { bias: false }),
    identity: new nn.Identity(),
    logsoftmax: new nn.LogSoftmax(-1),
    softmax_none: new nn.Softmax(),
  };
  assert.deepEqual(Object.keys(modules).sort(), Object.keys(golden.reprs).sort());
  for (const [name, m] of Object.entries(modules)) assert.equal(String(m), golden.reprs[name], name);
});

test("a tied parameter keeps both state-dict keys but is one parameter", () => {
  const tied = new nn.Sequential(new nn.Linear(3, 3), new nn.Linear(3, 3));
  (tied.at(1) as InstanceType<typeof nn.Linear>).weight = (tied.at(0) as InstanceType<typeof nn.Linear>).weight;
  assert.deepEqual(Object.keys(tied.stateDict()), golden.tied_keys);
  assert.deepEqual(tied.namedParameters().map(([n]) => n), golden.tied_param_names);
});

test("a module used twice is one module with two keys", () => {
  const shared = new nn.Linear(2, 2);
  const twice = new nn.Sequential(shared, new nn.ReLU(), shared);
  assert.deepEqual(Object.keys(twice.stateDict()), golden.shared_keys);
  assert.deepEqual(twice.namedParameters().map(([n]) => n), golden.shared_param_names);
  assert.deepEqual(twice.namedModules().map(([n]) => n), golden.shared_module_names);
  assert.equal(String(twice), golden.shared_repr);
  assert.equal(twice.length, 3);
  assert.equal(twice.children().length, 2);
  // forward runs the shared layer twice
  const x = flint.randn([4, 2]);
  assertClose(twice.forward(x), shared.forward(shared.forward(x).relu()));
});

test("stateDict is detached but shares storage; loadStateDict copies in place", () => {
  const lin = new nn.Linear(3, 2);
  const sd = lin.stateDict();
  assert.equal(sd.weight.requiresGrad, false);
  assert.equal(sd.weight.storage, lin.weight.storage);
  const weightBefore = lin.weight;
  const newWeight = flint.arange(6, undefined, 1, { dtype: "float32" }).reshape([2, 3]);
  lin.loadStateDict({ weight: newWeight, bias: flint.tensor([1, -1]) });
  assert.equal(lin.weight, weightBefore, "the same Parameter object");
  assert.equal(lin.weight.requiresGrad, true);
  assert.deepEqual(lin.weight.tolist(), [[0, 1, 2], [3, 4, 5]]);
  newWeight.fill_(7);
  assert.deepEqual(lin.bias?.tolist(), [1, -1]);
  assert.equal(lin.weight.sum().item(), 15, "copied, not aliased");
});

test("loadStateDict strict: missing, unexpected and mismatched keys are all listed and nothing is written", () => {
  const net = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 1));
  const before = net.at(0) instanceof nn.Linear ? (net.at(0) as InstanceType<typeof nn.Linear>).weight.clone() : flint.zeros([1]);
  const sd: Record<string, Tensor> = {
    "0.weight": flint.zeros([2, 3]),
    "0.bias": flint.zeros([3]),
    "2.weight": flint.zeros([1, 2]),
    "9.weight": flint.zeros([1]),
  };
  assert.throws(() => net.loadStateDict(sd), (e: Error) => {
    assert.match(e.message, /^loadStateDict: Error\(s\) in loading state_dict for Sequential/);
    assert.match(e.message, /Missing key\(s\) in state_dict: "2\.bias"/);
    assert.match(e.message, /Unexpected key\(s\) in state_dict: "9\.weight"/);
    assert.match(e.message, /size mismatch for 0\.bias: copying a param with shape \[3\] from checkpoint, the shape in current model is \[2\]/);
    return true;
  });
  assertClose((net.at(0) as InstanceType<typeof nn.Linear>).weight, before, { atol: 0, rtol: 0, message: "untouched" });
});

test("loadStateDict non-strict reports missing and unexpected keys, but shape mismatches still throw", () => {
  const lin = new nn.Linear(2, 2);
  const result = lin.loadStateDict({ weight: flint.ones([2, 2]), extra: flint.zeros([1]) }, { strict: false });
  assert.deepEqual(result, { missingKeys: ["bias"], unexpectedKeys: ["extra"] });
  assert.deepEqual(lin.weight.tolist(), [[1, 1], [1, 1]]);
  assert.throws(() => lin.loadStateDict({ weight: flint.ones([3, 2]) }, { strict: false }), /size mismatch for weight/);
  assert.throws(() => lin.loadStateDict({ weight: [1, 2] as unknown as Tensor, bias: flint.zeros([2]) }), /value for "weight" is not a Tensor/);
});

test("loadStateDict converts dtypes like copy_ (int checkpoint values into float params and back)", () => {
  class Counter extends nn.Module {
    declare num_batches_tracked: Tensor;
    scale = new nn.Parameter(flint.zeros([2]));
    constructor() {
      super();
      this.registerBuffer("num_batches_tracked", flint.tensor(0, { dtype: "int32" }));
    }
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  const m = new Counter();
  m.loadStateDict({ scale: flint.tensor([3, 4], { dtype: "int32" }), num_batches_tracked: flint.tensor(12.0) });
  assert.equal(m.scale.dtype, "float32");
  assert.deepEqual(m.scale.tolist(), [3, 4]);
  assert.equal(m.num_batches_tracked.dtype, "int32");
  assert.equal(m.num_batches_tracked.item(), 12);
  assert.deepEqual(Object.keys(m.stateDict()), ["scale", "num_batches_tracked"]);
});

test("buffers: registration, persistence, reassignment and null", () => {
  class WithBuffers extends nn.Module {
    declare running_var: Tensor;
    constructor() {
      super();
      this.registerBuffer("running_var", flint.ones([2]));
      this.registerBuffer("cache", flint.zeros([1]), { persistent: false });
      this.registerBuffer("maybe", null);
    }
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  const m = new WithBuffers();
  assert.deepEqual(m.namedBuffers().map(([n]) => n), ["running_var", "cache"]);
  assert.deepEqual(Object.keys(m.stateDict()), ["running_var"]);
  m.running_var = flint.full([2], 5);
  assert.deepEqual(m.stateDict().running_var.tolist(), [5, 5], "a reassigned buffer stays a buffer");
  assert.equal(m.parameters().length, 0);
  assert.throws(() => m.registerBuffer("forward", flint.zeros([1])), /registerBuffer: attribute "forward" already exists/);
  assert.throws(() => m.registerBuffer("a.b", flint.zeros([1])), /can't contain "\."/);
  assert.throws(() => m.registerBuffer("x", 3 as unknown as Tensor), /registerBuffer: cannot assign a number/);
  assert.throws(() => m.registerParameter("p", flint.zeros([1]) as unknown as InstanceType<typeof nn.Parameter>), /nn\.Parameter or null is required/);
  m.registerParameter("p", new nn.Parameter(flint.zeros([1])));
  m.registerModule("sub", new nn.Linear(1, 1));
  m.addModule("sub2", new nn.Identity());
  assert.deepEqual(Object.keys(m.stateDict()), ["p", "running_var", "sub.weight", "sub.bias"]);
  assert.equal(m.getSubmodule("sub2") instanceof nn.Identity, true);
});

test("Parameter shares storage, is a leaf and requires grad by default", () => {
  const data = flint.randn([2, 2]);
  const p = new nn.Parameter(data);
  assert.equal(p.storage, data.storage);
  assert.equal(p.requiresGrad, true);
  assert.equal(p.isLeaf, true);
  assert.equal(new nn.Parameter(data, false).requiresGrad, false);
  assert.equal(new nn.Parameter(data, { requiresGrad: false }).requiresGrad, false);
  const derived = flint.randn([2], { requiresGrad: true }).mul(2);
  const fromOp = new nn.Parameter(derived);
  assert.equal(fromOp.isLeaf, true);
  assert.match(String(new nn.Parameter(flint.tensor([1, 2]))), /^Parameter containing:\ntensor\(\[1\., 2\.\], requiresGrad=true\)$/);
  assert.equal(p instanceof flint.Tensor, true);
});

test("train/eval propagate; zeroGrad clears; requiresGrad_ freezes; apply visits children first", () => {
  const net = nested();
  net.eval();
  assert.ok(net.modules().every((m) => !m.training));
  net.train();
  assert.ok(net.modules().every((m) => m.training));
  const lin = new nn.Linear(3, 2);
  lin.forward(flint.randn([4, 3])).sum().backward();
  assert.ok(lin.weight.grad !== null && lin.bias?.grad !== null);
  lin.zeroGrad();
  assert.equal(lin.weight.grad, null);
  assert.equal(lin.bias?.grad, null);
  lin.requiresGrad_(false);
  assert.ok(lin.parameters().every((p) => !p.requiresGrad));
  assert.equal(lin.forward(flint.randn([1, 3])).requiresGrad, false);
  const visited: string[] = [];
  new nn.Sequential(new nn.ReLU(), new nn.Sequential(new nn.Tanh())).apply((m) => visited.push(m.constructor.name));
  assert.deepEqual(visited, ["ReLU", "Tanh", "Sequential", "Sequential"]);
  // apply for custom init
  const seq = new nn.Sequential(new nn.Linear(2, 2), new nn.Linear(2, 2));
  seq.apply((m) => {
    if (m instanceof nn.Linear) nn.init.constant(m.weight, 0.5);
  });
  assert.ok(seq.parameters().filter((p) => p.ndim === 2).every((p) => p.eq(0.5).all().item() === 1));
});

test("parameters({ recurse: false }), children and getParameter/getBuffer", () => {
  const block = new Block();
  assert.deepEqual(block.parameters({ recurse: false }), []);
  assert.deepEqual(block.namedChildren().map(([n]) => n), ["conv_like", "layers", "heads", "act"]);
  assert.equal(block.getParameter("layers.2.weight").shape.join(","), "3,4");
  assert.equal(block.getBuffer("running_mean").shape[0], 3);
  assert.throws(() => block.getSubmodule("layers.7"), /getSubmodule: ModuleList has no submodule "7"/);
  assert.throws(() => block.getParameter("conv_like.nope"), /getParameter: Linear has no parameter "nope"/);
  assert.deepEqual(block.namedParameters({ prefix: "model" }).map(([n]) => n)[0], "model.conv_like.weight");
});

test("Sequential: indexing, iteration, append, insert, slice, named children", () => {
  const a = new nn.Linear(2, 3);
  const b = new nn.ReLU();
  const c = new nn.Linear(3, 1);
  const seq = new nn.Sequential(a, b);
  assert.equal(seq.length, 2);
  assert.equal(seq.at(0), a);
  assert.equal(seq.at(-1), b);
  assert.equal(seq[1], b);
  assert.throws(() => seq.at(2), /Sequential\.at: index 2 is out of range for a container of length 2/);
  seq.append(c);
  assert.deepEqual([...seq], [a, b, c]);
  const x = flint.randn([5, 2]);
  assertClose(seq.forward(x), c.forward(a.forward(x).relu()));
  const tanh = new nn.Tanh();
  seq.insert(1, tanh);
  assert.deepEqual([...seq], [a, tanh, b, c]);
  assert.deepEqual(Object.keys(seq.stateDict()), ["0.weight", "0.bias", "3.weight", "3.bias"]);
  const tail = seq.slice(2);
  assert.deepEqual([...tail], [b, c]);
  assert.deepEqual(Object.keys(tail.stateDict()), ["3.weight", "3.bias"], "slices keep their keys, as in PyTorch");
  const named = new nn.Sequential(new Map<string, Module>([["encoder", a], ["act", b]]));
  assert.deepEqual(Object.keys(named.stateDict()), ["encoder.weight", "encoder.bias"]);
  assert.throws(() => new nn.Sequential(new Map<string, Module>([["at", a]])), /registerModule: attribute "at" already exists/);
  assert.throws(() => new nn.Sequential(3 as unknown as Module), /Sequential: expected an nn.Module, got number/);
});

test("ModuleList: append, extend, insert, set, iteration and no forward", () => {
  const list = new nn.ModuleList([new nn.Linear(1, 1)]);
  list.append(new nn.ReLU()).extend([new nn.Tanh(), new nn.Sigmoid()]);
  assert.equal(list.length, 4);
  list.insert(0, new nn.Identity());
  assert.deepEqual([...list].map((m) => m.constructor.name), ["Identity", "Linear", "ReLU", "Tanh", "Sigmoid"]);
  list.set(-1, new nn.GELU());
  assert.equal(list.at(4).constructor.name, "GELU");
  assert.deepEqual(Object.keys(list.stateDict()), ["1.weight", "1.bias"]);
  assert.throws(() => list.forward(), /ModuleList: a ModuleList has no forward/);
  // 12 entries: numeric keys stay in numeric order.
  const many = new nn.ModuleList(Array.from({ length: 12 }, (_, i) => new nn.Linear(1, i + 1)));
  assert.deepEqual(many.namedChildren().map(([n]) => n), Array.from({ length: 12 }, (_, i) => String(i)));
});

test("ModuleDict keeps insertion order, even for numeric-looking keys", () => {
  const dict = new nn.ModuleDict({ z: new nn.Linear(1, 2), a: new nn.ReLU() });
  dict.set("10", new nn.Linear(2, 2)).set("2", new nn.Linear(2, 1));
  assert.deepEqual([...dict], ["z", "a", "10", "2"]);
  assert.deepEqual(dict.namedChildren().map(([n]) => n), ["z", "a", "10", "2"]);
  assert.deepEqual(Object.keys(dict.stateDict()), ["z.weight", "z.bias", "10.weight", "10.bias", "2.weight", "2.bias"]);
  assert.equal(dict.length, 4);
  assert.equal(dict.has("a"), true);
  assert.equal(dict.delete("a").constructor.name, "ReLU");
  assert.equal(dict.has("a"), false);
  assert.throws(() => dict.get("a"), /ModuleDict\.get: no module under key "a"/);
  assert.throws(() => dict.set("x.y", new nn.ReLU()), /without "\."/);
  assert.equal(dict.getSubmodule("10") instanceof nn.Linear, true);
  const sd = dict.stateDict();
  const fresh = new nn.ModuleDict(new Map<string, Module>([["z", new nn.Linear(1, 2)], ["10", new nn.Linear(2, 2)], ["2", new nn.Linear(2, 1)]]));
  fresh.loadStateDict(sd);
  assertClose(fresh.getParameter("10.weight"), sd["10.weight"]);
});

test("a model built by subclassing trains end to end", () => {
  flint.manualSeed(0);
  class MLP extends nn.Module {
    fc1 = new nn.Linear(2, 8);
    fc2 = new nn.Linear(8, 1);
    forward(x: Tensor): Tensor {
      return this.fc2.forward(nn.functional.relu(this.fc1.forward(x)));
    }
  }
  const model = new MLP();
  const x = flint.randn([32, 2]);
  const y = x.sum(1, { keepdim: true }).mul(0.5);
  const loss = () => model.forward(x).sub(y).square().mean();
  const initial = loss().item();
  for (let step = 0; step < 200; step++) {
    model.zeroGrad();
    loss().backward();
    flint.noGrad(() => {
      for (const p of model.parameters()) p.sub_((p.grad as Tensor).mul(0.1));
    });
  }
  assert.ok(loss().item() < initial * 0.05, `loss ${loss().item()} vs initial ${initial}`);
});
