// The translator's training fast path against the computation it replaces: the loss over the
// target tokens only (forwardAt) against the loss over every position with the padding ignored:
// same value, same gradients.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { sourceBatch, Translator } from "../../src/apps/translate/index.js";
import { padBatch } from "../../src/text/index.js";
import { assertClose } from "../helpers.js";

const F = flint.nn.functional;
const PAD = 0;

function batchOf(seed: number): { source: ReturnType<typeof sourceBatch>; decoderInputs: flint.Tensor; targets: flint.Tensor } {
  flint.manualSeed(seed);
  const lengths = [5, 1, 3, 7, 2];
  const sources = lengths.map((n) => Array.from(flint.randint(3, 13, [n]).data() as Int32Array));
  const targets = [4, 6, 1, 3, 2].map((n) => Array.from(flint.randint(3, 17, [n]).data() as Int32Array));
  return {
    source: sourceBatch(sources, PAD),
    decoderInputs: padBatch(targets.map((t) => [2, ...t.slice(0, -1)]), { padValue: PAD }).ids,
    targets: padBatch(targets, { padValue: PAD }).ids,
  };
}

function gradsOf(model: Translator): Map<string, Float32Array> {
  return new Map(model.namedParameters().map(([name, p]) => [name, (p.grad ?? flint.zeros([...p.shape])).data() as Float32Array]));
}

test("the loss over the target tokens only gives the padded loss and its gradients", () => {
  const model = new Translator({ sourceVocabSize: 13, targetVocabSize: 17, hidden: 12, attention: true, dropout: 0 });
  const { source, decoderInputs, targets } = batchOf(2);
  const flat = targets.reshape([-1]);
  const all = model.forward(source.ids, source.lengths, source.paddingMask, decoderInputs);
  const padded = F.crossEntropy(all.reshape([-1, 17]), flat, { ignoreIndex: PAD });
  padded.backward();
  const expected = gradsOf(model);
  model.zeroGrad();
  const ids = flat.data() as Int32Array;
  const positions = flint.tensor([...ids.keys()].filter((i) => ids[i] !== PAD), { dtype: "int32" });
  assert.ok(positions.numel() < ids.length, "the batch has padding to skip");
  const logits = model.forwardAt(source.ids, source.lengths, source.paddingMask, decoderInputs, positions);
  const tokensOnly = F.crossEntropy(logits, flat.indexSelect(0, positions), { ignoreIndex: PAD });
  tokensOnly.backward();
  assert.ok(Math.abs(tokensOnly.item() - padded.item()) < 1e-6, `loss ${tokensOnly.item()} vs ${padded.item()}`);
  for (const [name, grad] of gradsOf(model)) assertClose(flint.tensor(Array.from(grad)), Array.from(expected.get(name)!), { atol: 1e-6, rtol: 1e-5, message: name });
});

test("teacher-forced decoder states (embedding half projected once) equal the step-by-step cell, values and gradients", () => {
  for (const attention of [true, false]) {
    const model = new Translator({ sourceVocabSize: 13, targetVocabSize: 17, hidden: 12, attention, dropout: 0 });
    const { source, decoderInputs } = batchOf(3);
    const [first, memory] = model.encode(source.ids, source.lengths, source.paddingMask);
    const fast = model.decoder.states(decoderInputs, first, memory);
    // A fixed random weighting of the states, so every state element gets its own gradient.
    flint.manualSeed(5);
    const probe = flint.randn([...fast.shape]);
    fast.mul(probe).sum().backward();
    const expected = gradsOf(model);
    model.zeroGrad();

    const [state0, memory2] = model.encode(source.ids, source.lengths, source.paddingMask);
    const embedded = model.decoder.embedding.forward(decoderInputs);
    let state = state0;
    const steps: flint.Tensor[] = [];
    for (let t = 0; t < decoderInputs.shape[1]; t++) {
      [state] = model.decoder.step(embedded.select(1, t), state, memory2);
      steps.push(state);
    }
    const slow = flint.stack(steps, 1);
    slow.mul(probe).sum().backward();
    assertClose(fast, slow, { atol: 1e-6, rtol: 1e-5, message: `states (attention ${attention})` });
    for (const [name, grad] of gradsOf(model)) assertClose(flint.tensor(Array.from(grad)), Array.from(expected.get(name)!), { atol: 1e-6, rtol: 1e-5, message: `${name} (attention ${attention})` });
  }
});
