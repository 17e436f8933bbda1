import { test } from "node:test";
import assert from "node:assert/strict";
import * as flint from "../../src/index.js";
import { greedyDecode, sourceBatch, Translator } from "../../src/apps/translate/index.js";
import { padBatch, Vocab } from "../../src/text/index.js";
import { assertClose, loadJsonFixture, type Golden } from "../helpers.js";

interface Case {
  attention: boolean;
  state_dict: Record<string, Golden>;
  sources: number[][];
  targets: number[][];
  logits: Golden;
  loss: number;
  grads: Record<string, Golden>;
  greedy: number[][];
}

const { cases } = loadJsonFixture<{ cases: Case[] }>("apps/translate.json");
const vocabOf = (size: number) => new Vocab(Array.from({ length: size - 4 }, (_, i) => `w${i}`));

for (const c of cases) {
  test(`Translator (${c.attention ? "attention" : "no attention"}) matches PyTorch: logits, loss, gradients, greedy decoding`, () => {
    const model = new Translator({ sourceVocabSize: 9, targetVocabSize: 11, hidden: 6, attention: c.attention, dropout: 0.1 });
    const stateDict = Object.fromEntries(Object.entries(c.state_dict).map(([k, g]) => [k, flint.tensor(g.data).reshape(g.shape)]));
    model.loadStateDict(stateDict);
    model.eval();
    const source = sourceBatch(c.sources, 0);
    const decoderInputs = padBatch(c.targets.map((t) => [2, ...t.slice(0, -1)])).ids;
    const targets = padBatch(c.targets).ids;
    const logits = model.forward(source.ids, source.lengths, source.paddingMask, decoderInputs);
    assertClose(logits, c.logits, { atol: 1e-5 });
    const loss = flint.nn.functional.crossEntropy(logits.reshape([-1, 11]), targets.reshape([-1]), { ignoreIndex: 0 });
    assert.ok(Math.abs(loss.item() - c.loss) < 1e-5, `loss ${loss.item()} vs ${c.loss}`);
    loss.backward();
    const params = Object.fromEntries(model.namedParameters());
    for (const [name, golden] of Object.entries(c.grads)) assertClose(params[name].grad as flint.Tensor, golden, { atol: 1e-5, message: name });
    const decoded = greedyDecode(model, c.sources, vocabOf(9), vocabOf(11), 10);
    assert.deepEqual(decoded.map((d) => d.ids), c.greedy);
  });
}
