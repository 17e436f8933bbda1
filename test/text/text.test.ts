// flint.text: vocabularies, char/word tokenizers (round trips, specials, save/load) and batching
// helpers, including an end-to-end check on Tiny Shakespeare (65 distinct characters).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import * as text from "../../src/text/index.js";
import { dataDir } from "../helpers.js";

test("Vocab.build: specials first, then by frequency with code-point tie-break; unknowns map to <unk>", () => {
  const vocab = text.Vocab.build([["b", "a", "c", "a"], ["c", "a", "d"]], { minFreq: 1 });
  assert.deepEqual(vocab.tokens, ["<pad>", "<unk>", "<bos>", "<eos>", "a", "c", "b", "d"]);
  assert.deepEqual([vocab.padIndex, vocab.unkIndex, vocab.bosIndex, vocab.eosIndex], [0, 1, 2, 3]);
  assert.deepEqual(vocab.encode(["a", "zzz", "d"]), [4, 1, 7]);
  assert.deepEqual(vocab.decode([6, 5]), ["b", "c"]);
  const frequent = text.Vocab.build([["b", "a", "c", "a"], ["c", "a", "d"]], { minFreq: 2 });
  assert.deepEqual(frequent.tokens.slice(4), ["a", "c"]);
  assert.equal(text.Vocab.build([["x", "y", "z"]], { maxSize: 5 }).length, 5);
  assert.throws(() => vocab.tokenAt(99), /Vocab: id 99 is out of range for a vocabulary of 8 tokens/);
  assert.throws(() => new text.Vocab(["a", "a"]), /duplicate token "a"/);
  const noUnk = new text.Vocab(["a"], { specials: [] });
  assert.throws(() => noUnk.indexOf("b"), /not in the vocabulary and there is no <unk> token/);
});

test("CharTokenizer and WordTokenizer: encode/decode round trips, bos/eos, JSON save/load", () => {
  const chars = text.CharTokenizer.fit(["hello world", "héllo"]);
  const ids = chars.encode("hello", { addBos: true, addEos: true });
  assert.equal(ids[0], chars.vocab.bosIndex);
  assert.equal(ids[ids.length - 1], chars.vocab.eosIndex);
  assert.equal(chars.decode(ids), "hello");
  assert.equal(chars.decode(ids, { skipSpecial: false }), "<bos>hello<eos>");
  assert.equal(chars.decode(chars.encode("héllo!")), "héllo<unk>".replace("<unk>", ""));
  assert.equal(chars.decode(chars.encode("héllo!"), { skipSpecial: false }), "héllo<unk>");

  const words = text.WordTokenizer.fit(["The cat sat.", "the dog, the cat!"]);
  assert.deepEqual(words.tokenize("The cat's hat, please."), ["the", "cat's", "hat", ",", "please", "."]);
  assert.equal(words.vocab.tokenAt(4), "the");
  assert.equal(words.decode(words.encode("the cat sat.")), "the cat sat .");
  assert.equal(words.decode(words.encode("the bird")), "the");

  const dir = mkdtempSync(join(tmpdir(), "flint-text-"));
  try {
    words.save(join(dir, "words.json"));
    const loaded = text.WordTokenizer.load(join(dir, "words.json"));
    assert.deepEqual(loaded.vocab.tokens, words.vocab.tokens);
    assert.deepEqual(loaded.encode("The dog sat!"), words.encode("The dog sat!"));
    chars.vocab.save(join(dir, "vocab.json"));
    assert.deepEqual(text.Vocab.load(join(dir, "vocab.json")).tokens, chars.vocab.tokens);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "words.json"), "utf8")).type, "word");
    assert.throws(() => text.CharTokenizer.load(join(dir, "words.json")), /CharTokenizer\.fromJSON: expected a saved char tokenizer, got type "word"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("padBatch: ids, masks and lengths that nn.GRU and nn.MultiheadAttention take", () => {
  const batch = text.padBatch([[5, 6, 7], [8], [9, 10]]);
  assert.deepEqual(batch.ids.tolist(), [[5, 6, 7], [8, 0, 0], [9, 10, 0]]);
  assert.deepEqual(batch.mask.tolist(), [[true, true, true], [true, false, false], [true, true, false]]);
  assert.deepEqual(batch.paddingMask.tolist(), [[false, false, false], [false, true, true], [false, false, true]]);
  assert.deepEqual(batch.lengths, [3, 1, 2]);
  assert.deepEqual(text.padBatch([[1, 2, 3]], { maxLen: 2, padValue: -1 }).ids.tolist(), [[1, 2]]);
  assert.deepEqual(text.padBatch([[1]], { maxLen: 3, padValue: 9 }).ids.tolist(), [[1, 9, 9]]);
  // The batch drives a recurrent layer and an attention layer directly.
  flint.manualSeed(0);
  const embed = new flint.nn.Embedding(11, 4, { paddingIdx: 0 });
  const x = embed.forward(batch.ids);
  const [out] = new flint.nn.GRU(4, 3, { batchFirst: true }).forward(x, null, { lengths: batch.lengths });
  assert.equal(out.select(0, 1).narrow(0, 1, 2).abs().sum().item(), 0);
  const [, weights] = new flint.nn.MultiheadAttention(4, 2, { batchFirst: true }).forward(x, x, x, { keyPaddingMask: batch.paddingMask });
  assert.equal(weights!.select(0, 1).narrow(1, 1, 2).abs().sum().item(), 0);
  assert.throws(() => text.padBatch([]), /padBatch: expected at least one sequence/);
});

test("batchify and languageModelBatches cut a stream into [batch, seq] chunks with shifted targets", () => {
  const stream = Array.from({ length: 23 }, (_, i) => i);
  const rows = text.batchify(stream, 4);
  assert.deepEqual([...rows.shape], [4, 5]);
  assert.deepEqual(rows.select(0, 1).tolist(), [5, 6, 7, 8, 9]);
  const batches = [...text.languageModelBatches(stream, 4, 3)];
  assert.equal(batches.length, 2);
  assert.deepEqual(batches[0].input.select(0, 0).tolist(), [0, 1, 2]);
  assert.deepEqual(batches[0].target.select(0, 0).tolist(), [1, 2, 3]);
  assert.deepEqual(batches[1].input.select(0, 2).tolist(), [13]);
  assert.deepEqual(batches[1].target.select(0, 2).tolist(), [14]);
  assert.equal(batches[0].input.dtype, "int32");
  assert.throws(() => text.batchify([1, 2], 3), /batchify: a stream of 2 tokens is too short for 3 rows/);
});

test("Tiny Shakespeare: 65 characters, lossless char round trip", () => {
  const corpus = readFileSync(join(dataDir(), "tinyshakespeare", "input.txt"), "utf8");
  const tokenizer = text.CharTokenizer.fit([corpus]);
  assert.equal(tokenizer.vocabSize, 65 + 4);
  const sample = corpus.slice(0, 5000);
  assert.equal(tokenizer.decode(tokenizer.encode(sample)), sample);
  const batches = [...text.languageModelBatches(tokenizer.encode(sample), 8, 64)];
  assert.deepEqual([...batches[0].input.shape], [8, 64]);
});
