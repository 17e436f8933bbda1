// nn.RNN / GRU / LSTM, their cells and LeakyRNN against PyTorch goldens (outputs, final states,
// input and parameter gradients; state dicts loaded strictly, which proves the keys).
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose } from "../helpers.js";
import { checkAgainstGolden, loadCases, type SeqCase } from "./seq-fixture.js";

const { nn } = flint;
type Tensor = flint.Tensor;
const cases = loadCases("rnn.json");

function build(c: SeqCase): flint.nn.RNNBase {
  const o = c.options as flint.nn.RNNOptions;
  const [inputSize, hiddenSize] = [4, 5];
  if (c.module === "RNN") return new nn.RNN(inputSize, hiddenSize, o);
  if (c.module === "GRU") return new nn.GRU(inputSize, hiddenSize, o);
  return new nn.LSTM(inputSize, hiddenSize, o);
}

/** Runs a recurrent layer and lists its outputs as PyTorch's flattened tuple. */
function runLayer(m: flint.nn.RNNBase, c: SeqCase, inputs: Tensor[]): Tensor[] {
  const lengths = (c.lengths as number[] | null) ?? undefined;
  const [x, h0, c0] = inputs;
  if (m instanceof nn.LSTM) {
    const [out, [h, cell]] = m.forward(x, h0 ? [h0, c0] : null, { lengths });
    return [out, h, cell];
  }
  const [out, h] = (m as flint.nn.GRU).forward(x, h0 ?? null, { lengths });
  return [out, h];
}

for (const name of [
  "rnn_tanh_h0", "rnn_relu_2layer_bidir_batchfirst", "gru_2layer_bidir_h0", "gru_batchfirst_nobias",
  "lstm_2layer_bidir_h0c0", "lstm_batchfirst", "lstm_bidir_lengths_batchfirst", "gru_bidir_lengths_h0",
  "rnn_lengths", "lstm_unbatched", "lstm_proj_2layer_bidir_h0c0", "lstm_proj_lengths_batchfirst",
]) {
  test(`recurrent golden: ${name}`, () => {
    const c = cases.get(name)!;
    const m = build(c);
    checkAgainstGolden(m, c, (inputs) => runLayer(m, c, inputs));
  });
}

test("recurrent golden: cells", () => {
  const rnnCell = new nn.RNNCell(4, 5);
  checkAgainstGolden(rnnCell, cases.get("rnncell")!, ([x, h]) => [rnnCell.forward(x, h)]);
  const gruCell = new nn.GRUCell(4, 5);
  checkAgainstGolden(gruCell, cases.get("grucell")!, ([x, h]) => [gruCell.forward(x, h)]);
  const lstmCell = new nn.LSTMCell(4, 5);
  checkAgainstGolden(lstmCell, cases.get("lstmcell")!, ([x, h, c]) => lstmCell.forward(x, [h, c]));
  const reluCell = new nn.RNNCell(4, 5, { nonlinearity: "relu", bias: false });
  checkAgainstGolden(reluCell, cases.get("rnncell_relu_nobias_nostate")!, ([x]) => [reluCell.forward(x)]);
});

test("LeakyRNN: dt < 1 matches the discretized-ODE reference; dt = 1 is nn.RNN", () => {
  const leaky = new nn.LeakyRNN(4, 5, { dt: 0.3 });
  checkAgainstGolden(leaky, cases.get("leaky_rnn_dt0.3")!, ([x, h]) => leaky.forward(x, h));
  flint.manualSeed(3);
  const rnn = new nn.RNN(4, 5, { numLayers: 2 });
  const same = new nn.LeakyRNN(4, 5, { numLayers: 2, dt: 1 });
  same.loadStateDict(rnn.stateDict());
  const x = flint.randn([6, 2, 4]);
  const [a, ha] = rnn.forward(x);
  const [b, hb] = same.forward(x);
  assertClose(b, a, { atol: 0, rtol: 0 });
  assertClose(hb, ha, { atol: 0, rtol: 0 });
  assert.throws(() => new nn.LeakyRNN(4, 5, { dt: 0 }), /LeakyRNN: dt must be in \(0, 1\]/);
  assert.throws(() => new nn.LeakyRNN(4, 5, { dt: 1.5 }), /dt must be in/);
});

