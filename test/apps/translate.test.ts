import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as flint from "../../src/index.js";
import {
  beamDecode, corpusBleu, createTranslator, DEFAULT_RECIPE, evaluateBleu, greedyDecode, keepPair, loadTranslationPairs, loadTranslator,
  normalizeSentence, parsePairs, prepareData, readPairs, saveTranslator, sourceIds, splitPairs, TranslationTrainer, translateSentences,
  type SentencePair, type TranslateRecipe,
} from "../../src/apps/translate/index.js";
import { dataDir } from "../helpers.js";

const fraFile = join(dataDir(), "eng-fra", "fra.txt");
const scratch = mkdtempSync(join(tmpdir(), "flint-translate-"));

/** A few hundred real pairs (raw lines whose English starts like the tutorial's prefixes). */
function smallPairFile(count: number): string {
  const lines = readFileSync(fraFile, "utf8").split("\n").filter((l) => /^(I am|I'm|He is|He's|She is|She's|You are|You're|We are|We're|They are|They're) /.test(l));
  const file = join(scratch, `pairs-${count}.txt`);
  writeFileSync(file, lines.slice(0, count).join("\n") + "\n");
  return file;
}

test("normalizeSentence follows the tutorial: lowercase, accents stripped, punctuation split off", () => {
  assert.equal(normalizeSentence("I'm cold."), "i m cold .");
  assert.equal(normalizeSentence("  Ça va, Hélène?! "), "ca va helene ? !");
  assert.equal(normalizeSentence("J'ai 20 ans."), "j ai ans .");
  assert.equal(normalizeSentence("Où est-il ?"), "ou est il ?");
});

test("keepPair keeps short pairs whose English starts with a tutorial prefix", () => {
  const pair = (english: string, french: string): SentencePair => ({ english: normalizeSentence(english), french: normalizeSentence(french) });
  assert.equal(keepPair(pair("I'm cold.", "J'ai froid.")), true);
  assert.equal(keepPair(pair("He is a teacher.", "Il est professeur.")), true);
  assert.equal(keepPair(pair("Go.", "Va !")), false);
  // "i am" needs its trailing space: "i amuse" is not a prefix match.
  assert.equal(keepPair({ english: "i amuse you .", french: "je vous amuse ." }), false);
  // 9 tokens pass, 10 do not (either side).
  assert.equal(keepPair({ english: "i am a b c d e f .", french: "je suis ." }), true);
  assert.equal(keepPair({ english: "i am a b c d e f g .", french: "je suis ." }), false);
  assert.equal(keepPair({ english: "i am here .", french: "a b c d e f g h i ." }), false);
});

test("the tutorial's filter keeps 12,441 pairs of fra.txt and the 95/5 split holds out 623", () => {
  const pairs = loadTranslationPairs(fraFile);
  assert.equal(pairs.length, 12441);
  const { train, test: held } = splitPairs(pairs, 0);
  assert.equal(train.length, 11818);
  assert.equal(held.length, 623);
  // The same seed gives the same split; another seed another one.
  assert.deepEqual(splitPairs(pairs, 0).test.slice(0, 5), held.slice(0, 5));
  assert.notDeepEqual(splitPairs(pairs, 1).test.slice(0, 5), held.slice(0, 5));
});

test("parsePairs reads two columns, ignores a third, and names the file and line of bad input", () => {
  assert.deepEqual(parsePairs("Hi.\tSalut !\tCC-BY 2.0 (France) Attribution\n", "f.txt"), [{ english: "hi .", french: "salut !" }]);
  assert.throws(() => parsePairs("", "empty.txt"), /empty\.txt is empty/);
  assert.throws(() => parsePairs("\n\n", "blank.txt"), /blank\.txt is empty/);
  assert.throws(() => parsePairs("Hi.\tSalut !\nno tab here\n", "bad.txt"), /bad\.txt:2: expected English<TAB>French, found 1 column/);
  assert.throws(() => parsePairs("Hi.\t \n", "bad.txt"), /bad\.txt:1: the French column is empty/);
});

test("readPairs rejects missing and non-UTF-8 files with the file and line", () => {
  assert.throws(() => readPairs(join(scratch, "nope.txt")), /no such file .*nope\.txt/);
  const latin1 = join(scratch, "latin1.txt");
  writeFileSync(latin1, Buffer.concat([Buffer.from("Hi.\tSalut !\n"), Buffer.from([0x43, 0x61, 0x09, 0xe7, 0x61, 0x0a])]));
  assert.throws(() => readPairs(latin1), /latin1\.txt:2: not valid UTF-8/);
});

