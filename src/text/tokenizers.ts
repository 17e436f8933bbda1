/**
 * Character and word tokenizers over a Vocab: `encode(text)` -> ids, `decode(ids)` -> text,
 * JSON save/load (the settings and the vocabulary together).
 */
import { fail } from "../core/errors.js";
import { readFileBytes, writeFileAtomically } from "../io/node-fs.js";
import { Vocab, type BuildVocabOptions, type VocabJSON } from "./vocab.js";

export interface EncodeOptions {
  /** Prepend <bos> (default false). */
  addBos?: boolean;
  /** Append <eos> (default false). */
  addEos?: boolean;
}

export interface DecodeOptions {
  /** Leave the special tokens out of the text (default true). */
  skipSpecial?: boolean;
}

interface TokenizerJSON {
  type: "char" | "word";
  lowercase?: boolean;
  vocab: VocabJSON;
}

abstract class Tokenizer {
  constructor(readonly vocab: Vocab) {}

  /** Splits text into tokens (no vocabulary lookup). */
  abstract tokenize(text: string): string[];
  /** Joins tokens back into text. */
  protected abstract join(tokens: string[]): string;
  protected abstract settings(): TokenizerJSON;

  get vocabSize(): number {
    return this.vocab.length;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.vocab.encode(this.tokenize(text));
    if (options.addBos) ids.unshift(this.required("<bos>", this.vocab.bosIndex));
    if (options.addEos) ids.push(this.required("<eos>", this.vocab.eosIndex));
    return ids;
  }

  decode(ids: Iterable<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecial ?? true;
    const specials = new Set(this.vocab.specials);
    return this.join(this.vocab.decode(ids).filter((t) => !(skip && specials.has(t))));
  }

  private required(token: string, id: number): number {
    if (id < 0) fail(`${this.constructor.name}.encode`, `the vocabulary has no ${token} token`);
    return id;
  }

  toJSON(): TokenizerJSON {
    return this.settings();
  }

  save(path: string): void {
    writeFileAtomically(`${this.constructor.name}.save`, path, new TextEncoder().encode(JSON.stringify(this.toJSON())));
  }
}

function parse(op: string, json: unknown, type: "char" | "word"): TokenizerJSON {
  const value = (typeof json === "string" ? JSON.parse(json) : json) as TokenizerJSON;
  if (!value || value.type !== type) fail(op, `expected a saved ${type} tokenizer, got type ${JSON.stringify(value?.type)}`);
  return value;
}

/** One token per character (Unicode code point). */
export class CharTokenizer extends Tokenizer {
  /** Builds the vocabulary from the characters of `texts`. */
  static fit(texts: Iterable<string>, options: BuildVocabOptions = {}): CharTokenizer {
    return new CharTokenizer(Vocab.build(Array.from(texts, (t) => Array.from(t)), options));
  }

  tokenize(text: string): string[] {
    return Array.from(text);
  }

  protected join(tokens: string[]): string {
    return tokens.join("");
  }

  protected settings(): TokenizerJSON {
    return { type: "char", vocab: this.vocab.toJSON() };
  }

  static fromJSON(json: unknown): CharTokenizer {
    return new CharTokenizer(Vocab.fromJSON(parse("CharTokenizer.fromJSON", json, "char").vocab));
  }

  static load(path: string): CharTokenizer {
    return CharTokenizer.fromJSON(new TextDecoder().decode(readFileBytes("CharTokenizer.load", path)));
  }
}

/** Words (letters, digits, _ and ') and single punctuation marks; lowercased unless `lowercase: false`. */
export class WordTokenizer extends Tokenizer {
  readonly lowercase: boolean;

  constructor(vocab: Vocab, options: { lowercase?: boolean } = {}) {
    super(vocab);
    this.lowercase = options.lowercase ?? true;
  }

  static fit(texts: Iterable<string>, options: BuildVocabOptions & { lowercase?: boolean } = {}): WordTokenizer {
    const splitter = new WordTokenizer(new Vocab([]), { lowercase: options.lowercase });
    return new WordTokenizer(Vocab.build(Array.from(texts, (t) => splitter.tokenize(t)), options), { lowercase: options.lowercase });
  }

  tokenize(text: string): string[] {
    const source = this.lowercase ? text.toLowerCase() : text;
    return source.match(/[\p{L}\p{N}_']+|[^\s\p{L}\p{N}_']/gu) ?? [];
  }

  protected join(tokens: string[]): string {
    return tokens.join(" ");
  }

  protected settings(): TokenizerJSON {
    return { type: "word", lowercase: this.lowercase, vocab: this.vocab.toJSON() };
  }

  static fromJSON(json: unknown): WordTokenizer {
    const value = parse("WordTokenizer.fromJSON", json, "word");
    return new WordTokenizer(Vocab.fromJSON(value.vocab), { lowercase: value.lowercase });
  }

  static load(path: string): WordTokenizer {
    return WordTokenizer.fromJSON(new TextDecoder().decode(readFileBytes("WordTokenizer.load", path)));
  }
}
