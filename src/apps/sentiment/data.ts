/**
 * Labelled sentences from disk:
 * - "sst2": SST-2 in GLUE layout: DIR/train.tsv and DIR/dev.tsv, a `sentence<TAB>label` header,
 *   then one `sentence<TAB>label` row per line.
 * - "uci": the UCI "Sentiment Labelled Sentences" files (amazon_cells, imdb, yelp), each row
 *   `sentence<TAB>label`, no header. The set has no dev split: every fifth row of each file
 *   (rows 5, 10, ...) is the dev set, the rest the training set.
 * Malformed files fail with the file and the 1-based line number.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fail } from "../../core/errors.js";

export const SENTIMENT_FORMATS = ["sst2", "uci"] as const;
export type SentimentFormat = (typeof SENTIMENT_FORMATS)[number];

export function isSentimentFormat(name: unknown): name is SentimentFormat {
  return typeof name === "string" && (SENTIMENT_FORMATS as readonly string[]).includes(name);
}

export const UCI_FILES = ["amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"] as const;

export interface LabelledSentences {
  sentences: string[];
  labels: number[];
}

export interface SentimentSplits {
  train: LabelledSentences;
  dev: LabelledSentences;
  /** The class names, index = label id. */
  labelNames: string[];
}

export const BINARY_LABEL_NAMES = ["negative", "positive"];

const OP = "sentiment data";

/** Decodes strict UTF-8; on a bad byte sequence, names the first line that holds one. */
function decodeUtf8(file: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 0x0a) {
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(start, i));
        } catch {
          return fail(OP, `${file}:${line}: not valid UTF-8 text`);
        }
        line++;
        start = i + 1;
      }
    }
    return fail(OP, `${file}: not valid UTF-8 text`);
  }
}

function readText(file: string): string {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(OP, code === "ENOENT" ? `${file}: no such file` : `${file}: cannot be read (${(error as Error).message})`);
  }
  return decodeUtf8(file, bytes);
}

/**
 * Parses `sentence<TAB>label` rows (after `header` when given). Labels must be 0 or 1; blank
 * lines are errors, except one final newline.
 */
export function parseLabelledRows(file: string, text: string, options: { header?: string[] } = {}): LabelledSentences {
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) fail(OP, `${file}: the file is empty`);
  let first = 0;
  if (options.header) {
    const columns = lines[0].split("\t").map((c) => c.trim());
    if (columns.length !== options.header.length || columns.some((c, i) => c !== options.header?.[i])) {
      fail(OP, `${file}:1: expected the header "${options.header.join("\\t")}", got ${JSON.stringify(lines[0].slice(0, 80))}`);
    }
    first = 1;
    if (lines.length === 1) fail(OP, `${file}: the file has a header but no rows`);
  }
  const result: LabelledSentences = { sentences: [], labels: [] };
  for (let i = first; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const columns = lines[i].split("\t");
    if (columns.length !== 2) fail(OP, `${where}: expected 2 tab-separated columns (sentence, label), got ${columns.length}`);
    const label = columns[1].trim();
    if (label !== "0" && label !== "1") fail(OP, `${where}: the label must be 0 or 1, got ${JSON.stringify(label)}`);
    result.sentences.push(columns[0].trim());
    result.labels.push(Number(label));
  }
  return result;
}

export function readSentimentFile(file: string, options: { header?: string[] } = {}): LabelledSentences {
  return parseLabelledRows(file, readText(file), options);
}

function checkDirectory(dir: string): void {
  if (!fs.existsSync(dir)) fail(OP, `--data ${dir}: no such directory`);
  if (!fs.statSync(dir).isDirectory()) fail(OP, `--data ${dir}: not a directory`);
}

/** Train and dev sets of `format` from `dir`. */
export function loadSentimentSplits(dir: string, format: SentimentFormat): SentimentSplits {
  checkDirectory(dir);
  if (format === "sst2") {
    const header = ["sentence", "label"];
    return {
      train: readSentimentFile(path.join(dir, "train.tsv"), { header }),
      dev: readSentimentFile(path.join(dir, "dev.tsv"), { header }),
      labelNames: BINARY_LABEL_NAMES,
    };
  }
  const train: LabelledSentences = { sentences: [], labels: [] };
  const dev: LabelledSentences = { sentences: [], labels: [] };
  for (const name of UCI_FILES) {
    const rows = readSentimentFile(path.join(dir, name));
    rows.sentences.forEach((sentence, i) => {
      const target = i % 5 === 4 ? dev : train;
      target.sentences.push(sentence);
      target.labels.push(rows.labels[i]);
    });
  }
  return { train, dev, labelNames: BINARY_LABEL_NAMES };
}