test("state dict keys and shapes are PyTorch's", () => {
  const lstm = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true });
  const sd = lstm.stateDict();
  assert.deepEqual(Object.keys(sd).slice(0, 8), [
    "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
    "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
  ]);
  assert.equal(Object.keys(sd).length, 16);
  assert.deepEqual([...sd.weight_ih_l1.shape], [16, 8]);
  assert.deepEqual([...sd.weight_hh_l1_reverse.shape], [16, 4]);
  const projected = new nn.LSTM(3, 4, { projSize: 2, numLayers: 2 }).stateDict();
  assert.deepEqual(Object.keys(projected).slice(0, 5), ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]);
  assert.deepEqual([...projected.weight_hh_l0.shape], [16, 2]);
  assert.deepEqual([...projected.weight_hr_l0.shape], [2, 4]);
  assert.deepEqual([...projected.weight_ih_l1.shape], [16, 2]);
  const gru = new nn.GRU(3, 4, { bias: false });
  assert.deepEqual(Object.keys(gru.stateDict()), ["weight_ih_l0", "weight_hh_l0"]);
  const cell = new nn.LSTMCell(3, 4);
  assert.deepEqual(Object.keys(cell.stateDict()), ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]);
  assert.deepEqual([...cell.weight_ih.shape], [16, 3]);
});

test("init is U(-1/sqrt(H), 1/sqrt(H)) and follows manualSeed", () => {
  flint.manualSeed(7);
  const a = new nn.GRU(3, 16);
  flint.manualSeed(7);
  const b = new nn.GRU(3, 16);
  for (const [k, v] of Object.entries(a.stateDict())) {
    assert.ok(v.abs().max().item() <= 0.25, k);
    assertClose(b.stateDict()[k], v, { atol: 0, rtol: 0 });
  }
});

test("repr matches PyTorch's", () => {
  assert.equal(new nn.LSTM(10, 20, { numLayers: 2, batchFirst: true }).toString(), "LSTM(10, 20, num_layers=2, batch_first=True)");
  assert.equal(new nn.GRU(3, 4, { bias: false, dropout: 0.5, bidirectional: true }).toString(), "GRU(3, 4, bias=False, dropout=0.5, bidirectional=True)");
  assert.equal(new nn.RNNCell(3, 4, { nonlinearity: "relu" }).toString(), "RNNCell(3, 4, nonlinearity=relu)");
  assert.equal(new nn.LSTMCell(3, 4).toString(), "LSTMCell(3, 4)");
  assert.equal(new nn.LSTM(3, 4, { projSize: 2 }).toString(), "LSTM(3, 4, proj_size=2)");
});

test("lengths: outputs past a sequence's end are zero and the state stops there", () => {
  flint.manualSeed(1);
  const gru = new nn.GRU(3, 4, { batchFirst: true });
  const x = flint.randn([2, 5, 3]);
  const [out, h] = gru.forward(x, null, { lengths: flint.tensor([5, 2], { dtype: "int32" }) });
  const [shortOut, shortH] = gru.forward(x.narrow(0, 1, 1).narrow(1, 0, 2));
  assertClose(out.narrow(0, 1, 1).narrow(1, 0, 2), shortOut, { atol: 1e-6 });
  assert.equal(out.narrow(0, 1, 1).narrow(1, 2, 3).abs().sum().item(), 0);
  assertClose(h.narrow(1, 1, 1), shortH, { atol: 1e-6 });
});

test("inter-layer dropout is active in training only", () => {
  flint.manualSeed(2);
  const lstm = new nn.LSTM(3, 6, { numLayers: 2, dropout: 0.5 });
  const x = flint.randn([4, 2, 3]);
  const [a] = lstm.forward(x);
  const [b] = lstm.forward(x);
  assert.ok(!a.allclose(b), "two training passes should differ");
  lstm.eval();
  const [c] = lstm.forward(x);
  const [d] = lstm.forward(x);
  assertClose(c, d, { atol: 0, rtol: 0 });
});

test("bad input throws with the op and shapes", () => {
  const lstm = new nn.LSTM(3, 4);
  assert.throws(() => lstm.forward(flint.randn([5, 2, 7])), /LSTM\.forward: input of shape \[5, 2, 7\] should have last dim 3/);
  assert.throws(() => lstm.forward(flint.randn([5, 2, 3]), [flint.zeros([1, 3, 4]), flint.zeros([1, 2, 4])]), /expected hidden state h0 of shape \[1, 2, 4\], got \[1, 3, 4\]/);
  assert.throws(() => lstm.forward(flint.randn([5, 2, 3]), null, { lengths: [6, 1] }), /lengths must be integers in \[0, 5\]/);
  assert.throws(() => new nn.GRU(3, 0), /GRU: hiddenSize must be an integer >= 1/);
  assert.throws(() => new nn.GRU(3, 4, { projSize: 2 }), /GRU: projSize is only supported for LSTM/);
  assert.throws(() => new nn.LSTM(3, 4, { projSize: 4 }), /projSize \(4\) has to be smaller than hiddenSize \(4\)/);
  assert.throws(() => new nn.RNN(3, 4, { nonlinearity: "sigmoid" as "tanh" }), /unknown nonlinearity/);
  assert.throws(() => new nn.GRUCell(3, 4).forward(flint.randn([2, 3]), flint.zeros([3, 4])), /GRUCell\.forward: expected hx of shape \[2, 4\], got \[3, 4\]/);
});

