// The sentiment recipe on real data (a slice of UCI "Sentiment Labelled Sentences"): data-file
// errors, padding invariance, learning above chance, checkpoint round trip, OOV/empty inference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as flint from "../../src/index.js";
import {
  classifySentences,
  createSentimentModel,
  defaultSentimentConfig,
  defaultTrainSettings,
  loadSentimentCheckpoint,
  loadSentimentSplits,
  ParameterAverage,
  parseLabelledRows,
  readSentimentFile,
  saveSentimentCheckpoint,
  SENTIMENT_MODEL_KINDS,
  streamSeed,
  trainingBatchCount,
  trainingBatches,
  trainSentiment,
  type SentimentSplits,
} from "../../src/apps/sentiment/index.js";
import { dataDir } from "../helpers.js";

const uciDir = join(dataDir(), "sentiment", "uci");
const scratch = mkdtempSync(join(tmpdir(), "flint-sentiment-"));

function writeScratch(name: string, contents: string | Uint8Array): string {
  const file = join(scratch, name);
  writeFileSync(file, contents);
  return file;
}

test("UCI files: every fifth line of each file is dev", () => {
  const splits = loadSentimentSplits(uciDir, "uci");
  assert.equal(splits.train.sentences.length, 2400);
  assert.equal(splits.dev.sentences.length, 600);
  assert.equal(splits.train.sentences[0], "So there is no way for me to plug it in here in the US unless I go by a converter.");
  assert.equal(splits.train.labels[0], 0);
  assert.equal(splits.dev.labels.filter((y) => y === 1).length + splits.dev.labels.filter((y) => y === 0).length, 600);
  assert.deepEqual(splits.labelNames, ["negative", "positive"]);
});

test("SST-2 (GLUE layout): header checked, rows read", () => {
  const splits = loadSentimentSplits(join(dataDir(), "sentiment", "sst2"), "sst2");
  assert.equal(splits.train.sentences.length, 67349);
  assert.equal(splits.dev.sentences.length, 872);
  assert.equal(splits.dev.sentences[0], "it 's a charming and often affecting journey .");
  assert.equal(splits.dev.labels[0], 1);
});

test("data files: malformed input names the file and line", () => {
  const wrongColumns = writeScratch("columns.tsv", "sentence\tlabel\ngood film\t1\nbad\tfilm\t0\n");
  assert.throws(() => readSentimentFile(wrongColumns, { header: ["sentence", "label"] }), new RegExp(`${wrongColumns}:3: expected 2 tab-separated columns \\(sentence, label\\), got 3`));
  const noTab = writeScratch("notab.txt", "great\t1\njust a sentence\n");
  assert.throws(() => readSentimentFile(noTab), new RegExp(`${noTab}:2: expected 2 tab-separated columns \\(sentence, label\\), got 1`));
  const empty = writeScratch("empty.tsv", "");
  assert.throws(() => readSentimentFile(empty), new RegExp(`${empty}: the file is empty`));
  const headerOnly = writeScratch("header.tsv", "sentence\tlabel\n");
  assert.throws(() => readSentimentFile(headerOnly, { header: ["sentence", "label"] }), /has a header but no rows/);
  const badHeader = writeScratch("badheader.tsv", "index\tsentence\n0\tfine\n");
  assert.throws(() => readSentimentFile(badHeader, { header: ["sentence", "label"] }), new RegExp(`${badHeader}:1: expected the header`));
  const badLabel = writeScratch("label.txt", "fine\t1\nmeh\tpositive\n");
  assert.throws(() => readSentimentFile(badLabel), new RegExp(`${badLabel}:2: the label must be 0 or 1, got "positive"`));
  const latin1 = writeScratch("latin1.txt", Uint8Array.from([...Buffer.from("ok\t1\ncaf"), 0xe9, ...Buffer.from("\t1\n")]));
  assert.throws(() => readSentimentFile(latin1), new RegExp(`${latin1}:2: not valid UTF-8 text`));
  assert.throws(() => readSentimentFile(join(scratch, "missing.tsv")), /missing\.tsv: no such file/);
  assert.throws(() => loadSentimentSplits(join(scratch, "nowhere"), "uci"), /no such directory/);
  assert.throws(() => loadSentimentSplits(scratch, "sst2"), /train\.tsv: no such file/);
});

