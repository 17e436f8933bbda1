// flint's character models against PyTorch (test/fixtures/gen_apps.py): the same weights give the
// same logits and loss, and one training step (AdamW, decay on matrices, clipping) the same weights.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as flint from "../../src/index.js";
import { createCharModel, type CharModelConfig } from "../../src/apps/models.js";
import { createOptimizer, trainStep } from "../../src/apps/train.js";
import { assertClose, loadJsonFixture, type Golden } from "../helpers.js";

interface Case {
  config: CharModelConfig;
  train: { lr: number; weightDecay: number; betas: [number, number]; gradClip: number };
  state: Record<string, Golden>;
  ids: number[];
  target: number[];
  logits: Golden;
  loss: number;
  grad_norm: number;
  after: Record<string, Golden>;
}

const cases = loadJsonFixture<Record<string, Case>>("apps/charlm.json");

for (const [name, c] of Object.entries(cases)) {
  test(`${name}: logits, loss and one AdamW step match PyTorch`, () => {
    const model = createCharModel(c.config);
    const state = Object.fromEntries(Object.entries(c.state).map(([k, g]) => [k, flint.tensor(g.data).reshape(g.shape)]));
    model.loadStateDict(state);
    const T = c.config.blockSize;
    const ids = flint.tensor(c.ids, { dtype: "int32" }).reshape([-1, T]);
    const target = flint.tensor(c.target, { dtype: "int32" }).reshape([-1, T]);
    assertClose(model.forward(ids), c.logits, { atol: 1e-5, rtol: 1e-4 });
    const optimizer = createOptimizer(model, c.train);
    const loss = trainStep(model, optimizer, ids, target, c.train.gradClip);
    assert.ok(Math.abs(loss - c.loss) < 1e-5, `loss ${loss} vs ${c.loss}`);
    const after = model.stateDict();
    assert.deepEqual(Object.keys(after), Object.keys(c.after));
    for (const [key, golden] of Object.entries(c.after)) {
      if (!key.endsWith("in_proj_bias")) {
        assertClose(after[key], golden, { atol: 2e-6, rtol: 1e-4, message: key });
        continue;
      }
      // The key bias shifts every score of a row equally, so softmax makes its true gradient zero:
      // both frameworks see rounding noise there, which Adam scales up to a step of up to lr.
      const E = c.config.embedDim;
      const expected = flint.tensor(golden.data);
      for (const [part, start] of [["q", 0], ["k", E], ["v", 2 * E]] as const) {
        const tolerance = part === "k" ? { atol: c.train.lr, rtol: 0 } : { atol: 2e-6, rtol: 1e-4 };
        assertClose(after[key].narrow(0, start, E), expected.narrow(0, start, E), { ...tolerance, message: `${key} (${part})` });
      }
    }
  });
}
