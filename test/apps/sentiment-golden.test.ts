// flint's sentiment classifiers against PyTorch (test/fixtures/gen_sentiment.py): the same
// weights and padded batch give PyTorch's logits, loss and gradients, padding and an empty
// sentence included.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as flint from "../../src/index.js";
import { createSentimentModel, type SentimentModelConfig } from "../../src/apps/sentiment/index.js";
import { assertClose, loadJsonFixture, type Golden } from "../helpers.js";

interface Case {
  config: SentimentModelConfig;
  state: Record<string, Golden>;
  ids: number[][];
  lengths: number[];
  labels: number[];
  logits: Golden;
  loss: number;
  grads: Record<string, Golden>;
}

const cases = loadJsonFixture<Record<string, Case>>("sentiment/models.json");

for (const [kind, c] of Object.entries(cases)) {
  test(`sentiment ${kind}: logits, loss and gradients match PyTorch`, () => {
    const model = createSentimentModel(c.config);
    const state = Object.fromEntries(Object.entries(c.state).map(([k, g]) => [k, flint.tensor(Float32Array.from(g.data)).reshape(g.shape)]));
    assert.deepEqual(Object.keys(model.stateDict()).sort(), Object.keys(state).sort(), "PyTorch's state-dict keys");
    model.loadStateDict(state);
    model.eval();
    const logits = model.forward(flint.tensor(c.ids, { dtype: "int32" }), c.lengths);
    assertClose(logits, c.logits, { atol: 1e-5, rtol: 1e-4 });
    const loss = flint.nn.functional.crossEntropy(logits, flint.tensor(c.labels, { dtype: "int32" }));
    assert.ok(Math.abs(loss.item() - c.loss) < 1e-5, `loss ${loss.item()} vs ${c.loss}`);
    loss.backward();
    const params = Object.fromEntries(model.namedParameters());
    for (const [name, golden] of Object.entries(c.grads)) assertClose(params[name].grad as flint.Tensor, golden, { atol: 1e-5, rtol: 1e-4, message: name });
  });
}
