/**
 * `flint train translate --data FILE ...`: trains the English -> French seq2seq translator
 * (GRU encoder, GRU decoder with Bahdanau attention) on the tutorial's pairs and reports corpus
 * BLEU-4 on the held-out 5%. `flint translate --checkpoint PATH "i am cold ."` translates.
 */
import { writeFileSync } from "node:fs";
import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import {
  attentionSvg, createTranslator, DEFAULT_RECIPE, evaluateBleu, loadTranslationPairs, loadTranslator, normalizeSentence, prepareData,
  saveTranslator, sourceIds, tokens, translateSentences, TranslationTrainer, type TranslateRecipe,
} from "../apps/translate/index.js";
import { helpText, parseArgs, parseOptions, type OptionSpec } from "./args.js";
import { formatDuration, ProgressBar } from "./progress.js";
import type { Output } from "./train.js";

export const TRAIN_TRANSLATE_OPTIONS: Record<string, OptionSpec> = {
  data: { type: "string", description: "English<TAB>French pairs, one a line (e.g. ../shared/data/eng-fra/fra.txt)" },
  epochs: { type: "integer", description: "epochs to train (default 10)" },
  hidden: { type: "integer", description: "embedding and GRU width (default 256)" },
  "no-attention": { type: "flag", description: "plain encoder-decoder: the decoder sees only the encoder's last state" },
  "reverse-source": { type: "flag", description: "feed the English words in reverse order (Sutskever et al.)" },
  beam: { type: "integer", description: "beam width for the BLEU evaluation (default 1: greedy)" },
  seed: { type: "integer", description: "seed for the split, initialisation, dropout and batch order (default 0)" },
  save: { type: "string", description: "write the model and vocabularies (safetensors) after every epoch" },
  json: { type: "flag", description: "print the results as one JSON object on the last stdout line" },
  limit: { type: "integer", description: "use only the first N kept pairs (quick runs)", hidden: true },
  help: { type: "flag", description: "show this help" },
};

export const TRAIN_TRANSLATE_USAGE = `Usage: flint train translate --data FILE [options]

English -> French on the PyTorch seq2seq tutorial's pairs: lowercased, accents stripped,
punctuation split off, fewer than 10 words on both sides, English starting with "i am", "he is",
"you are", ... (12,441 pairs of fra.txt); a seeded 95/5 train/test split; GRU encoder, GRU
decoder with additive (Bahdanau) attention, teacher forcing, Adam lr 1e-3, batch 32, dropout 0.1.
Reports corpus BLEU-4 (uniform weights, brevity penalty, no smoothing) on the held-out pairs.`;

export const TRANSLATE_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { type: "string", description: "a model written by flint train translate --save" },
  beam: { type: "integer", description: "beam width (default 1: greedy)" },
  attention: { type: "string", description: "draw the attention matrix of the (last) sentence as an SVG heatmap" },
  help: { type: "flag", description: "show this help" },
};

export const TRANSLATE_USAGE = `Usage: flint translate --checkpoint PATH [--beam K] [--attention FILE.svg] "english sentence" ...

Translates each English sentence to French (one line each). Sentences are normalised as in
training; unknown words are read as <unk>, and an empty sentence translates to an empty line.`;

function positiveInteger(command: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) fail(command, `--${name} must be a positive integer, got ${value}`);
  return value;
}