test("data files: CRLF line ends and a missing final newline are accepted", () => {
  assert.deepEqual(parseLabelledRows("x", "a\t1\r\nb c\t0"), { sentences: ["a", "b c"], labels: [1, 0] });
});

test("models: a sentence scores the same alone and padded inside a batch", () => {
  for (const kind of SENTIMENT_MODEL_KINDS) {
    flint.manualSeed(1);
    const model = createSentimentModel({ ...defaultSentimentConfig(kind, 30, 2), embeddingDim: 8, hiddenSize: 6, numHeads: 2 });
    model.eval();
    const sentences = [[5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15], [], [4]];
    const alone = sentences.map((s) => model.forward(flint.tensor([s.length === 0 ? [0] : s], { dtype: "int32" }), [s.length]));
    const T = 8;
    const ids = flint.tensor(sentences.map((s) => [...s, ...Array(T - s.length).fill(0)]), { dtype: "int32" });
    const batched = model.forward(ids, sentences.map((s) => s.length));
    assert.deepEqual(batched.shape, [4, 2]);
    const rows = batched.tolist() as number[][];
    alone.forEach((logits, i) => {
      const single = (logits.tolist() as number[][])[0];
      single.forEach((v, j) => assert.ok(Math.abs(v - rows[i][j]) < 1e-5, `${kind} sentence ${i}: ${v} alone vs ${rows[i][j]} in the batch`));
    });
  }
});

// A small slice of UCI keeps the test fast; the models are tiny.
function uciSlice(trainCount: number): SentimentSplits {
  const splits = loadSentimentSplits(uciDir, "uci");
  const take = (n: number) => ({ sentences: splits.train.sentences.slice(0, n), labels: splits.train.labels.slice(0, n) });
  return { train: take(trainCount), dev: splits.dev, labelNames: splits.labelNames };
}

const tinyCnn = { ...defaultTrainSettings("cnn"), epochs: 4, patience: 4, lr: 5e-3, validFraction: 0.1, minFreq: 1, modelOverrides: { embeddingDim: 32, hiddenSize: 32 } };

test("training: a tiny CNN learns UCI sentiment well above chance; checkpoints round-trip", () => {
  const epochs: number[] = [];
  const result = trainSentiment(uciSlice(2400), tinyCnn, { onEpoch: (r) => epochs.push(r.validAccuracy) });
  assert.equal(result.epochsRun, 4);
  assert.equal(epochs.length, 4);
  assert.equal(result.validAccuracy, Math.max(...epochs), "the best validation epoch is the one kept");
  assert.equal(result.bestEpoch, epochs.indexOf(Math.max(...epochs)) + 1);
  assert.equal(result.trainSamples + result.validSamples, 2400);
  assert.equal(result.devSamples, 600);
  // Chance is 0.5 (balanced; 600 dev sentences, so one standard deviation is 0.02); seeds 0-2 reach 0.78-0.80.
  assert.ok(result.devAccuracy > 0.7, `dev accuracy ${result.devAccuracy} should be well above chance (0.5)`);

  const texts = ["Great phone, works perfectly and I love it.", "Terrible food, rude staff, never again.", "", "zzzqx blorptastic"];
  const before = classifySentences(result.classifier, texts);
  assert.equal(before[0].labelName, "positive");
  assert.equal(before[1].labelName, "negative");
  const file = join(scratch, "cnn.safetensors");
  saveSentimentCheckpoint(file, result.classifier, { dev_accuracy: result.devAccuracy });
  const loaded = loadSentimentCheckpoint(file);
  assert.equal(loaded.training.dev_accuracy, result.devAccuracy);
  assert.deepEqual(loaded.model.config, result.classifier.model.config);
  assert.deepEqual(loaded.tokenizer.vocab.tokens, result.classifier.tokenizer.vocab.tokens);
  const after = classifySentences(loaded, texts);
  assert.deepEqual(after.map((p) => p.probabilities), before.map((p) => p.probabilities), "identical predictions after the round trip");
});

