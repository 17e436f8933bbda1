// The lectures' sequence modules beyond PyTorch: SinusoidalPositionalEncoding (checked against the
// PyTorch tutorial's PositionalEncoding) and the end-to-end MemoryNetwork (against a PyTorch
// reference of Sukhbaatar et al. 2015 written in the fixture generator).
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose } from "../helpers.js";
import { checkAgainstGolden, loadCases } from "./seq-fixture.js";

const { nn } = flint;
const cases = loadCases("extras.json");

test("SinusoidalPositionalEncoding golden: the tutorial's buffer and output (odd dModel)", () => {
  const m = new nn.SinusoidalPositionalEncoding(7, { maxLen: 50, dropout: 0 });
  const c = cases.get("positional_encoding_odd_dim")!;
  // The buffer is computed, not loaded: compare it before loadStateDict overwrites it.
  assertClose(m.pe, c.state.pe as { shape: number[]; data: number[] }, { atol: 2e-6, rtol: 1e-5 });
  checkAgainstGolden(m, c, ([x]) => [m.forward(x)]);
});

test("SinusoidalPositionalEncoding: batchFirst, dropout, errors", () => {
  const m = new nn.SinusoidalPositionalEncoding(4, { maxLen: 10, dropout: 0, batchFirst: true });
  const x = flint.zeros([2, 3, 4]);
  const out = m.forward(x);
  assertClose(out.select(0, 1), m.pe.narrow(0, 0, 3).squeeze(1), { atol: 0, rtol: 0 });
  assertClose(out.select(0, 0).select(0, 1), [Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01)], { atol: 1e-6 });
  assert.throws(() => m.forward(flint.zeros([2, 11, 4])), /sequence length 11 exceeds maxLen 10/);
  const dropping = new nn.SinusoidalPositionalEncoding(4, { maxLen: 10 });
  const ones = flint.ones([5, 2, 4]);
  assert.ok(!dropping.forward(ones).allclose(dropping.forward(ones)));
  dropping.eval();
  assertClose(dropping.forward(ones), dropping.forward(ones), { atol: 0, rtol: 0 });
});

test("MemoryNetwork golden: adjacent tying with position encoding", () => {
  const m = new nn.MemoryNetwork(12, 6, { hops: 3, weightTying: "adjacent" });
  assert.deepEqual(Object.keys(m.stateDict()), ["embeddings.0.weight", "embeddings.1.weight", "embeddings.2.weight", "embeddings.3.weight"]);
  checkAgainstGolden(m, cases.get("memn2n_adjacent")!, ([story, query]) => m.forward(story, query));
});

test("MemoryNetwork golden: layer-wise tying, bag of words", () => {
  const m = new nn.MemoryNetwork(12, 6, { hops: 3, weightTying: "layerwise", positionEncoding: false });
  assert.deepEqual(Object.keys(m.stateDict()), ["A.weight", "B.weight", "C.weight", "H.weight", "W.weight"]);
  checkAgainstGolden(m, cases.get("memn2n_layerwise")!, ([story, query]) => m.forward(story, query));
});

test("MemoryNetwork: empty memory slots get no attention; padding rows start at zero; errors", () => {
  flint.manualSeed(0);
  const m = new nn.MemoryNetwork(10, 4, { hops: 2 });
  assert.equal(m.getParameter("embeddings.1.weight").select(0, 0).abs().sum().item(), 0);
  const story = flint.tensor([[[1, 2, 0], [0, 0, 0], [3, 0, 0]]], { dtype: "int32" });
  const [logits, attention] = m.forward(story, flint.tensor([[4, 5, 0]], { dtype: "int32" }));
  assert.deepEqual([...logits.shape], [1, 10]);
  assert.deepEqual([...attention.shape], [1, 2, 3]);
  assert.equal(attention.select(2, 1).abs().sum().item(), 0);
  assertClose(attention.sum(2), [1, 1].map(() => 1), { atol: 1e-6 });
  assert.throws(() => m.forward(story.float(), flint.tensor([[1, 2, 3]], { dtype: "int32" })), /MemoryNetwork\.forward: story and query must be int32/);
  assert.throws(() => new nn.MemoryNetwork(10, 4, { weightTying: "tied" as "adjacent" }), /weightTying must be "adjacent" or "layerwise"/);
});
