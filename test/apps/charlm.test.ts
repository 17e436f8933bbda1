import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as flint from "../../src/index.js";
import { charCorpus, charTokenizerFor, randomBatch, sequentialBatches } from "../../src/apps/corpus.js";
import { createCharModel, type CharModelConfig, type CharModelKind } from "../../src/apps/models.js";
import { evaluateLoss, learningRateAt, trainCharModel } from "../../src/apps/train.js";
import { promptIds, sampleIndex, sampleText } from "../../src/apps/sample.js";
import { loadCharCheckpoint, saveCharCheckpoint } from "../../src/apps/checkpoint.js";
import { assertClose, dataDir } from "../helpers.js";

const shakespeare = readFileSync(join(dataDir(), "tinyshakespeare", "input.txt"), "utf8");
const work = mkdtempSync(join(tmpdir(), "flint-charlm-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

function tiny(kind: CharModelKind, vocabSize: number): CharModelConfig {
  return { kind, vocabSize, embedDim: 16, hiddenSize: 32, numLayers: 2, numHeads: 2, blockSize: 16, dropout: 0 };
}

const quickTraining = { batchSize: 8, blockSize: 16, lr: 1e-2, minLr: 1e-3, warmupSteps: 5, weightDecay: 0.1, betas: [0.9, 0.99] as [number, number], gradClip: 1, seed: 0 };

test("the character vocabulary is the text's distinct characters in code-point order, with a 90/10 split", () => {
  const tokenizer = charTokenizerFor(shakespeare);
  assert.equal(tokenizer.vocabSize, 65);
  assert.deepEqual(tokenizer.vocab.tokens.slice(0, 3), ["\n", " ", "!"]);
  const text = shakespeare.slice(0, 1000);
  const corpus = charCorpus(text);
  assert.equal(corpus.train.length, 900);
  assert.equal(corpus.val.length, 100);
  assert.equal(corpus.tokenizer.decode([...corpus.train, ...corpus.val]), text);
  assert.throws(() => charCorpus("abc"), /charCorpus: the text is too short/);
  assert.throws(() => charCorpus(text, { valFraction: 1 }), /valFraction must be in \(0, 1\)/);
});

test("random and sequential batches: targets are the inputs shifted by one character", () => {
  const ids = Int32Array.from({ length: 200 }, (_, i) => i);
  const a = randomBatch(ids, 4, 10, new flint.Generator(3));
  const b = randomBatch(ids, 4, 10, new flint.Generator(3));
  assert.deepEqual(a.input.tolist(), b.input.tolist());
  const inputs = a.input.tolist() as number[][];
  const targets = a.target.tolist() as number[][];
  for (let r = 0; r < 4; r++) assert.deepEqual(targets[r], inputs[r].map((v) => v + 1));
  // Sequential windows predict every character after the first exactly once.
  const seen: number[] = [];
  for (const { input, target } of sequentialBatches(ids.subarray(0, 95), 3, 10)) {
    assertClose(target.float(), input.float().add(1));
    seen.push(...(target.data() as Int32Array));
  }
  assert.deepEqual(seen, Array.from({ length: 94 }, (_, i) => i + 1));
  assert.throws(() => randomBatch(ids.subarray(0, 10), 2, 10, new flint.Generator(0)), /randomBatch: the split has 10 characters/);
});

test("nanoGPT's schedule: linear warm-up, then cosine from lr to minLr", () => {
  const s = { lr: 1e-3, minLr: 1e-4, warmupSteps: 100, steps: 2000 };
  assert.ok(Math.abs(learningRateAt(0, s) - 1e-3 / 101) < 1e-12);
  assert.ok(Math.abs(learningRateAt(99, s) - 1e-3 * 100 / 101) < 1e-12);
  assert.ok(Math.abs(learningRateAt(100, s) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRateAt(1050, s) - 5.5e-4) < 1e-12);
  assert.ok(Math.abs(learningRateAt(2000, s) - 1e-4) < 1e-12);
});

test("models map [B, T] ids to [B, T, V] logits under PyTorch's state-dict keys", () => {
  flint.manualSeed(0);
  const lstm = createCharModel(tiny("lstm", 11));
  assert.deepEqual(Object.keys(lstm.stateDict()), [
    "embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
    "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1", "head.weight", "head.bias",
  ]);
  const gpt = createCharModel(tiny("transformer", 11));
  const keys = Object.keys(gpt.stateDict());
  for (const k of ["token_embedding.weight", "position_embedding.weight", "blocks.0.self_attn.in_proj_weight", "blocks.1.linear1.weight", "blocks.1.norm2.bias", "norm.weight", "head.weight"]) assert.ok(keys.includes(k), k);
  const ids = flint.randint(0, 11, [3, 7], { dtype: "int32" });
  for (const kind of ["lstm", "gru", "rnn", "transformer"] as const) {
    const model = createCharModel(tiny(kind, 11));
    assert.deepEqual(model.forward(ids).shape, [3, 7, 11], kind);
  }
  assert.throws(() => gpt.forward(flint.zeros([1, 17], { dtype: "int32" })), /CharTransformer.forward: sequence length 17 exceeds blockSize 16/);
  assert.throws(() => lstm.forward(flint.zeros([2, 3])), /CharRNN.forward: expected int32 ids of shape \[batch, time\], got float32 \[2, 3\]/);
  assert.throws(() => createCharModel({ ...tiny("lstm", 11), kind: "cnn" as CharModelKind }), /unknown model "cnn"/);
  assert.throws(() => createCharModel({ ...tiny("transformer", 11), numHeads: 3 }), /embedDim \(16\) must be divisible by numHeads \(3\)/);
});

test("the Transformer is causal and a recurrent model run step by step matches the whole sequence", () => {
  flint.manualSeed(1);
  const gpt = createCharModel(tiny("transformer", 9));
  gpt.eval();
  const a = flint.tensor([[1, 2, 3, 4, 5, 6]], { dtype: "int32" });
  const b = flint.tensor([[1, 2, 3, 8, 0, 7]], { dtype: "int32" });
  assertClose(gpt.forward(a).narrow(1, 0, 3), gpt.forward(b).narrow(1, 0, 3), { atol: 1e-6 });
  assert.ok(gpt.forward(a).narrow(1, 3, 1).sub(gpt.forward(b).narrow(1, 3, 1)).abs().max().item() > 1e-4);
  for (const kind of ["lstm", "gru", "rnn"] as const) {
    const model = createCharModel(tiny(kind, 9));
    const [whole] = model.step(a);
    let state = null;
    const steps = [];
    for (let t = 0; t < 6; t++) {
      const [logits, next] = model.step(a.narrow(1, t, 1).contiguous(), state);
      steps.push(logits);
      state = next;
    }
    assertClose(flint.cat(steps, 1), whole, { atol: 1e-5, message: kind });
  }
});

for (const kind of ["lstm", "transformer"] as const) {
  test(`training a tiny ${kind} on Tiny Shakespeare lowers the held-out loss`, () => {
    const corpus = charCorpus(shakespeare.slice(0, 30000));
    flint.manualSeed(0);
    const model = createCharModel(tiny(kind, corpus.tokenizer.vocabSize));
    const before = evaluateLoss(model, corpus.val, { blockSize: 16, maxChars: 1500 });
    // An untrained model is close to uniform over the vocabulary.
    assert.ok(Math.abs(before - Math.log(corpus.tokenizer.vocabSize)) < 0.2, `initial loss ${before}`);
    const result = trainCharModel(model, corpus, { ...quickTraining, steps: 60 });
    const after = evaluateLoss(model, corpus.val, { blockSize: 16, maxChars: 1500 });
    assert.equal(result.stepsRun, 60);
    assert.ok(result.trainLoss < result.firstLoss - 0.8, `train loss ${result.firstLoss} -> ${result.trainLoss}`);
    assert.ok(after < before - 0.8, `val loss ${before} -> ${after}`);
  });
}

test("--max-seconds stops training early and reports the steps run", () => {
  const corpus = charCorpus(shakespeare.slice(0, 5000));
  flint.manualSeed(0);
  const model = createCharModel(tiny("rnn", corpus.tokenizer.vocabSize));
  const lrs: number[] = [];
  const result = trainCharModel(model, corpus, { ...quickTraining, steps: 1000, maxSeconds: 1e-6, onStep: (info) => lrs.push(info.lr) });
  assert.equal(result.stepsRun, 1);
  assert.deepEqual(lrs, [learningRateAt(0, { ...quickTraining, steps: 1000 })]);
  assert.throws(() => trainCharModel(model, corpus, { ...quickTraining, steps: 10, blockSize: 17 }), /blockSize 17 exceeds the model's blockSize 16/);
  assert.throws(() => trainCharModel(model, corpus, { ...quickTraining, steps: 0 }), /trainCharModel: steps must be a positive integer, got 0/);
});

test("sampling: greedy, top-k, temperature and seeded draws", () => {
  const logits = Float32Array.from([0.1, 2.5, -1, 2.4, 0]);
  assert.equal(sampleIndex(logits, 0, undefined, new flint.Generator(0)), 1);
  const generator = new flint.Generator(5);
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 2000; i++) counts[sampleIndex(logits, 1, 2, generator)]++;
  assert.equal(counts[0] + counts[2] + counts[4], 0);
  // Top-2 renormalised: p(1) = 1 / (1 + e^-0.1) = 0.525.
  assert.ok(Math.abs(counts[1] / 2000 - 0.525) < 0.04, `counts ${counts}`);
  const hot = [0, 0, 0, 0, 0];
  for (let i = 0; i < 2000; i++) hot[sampleIndex(logits, 100, undefined, generator)]++;
  assert.ok(hot.every((c) => c > 300), `temperature 100 is near uniform: ${hot}`);

  flint.manualSeed(2);
  const tokenizer = charTokenizerFor("hello world\n");
  const model = createCharModel(tiny("gru", tokenizer.vocabSize));
  const streamed: string[] = [];
  const text = sampleText(model, tokenizer, "he", { length: 30, generator: new flint.Generator(9), onText: (t) => streamed.push(t) });
  assert.equal(text.length, 30);
  assert.equal(streamed.join(""), text);
  assert.equal(sampleText(model, tokenizer, "he", { length: 30, generator: new flint.Generator(9) }), text);
  assert.notEqual(sampleText(model, tokenizer, "he", { length: 30, generator: new flint.Generator(10) }), text);
  assert.equal(sampleText(model, tokenizer, "", { length: 30, stop: (g) => g.length >= 4, generator: new flint.Generator(9) }).length, 4);
  assert.deepEqual(promptIds(tokenizer, ""), [tokenizer.vocab.indexOf("\n")]);
  assert.throws(() => sampleText(model, tokenizer, "hex", { length: 5 }), /generate: the prompt's character "x" is not in the model's vocabulary of 9 characters/);
  assert.throws(() => sampleText(model, tokenizer, "he", { length: -1 }), /generate: length must be a non-negative integer, got -1/);
  assert.throws(() => sampleText(model, tokenizer, "he", { length: 5, topK: 0 }), /topK must be a positive integer, got 0/);
});

test("a checkpoint rebuilds the model from the file alone and regenerates the same text", () => {
  const corpus = charCorpus(shakespeare.slice(0, 5000));
  for (const kind of ["lstm", "transformer"] as const) {
    flint.manualSeed(4);
    const model = createCharModel(tiny(kind, corpus.tokenizer.vocabSize));
    trainCharModel(model, corpus, { ...quickTraining, steps: 3 });
    const path = join(work, `${kind}.safetensors`);
    saveCharCheckpoint(path, model, corpus.tokenizer, { steps: 3 });
    const loaded = loadCharCheckpoint(path);
    assert.deepEqual(loaded.model.config, model.config);
    assert.deepEqual(loaded.tokenizer.vocab.tokens, corpus.tokenizer.vocab.tokens);
    assert.deepEqual(loaded.training, { steps: 3 });
    for (const [key, value] of Object.entries(model.stateDict())) assertClose(loaded.model.stateDict()[key], value, { atol: 0, rtol: 0, message: key });
    const original = sampleText(model, corpus.tokenizer, "ROMEO:", { length: 40, generator: new flint.Generator(1) });
    assert.equal(sampleText(loaded.model, loaded.tokenizer, "ROMEO:", { length: 40, generator: new flint.Generator(1) }), original);
  }
  const plain = join(work, "plain.safetensors");
  flint.save({ w: flint.ones([2]) }, plain);
  assert.throws(() => loadCharCheckpoint(plain), /loadCharCheckpoint: .*plain.safetensors is not a character-model checkpoint/);
});