test("corpusBleu pools clipped n-gram counts over the corpus, with the brevity penalty", () => {
  const split = (s: string) => s.split(" ");
  const hyps = ["the cat sat on the mat", "a b c d e"].map(split);
  const refs = ["the cat is on the mat", "a b c d e f g"].map(split);
  const result = corpusBleu(hyps, refs);
  // By hand: p1 = 10/11, p2 = 7/9, p3 = 4/7, p4 = 2/5; lengths 11 vs 13.
  assert.deepEqual(result.precisions, [10 / 11, 7 / 9, 4 / 7, 2 / 5]);
  assert.equal(result.brevityPenalty, Math.exp(1 - 13 / 11));
  assert.ok(Math.abs(result.bleu - 0.5286382260445096) < 1e-12);
  // No smoothing: a corpus without a matching 4-gram scores 0; a perfect one 1.
  assert.equal(corpusBleu([split("the cat sat on the mat")], [split("the cat is on the mat")]).bleu, 0);
  assert.equal(corpusBleu(refs, refs).bleu, 1);
  // Clipping: "the the the the" matches "the" only twice against a reference with two.
  assert.deepEqual(corpusBleu([split("the the the the")], [split("the cat the mat")]).precisions.slice(0, 1), [2 / 4]);
  // Longer hypotheses are not penalised.
  assert.equal(corpusBleu([split("a b c d e f")], [split("a b c d e")]).brevityPenalty, 1);
  assert.throws(() => corpusBleu([split("a")], []), /corpusBleu: 1 hypotheses but 0 references/);
});

const tinyRecipe: TranslateRecipe = { ...DEFAULT_RECIPE, hidden: 32, batchSize: 16 };

function trainTiny(recipe: TranslateRecipe, epochs: number) {
  const data = prepareData(loadTranslationPairs(smallPairFile(400)), recipe.seed);
  const model = createTranslator(recipe, data.vocabs);
  const trainer = new TranslationTrainer(model, data, recipe);
  const losses = Array.from({ length: epochs }, () => trainer.trainEpoch().loss);
  return { data, model, losses };
}

test("training with attention lowers the loss; checkpoints round-trip; beam 1 is greedy", () => {
  const { data, model, losses } = trainTiny(tinyRecipe, 4);
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[3] < losses[0] - 0.5, `loss should fall: ${losses.map((l) => l.toFixed(3)).join(" -> ")}`);

  const sentences = data.test.slice(0, 6).map((p) => p.english);
  const sources = sentences.map((s) => sourceIds(data.vocabs.source, s, false));
  const greedy = greedyDecode(model, sources, data.vocabs.source, data.vocabs.target, 10);
  for (let i = 0; i < sources.length; i++) {
    const alone = greedyDecode(model, [sources[i]], data.vocabs.source, data.vocabs.target, 10)[0];
    const beam1 = beamDecode(model, sources[i], data.vocabs.source, data.vocabs.target, 10, 1);
    assert.deepEqual(beam1.ids, alone.ids);
    assert.deepEqual(alone.ids, greedy[i].ids);
    // One attention row per emitted token (the <eos> step included), each a distribution over the source.
    assert.ok(alone.attention.length === alone.ids.length || alone.attention.length === alone.ids.length + 1);
    for (const row of alone.attention) {
      assert.equal(row.length, sources[i].length);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    }
    const beam3 = beamDecode(model, sources[i], data.vocabs.source, data.vocabs.target, 10, 3);
    assert.ok(beam3.ids.length <= 10 && beam3.ids.every((id) => id > 3 || id === data.vocabs.target.unkIndex));
  }

  const file = join(scratch, "tiny.safetensors");
  saveTranslator(file, model, data.vocabs, tinyRecipe, { epochs_run: 4 });
  const loaded = loadTranslator(file);
  assert.deepEqual(loaded.settings, { reverseSource: false, maxLength: 10 });
  assert.deepEqual(loaded.training, { epochs_run: 4 });
  const again = translateSentences(loaded.model, sentences, loaded.vocabs, loaded.settings);
  assert.deepEqual(again.map((d) => d.ids), greedy.map((d) => d.ids));
  const bleuBefore = evaluateBleu(model, data.test, data.vocabs, tinyRecipe);
  const bleuAfter = evaluateBleu(loaded.model, data.test, loaded.vocabs, loaded.settings);
  assert.equal(bleuAfter.bleu, bleuBefore.bleu);
  assert.deepEqual(bleuAfter.hypotheses, bleuBefore.hypotheses);
  assert.equal(bleuBefore.hypotheses.length, data.test.length);
});

test("empty and out-of-vocabulary sentences translate without crashing", () => {
  const { data, model } = trainTiny({ ...tinyRecipe, reverseSource: true }, 1);
  const [empty, unknown, known] = translateSentences(model, ["", "zorglub blorp .", data.train[0].english], data.vocabs, { reverseSource: true, maxLength: 10 });
  assert.deepEqual(empty, { ids: [], attention: [] });
  assert.ok(unknown.ids.length <= 10 && unknown.attention.length >= 1);
  assert.ok(known.ids.length <= 10);
  // Reversed source ids are the forward ones backwards; unknown words map to <unk>.
  assert.deepEqual(sourceIds(data.vocabs.source, "i am zorglub", true), [data.vocabs.source.unkIndex, ...sourceIds(data.vocabs.source, "i am", false).reverse()]);
});

test("a checkpoint of another kind is refused by name", () => {
  const file = join(scratch, "other.safetensors");
  flint.save({ w: flint.zeros([2]) }, file);
  assert.throws(() => loadTranslator(file), /is not a translation checkpoint written by flint train translate/);
});