export async function trainTranslateCommand(argv: readonly string[], out: Output): Promise<number> {
  const command = "train translate";
  const options = parseOptions(command, argv, TRAIN_TRANSLATE_OPTIONS, TRAIN_TRANSLATE_USAGE, out);
  if (options === null) return 0;
  if (typeof options.data !== "string" || options.data === "") fail(command, "--data FILE is required: English<TAB>French pairs such as ../shared/data/eng-fra/fra.txt");
  const epochs = positiveInteger(command, "epochs", (options.epochs as number | undefined) ?? 10);
  const beam = positiveInteger(command, "beam", (options.beam as number | undefined) ?? 1);
  const recipe: TranslateRecipe = {
    ...DEFAULT_RECIPE,
    hidden: positiveInteger(command, "hidden", (options.hidden as number | undefined) ?? DEFAULT_RECIPE.hidden),
    attention: !options["no-attention"],
    reverseSource: Boolean(options["reverse-source"]),
    seed: (options.seed as number | undefined) ?? 0,
  };
  const json = Boolean(options.json);

  let pairs = loadTranslationPairs(options.data);
  if (options.limit !== undefined) pairs = pairs.slice(0, positiveInteger(command, "limit", options.limit as number));
  if (pairs.length < 2) fail(command, `${options.data}: only ${pairs.length} pair(s) pass the tutorial's filter; at least 2 are needed for a train/test split`);
  const data = prepareData(pairs, recipe.seed);
  const model = createTranslator(recipe, data.vocabs);
  const trainer = new TranslationTrainer(model, data, recipe);
  const describe = `${recipe.attention ? "attention" : "no attention"}${recipe.reverseSource ? ", reversed source" : ""}`;
  if (!json) out(`flint train translate: ${pairs.length} pairs (${data.train.length} train / ${data.test.length} test), vocab ${data.vocabs.source.length} en / ${data.vocabs.target.length} fr, hidden ${recipe.hidden}, ${describe}, ${epochs} epochs, batch ${recipe.batchSize}, Adam lr ${recipe.lr}, seed ${recipe.seed}, backend ${flint.getBackend()}`);

  let trainSeconds = 0;
  let lastLoss = NaN;
  let bleu = NaN;
  const training = (): Record<string, unknown> => ({ data: options.data, epochs_run: trainer.epochsDone, seed: recipe.seed, hidden: recipe.hidden, loss: lastLoss, bleu, train_seconds: trainSeconds });
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const progress = new ProgressBar(epoch, epochs, trainer.stepsPerEpoch);
    const started = performance.now();
    let running = 0;
    const report = trainer.trainEpoch((step, steps, loss) => {
      running = step === 1 ? loss : 0.95 * running + 0.05 * loss;
      const elapsed = (performance.now() - started) / 1000;
      const done = Math.min(step * recipe.batchSize, data.train.length);
      progress.update(step, running, done / elapsed, ((steps - step) * elapsed) / step);
    });
    trainSeconds += report.seconds;
    lastLoss = report.loss;
    // Greedy BLEU after every epoch (outside the timed training); the last one with --beam.
    bleu = 100 * evaluateBleu(model, data.test, data.vocabs, recipe, epoch === epochs ? beam : 1).bleu;
    if (!json) out(`epoch ${epoch}: train loss ${report.loss.toFixed(4)}, test BLEU ${bleu.toFixed(2)}${epoch === epochs && beam > 1 ? ` (beam ${beam})` : ""}, ${formatDuration(report.seconds)} training`);
    if (typeof options.save === "string") {
      saveTranslator(options.save, model, data.vocabs, recipe, training());
      if (!json) out(`saved ${options.save} (epoch ${epoch})`);
    }
  }
  const summary = {
    task: "translate",
    bleu,
    train_seconds: trainSeconds,
    pairs: pairs.length,
    train_pairs: data.train.length,
    test_pairs: data.test.length,
    epochs,
    final_train_loss: lastLoss,
    hidden: recipe.hidden,
    attention: recipe.attention,
    reverse_source: recipe.reverseSource,
    beam,
    seed: recipe.seed,
    batch_size: recipe.batchSize,
    lr: recipe.lr,
    backend: flint.getBackend(),
  };
  if (json) out(JSON.stringify(summary));
  else out(`done: test BLEU ${bleu.toFixed(2)} on ${data.test.length} held-out pairs, ${formatDuration(trainSeconds)} training`);
  return 0;
}

export async function translateCommand(argv: readonly string[], out: Output): Promise<number> {
  const command = "translate";
  const { positional, options } = parseArgs(command, argv, TRANSLATE_OPTIONS);
  if (options.help) {
    out(helpText(TRANSLATE_USAGE, TRANSLATE_OPTIONS));
    return 0;
  }
  if (typeof options.checkpoint !== "string") fail(command, "--checkpoint PATH is required: a model written by flint train translate --save");
  if (positional.length === 0) fail(command, 'give the English sentence(s) to translate, e.g. flint translate --checkpoint model.safetensors "i am cold ."');
  const beam = positiveInteger(command, "beam", (options.beam as number | undefined) ?? 1);
  const { model, vocabs, settings } = loadTranslator(options.checkpoint);
  const sentences = positional.map(normalizeSentence);
  for (const sentence of sentences) {
    const unknown = tokens(sentence).filter((t) => !vocabs.source.has(t));
    if (unknown.length > 0) process.stderr.write(`translate: unknown word(s) read as <unk>: ${unknown.join(" ")}\n`);
  }
  const decoded = translateSentences(model, sentences, vocabs, settings, beam);
  decoded.forEach((d) => out(vocabs.target.decode(d.ids).join(" ")));
  if (typeof options.attention === "string") {
    if (!model.config.attention) fail(command, `--attention ${options.attention}: ${options.checkpoint} was trained without attention (--no-attention), so there is no attention matrix to draw`);
    const last = sentences.length - 1;
    // Columns in the order the encoder read the words (reversed with --reverse-source).
    const sourceWords = vocabs.source.decode(sourceIds(vocabs.source, sentences[last], settings.reverseSource));
    const outputWords = [...vocabs.target.decode(decoded[last].ids), "<eos>"].slice(0, decoded[last].attention.length);
    writeFileSync(options.attention, attentionSvg(sourceWords, outputWords, decoded[last].attention));
  }
  return 0;
}