test("inference: empty and out-of-vocabulary sentences get a label and a probability", () => {
  flint.manualSeed(0);
  const splits = uciSlice(300);
  const result = trainSentiment(splits, { ...tinyCnn, epochs: 1, patience: 1 });
  const predictions = classifySentences(result.classifier, ["", "   ", "qwertyuiop asdfghjkl", "good"]);
  for (const p of predictions) {
    assert.ok(p.labelName === "positive" || p.labelName === "negative");
    assert.ok(p.probability >= 0.5 && p.probability <= 1, `probability ${p.probability}`);
    assert.ok(Math.abs(p.probabilities[0] + p.probabilities[1] - 1) < 1e-6);
    assert.ok(Number.isFinite(p.probability));
  }
  assert.deepEqual(predictions[2].unknownTokens, ["qwertyuiop", "asdfghjkl"]);
  assert.deepEqual(predictions[0].unknownTokens, []);
  // The empty sentence and whitespace alike are "no words at all".
  assert.deepEqual(predictions[0].probabilities, predictions[1].probabilities);
  assert.deepEqual(classifySentences(result.classifier, []), []);
});

test("training: early stopping ends after `patience` epochs without a better validation accuracy", () => {
  // A learning rate this small cannot move the validation accuracy within a few epochs.
  const result = trainSentiment(uciSlice(200), { ...tinyCnn, epochs: 6, patience: 1, lr: 1e-9 });
  assert.equal(result.bestEpoch, 1);
  assert.equal(result.epochsRun, 2);
});

test("batches: trainingBatchCount matches the batches an epoch makes, at and around pool boundaries", () => {
  for (const [size, batchSize] of [[1, 64], [63, 64], [64, 64], [3199, 64], [3200, 64], [3201, 64], [6465, 64], [100, 7], [351, 7]]) {
    const set = { ids: Array.from({ length: size }, (_, i) => [1 + (i % 9)]), labels: new Array<number>(size).fill(0) };
    assert.equal(trainingBatchCount(size, batchSize), trainingBatches(set, batchSize, new flint.Generator(3)).length, `size ${size}, batch ${batchSize}`);
  }
});

test("random streams: a run's split, model and shuffle streams share no draws, within a run or with nearby seeds", () => {
  // The first draws of each stream; a shared stream (the old seed / seed / seed + 1 scheme) repeats a whole sequence.
  const firstDraws = (seed: number) => Array.from({ length: 8 }, ((g) => () => g.nextUint32())(new flint.Generator(seed))).join(",");
  const seen = new Map<string, string>();
  for (let seed = 0; seed < 50; seed++) {
    for (const stream of ["split", "model", "shuffle"] as const) {
      const key = firstDraws(streamSeed(seed, stream));
      const owner = `seed ${seed} ${stream}`;
      assert.equal(seen.get(key), undefined, `${owner} replays ${seen.get(key)}`);
      seen.set(key, owner);
    }
  }
  assert.equal(streamSeed(3, "model"), streamSeed(3, "model"), "deterministic");
});

test("weight averaging: the moving average after each update; withAverage swaps it in and restores the trained values", () => {
  const weight = flint.tensor([1, -2, 4]).requiresGrad_();
  const decay = 0.75;
  const average = new ParameterAverage([weight], decay);
  const steps = [[3, 0, 8], [-1, 2, 0]];
  let expected = [1, -2, 4];
  for (const values of steps) {
    flint.noGrad(() => weight.copy_(flint.tensor(values)));
    average.update();
    expected = expected.map((a, i) => decay * a + (1 - decay) * values[i]);
  }
  const seen = average.withAverage(() => weight.tolist() as number[]);
  seen.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `average[${i}] = ${v}, expected ${expected[i]}`));
  assert.deepEqual(weight.tolist(), steps[1], "the trained values are back");
  assert.throws(() => average.withAverage(() => { throw new Error("boom"); }), /boom/);
  assert.deepEqual(weight.tolist(), steps[1], "restored also when the callback throws");
  assert.throws(() => new ParameterAverage([weight], 1), /decay must be in \(0, 1\), got 1/);
});

test("training: bad settings are rejected by name", () => {
  const splits = uciSlice(50);
  assert.throws(() => trainSentiment(splits, { ...tinyCnn, epochs: 0 }), /--epochs must be at least 1, got 0/);
  assert.throws(() => trainSentiment(splits, { ...tinyCnn, validFraction: 1 }), /--valid-fraction must be in \(0, 1\), got 1/);
  assert.throws(() => trainSentiment(splits, { ...tinyCnn, averageEpochs: -1 }), /--average-epochs must be 0 \(off\) or positive, got -1/);
  assert.throws(() => trainSentiment({ ...splits, train: { sentences: ["one"], labels: [1] } }, tinyCnn), /1 training sentences are too few/);
});
