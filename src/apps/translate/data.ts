/**
 * The English-French pairs of the PyTorch seq2seq tutorial: reading `English<TAB>French[<TAB>...]`
 * lines, the tutorial's normalisation and filter, and a seeded train/test split that the PyTorch
 * reference (examples/translate_pytorch.py) reproduces exactly.
 */
import { readFileSync } from "node:fs";
import { fail } from "../../core/errors.js";

/** Sentences of fewer than this many tokens (both sides) are kept, as in the tutorial. */
export const MAX_TOKENS = 10;

/** The tutorial's English prefixes (some with a trailing space, exactly as there). */
export const ENGLISH_PREFIXES: readonly string[] = [
  "i am ", "i m ", "he is", "he s ", "she is", "she s ", "you are", "you re ", "we are", "we re ", "they are", "they re ",
];

export interface SentencePair {
  /** Normalised English (source), tokens separated by single spaces. */
  english: string;
  /** Normalised French (target). */
  french: string;
}

/**
 * The tutorial's normalizeString: lowercase, trim, Unicode NFD with combining marks dropped,
 * a space before . ! ?, every run of other non-letters to one space, trimmed.
 */
export function normalizeSentence(text: string): string {
  const ascii = text.toLowerCase().trim().normalize("NFD").replace(/\p{Mn}/gu, "");
  return ascii.replace(/([.!?])/g, " $1").replace(/[^a-zA-Z.!?]+/g, " ").trim();
}

/** The tutorial's filterPair: fewer than MAX_TOKENS tokens on both sides, English starting with a prefix. */
export function keepPair(pair: SentencePair): boolean {
  return (
    pair.english.split(" ").length < MAX_TOKENS &&
    pair.french.split(" ").length < MAX_TOKENS &&
    ENGLISH_PREFIXES.some((prefix) => pair.english.startsWith(prefix))
  );
}

/**
 * Parses the text of a pair file: one `English<TAB>French` pair per line (further columns, such as
 * Tatoeba's attribution, are ignored). Throws naming the file and line on malformed input.
 */
export function parsePairs(text: string, file: string): SentencePair[] {
  const op = "translate data";
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.every((line) => line.trim() === "")) fail(op, `${file} is empty: expected English<TAB>French lines`);
  const pairs: SentencePair[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const columns = line.split("\t");
    if (columns.length < 2) fail(op, `${file}:${i + 1}: expected English<TAB>French, found ${columns.length} column (no tab): ${JSON.stringify(line.slice(0, 80))}`);
    if (columns[0].trim() === "" || columns[1].trim() === "") fail(op, `${file}:${i + 1}: the ${columns[0].trim() === "" ? "English" : "French"} column is empty`);
    pairs.push({ english: normalizeSentence(columns[0]), french: normalizeSentence(columns[1]) });
  });
  return pairs;
}

/** Reads a pair file (UTF-8, strictly: invalid bytes are an error naming the line). */
export function readPairs(file: string): SentencePair[] {
  const op = "translate data";
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    fail(op, code === "ENOENT" ? `no such file ${file} (--data expects the eng-fra fra.txt file)` : `cannot read ${file}: ${(error as Error).message}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    fail(op, `${file}:${firstInvalidUtf8Line(bytes)}: not valid UTF-8 text`);
  }
  return parsePairs(text, file);
}

/** The 1-based line of the first byte sequence that is not UTF-8 (decoding line by line). */
function firstInvalidUtf8Line(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line;
}

/** Reads, normalises and filters the pairs as the tutorial does. */
export function loadTranslationPairs(file: string): SentencePair[] {
  return readPairs(file).filter(keepPair);
}

/**
 * mulberry32: a tiny seeded generator, written the same way in the PyTorch reference so both
 * programs split and shuffle identically.
 */
export class SplitRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Fisher-Yates shuffle of 0..n-1. */
  permutation(n: number): number[] {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }

  getState(): number {
    return this.state;
  }
}

/** A seeded split: floor(95%) of the pairs for training, the rest held out. */
export function splitPairs<T>(pairs: readonly T[], seed: number, trainFraction = 0.95): { train: T[]; test: T[] } {
  const order = new SplitRandom(seed).permutation(pairs.length);
  const trainCount = Math.floor(trainFraction * pairs.length);
  return { train: order.slice(0, trainCount).map((i) => pairs[i]), test: order.slice(trainCount).map((i) => pairs[i]) };
}