test("gradcheck through the fused LSTM and GRU recurrences", () => {
  flint.manualSeed(5);
  for (const m of [new nn.LSTM(2, 3, { bidirectional: true }), new nn.GRU(2, 3, { numLayers: 2 })]) {
    const x = flint.randn([3, 2, 2]).requiresGrad_();
    const h0 = flint.randn([m.numLayers * m.numDirections, 2, 3]).mul(0.5).requiresGrad_();
    const fn = (xi: Tensor, hi: Tensor): Tensor => {
      const out = m instanceof nn.LSTM ? m.forward(xi, [hi, hi.mul(0.5)], { lengths: [3, 2] })[0] : (m as flint.nn.GRU).forward(xi, hi)[0];
      return out.sum();
    };
    assert.ok(flint.autograd.gradcheck(fn, [x, h0], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 }));
  }
});

test("inference under noGrad (nothing saved for backward) gives the same numbers", () => {
  flint.manualSeed(4);
  for (const m of [new nn.LSTM(3, 4, { bidirectional: true, numLayers: 2 }), new nn.LSTM(3, 4, { projSize: 2 }), new nn.GRU(3, 4, { bidirectional: true }), new nn.LeakyRNN(3, 4, { dt: 0.5 })]) {
    const x = flint.randn([5, 2, 3]);
    const run = (): Tensor[] => {
      const [out, state] = (m as flint.nn.GRU).forward(x, null, { lengths: [5, 3] });
      return [out, ...(Array.isArray(state) ? state : [state])];
    };
    const tracked = run();
    assert.ok(tracked[0].requiresGrad);
    const untracked = flint.noGrad(run);
    assert.ok(!untracked[0].requiresGrad);
    tracked.forEach((t, i) => assertClose(untracked[i], t, { atol: 0, rtol: 0 }));
  }
});

test("torch.nn.utils.rnn-style packing reproduces PyTorch's packed LSTM golden", () => {
  const c = cases.get("lstm_bidir_lengths_batchfirst")!;
  const m = build(c);
  checkAgainstGolden(m, c, ([x]) => {
    const packed = nn.packPaddedSequence(x, c.lengths as number[], { batchFirst: true, enforceSorted: false });
    const [out, [h, cell]] = (m as flint.nn.LSTM).forward(packed);
    const [padded, lengths] = nn.padPackedSequence(out, { batchFirst: true, totalLength: 5 });
    assert.deepEqual(lengths.tolist(), c.lengths);
    return [padded, h, cell];
  });
});

test("padSequence, packSequence and padPackedSequence behave as torch.nn.utils.rnn", () => {
  const a = flint.tensor([[1, 1], [2, 2], [3, 3]]);
  const b = flint.tensor([[4, 4]]);
  assert.deepEqual(nn.padSequence([a, b], { batchFirst: true, paddingValue: -1 }).tolist(), [[[1, 1], [2, 2], [3, 3]], [[4, 4], [-1, -1], [-1, -1]]]);
  assert.deepEqual([...nn.padSequence([a, b]).shape], [3, 2, 2]);
  const packed = nn.packSequence([a, b]);
  assert.deepEqual(packed.lengths, [3, 1]);
  const [padded, lengths] = nn.padPackedSequence(packed, { paddingValue: 9, totalLength: 4 });
  assert.deepEqual(padded.select(1, 1).tolist(), [[4, 4], [9, 9], [9, 9], [9, 9]]);
  assert.deepEqual(lengths.tolist(), [3, 1]);
  assert.equal(lengths.dtype, "int32");
  assert.throws(() => nn.packSequence([b, a]), /packPaddedSequence: `lengths` array must be sorted in decreasing order/);
  assert.throws(() => nn.padPackedSequence(packed, { totalLength: 2 }), /totalLength must be at least the longest sequence \(3\)/);
  const gru = new nn.GRU(2, 3);
  const untyped = gru as unknown as { forward(...args: unknown[]): unknown };
  assert.throws(() => untyped.forward(packed, null, { lengths: [3, 1] }), /not both/);
  // A packed batch ignores the layer's batchFirst, as in PyTorch.
  flint.manualSeed(1);
  const bf = new nn.GRU(2, 3, { batchFirst: true });
  const [packedOut] = bf.forward(packed);
  const [plainOut] = bf.forward(nn.padSequence([a, b], { batchFirst: true }), null, { lengths: [3, 1] });
  assertClose(nn.padPackedSequence(packedOut, { batchFirst: true })[0], plainOut, { atol: 0, rtol: 0 });
});
