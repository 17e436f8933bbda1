/**
 * A vocabulary: tokens <-> integer ids, with the special tokens <pad> <unk> <bos> <eos> first
 * (ids 0, 1, 2, 3 by default, so padding is id 0). Unknown tokens map to <unk>.
 */
import { fail } from "../core/errors.js";
import { readFileBytes, writeFileAtomically } from "../io/node-fs.js";

export const PAD = "<pad>";
export const UNK = "<unk>";
export const BOS = "<bos>";
export const EOS = "<eos>";
export const DEFAULT_SPECIALS: readonly string[] = [PAD, UNK, BOS, EOS];

export interface BuildVocabOptions {
  /** Tokens seen fewer times are left out (default 1). */
  minFreq?: number;
  /** At most this many tokens in total, specials included (default unlimited). */
  maxSize?: number;
  /** Special tokens, placed first in this order (default <pad> <unk> <bos> <eos>). */
  specials?: readonly string[];
}

export interface VocabJSON {
  tokens: string[];
  specials: string[];
}

export class Vocab {
  /** id -> token. */
  readonly tokens: readonly string[];
  readonly specials: readonly string[];
  readonly #index: Map<string, number>;

  /** `tokens` in id order; the specials must be among them (missing ones are prepended). */
  constructor(tokens: Iterable<string>, options: { specials?: readonly string[] } = {}) {
    const specials = options.specials ?? DEFAULT_SPECIALS;
    const list = [...tokens];
    const missing = specials.filter((s) => !list.includes(s));
    this.tokens = [...missing, ...list];
    this.specials = specials.slice();
    this.#index = new Map();
    this.tokens.forEach((t, i) => {
      if (typeof t !== "string") fail("Vocab", `tokens must be strings, got ${typeof t} at id ${i}`);
      if (this.#index.has(t)) fail("Vocab", `duplicate token ${JSON.stringify(t)} at ids ${this.#index.get(t)} and ${i}`);
      this.#index.set(t, i);
    });
  }

  /** Counts tokens and keeps them by descending frequency (ties in code-point order), as torchtext. */
  static build(tokenLists: Iterable<Iterable<string>>, options: BuildVocabOptions = {}): Vocab {
    const minFreq = options.minFreq ?? 1;
    const specials = options.specials ?? DEFAULT_SPECIALS;
    const counts = new Map<string, number>();
    for (const tokens of tokenLists) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const s of specials) counts.delete(s);
    let kept = [...counts].filter(([, n]) => n >= minFreq).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([t]) => t);
    if (options.maxSize !== undefined) {
      if (!Number.isInteger(options.maxSize) || options.maxSize < specials.length) fail("Vocab.build", `maxSize must be an integer >= the ${specials.length} specials, got ${options.maxSize}`);
      kept = kept.slice(0, options.maxSize - specials.length);
    }
    return new Vocab([...specials, ...kept], { specials });
  }

  get length(): number {
    return this.tokens.length;
  }

  has(token: string): boolean {
    return this.#index.has(token);
  }

  /** The id of a special token, or -1 when this vocabulary has none. */
  private special(token: string): number {
    return this.#index.get(token) ?? -1;
  }
  get padIndex(): number { return this.special(PAD); }
  get unkIndex(): number { return this.special(UNK); }
  get bosIndex(): number { return this.special(BOS); }
  get eosIndex(): number { return this.special(EOS); }

  /** The token's id; unknown tokens give <unk>'s id (an error when there is no <unk>). */
  indexOf(token: string): number {
    const id = this.#index.get(token);
    if (id !== undefined) return id;
    const unk = this.unkIndex;
    if (unk < 0) fail("Vocab", `token ${JSON.stringify(token)} is not in the vocabulary and there is no ${UNK} token`);
    return unk;
  }

  tokenAt(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) fail("Vocab", `id ${id} is out of range for a vocabulary of ${this.tokens.length} tokens`);
    return this.tokens[id];
  }

  encode(tokens: Iterable<string>): number[] {
    return Array.from(tokens, (t) => this.indexOf(t));
  }

  decode(ids: Iterable<number>): string[] {
    return Array.from(ids, (id) => this.tokenAt(id));
  }

  toJSON(): VocabJSON {
    return { tokens: this.tokens.slice(), specials: this.specials.slice() };
  }

  static fromJSON(json: VocabJSON | string): Vocab {
    const value = typeof json === "string" ? (JSON.parse(json) as VocabJSON) : json;
    if (!value || !Array.isArray(value.tokens) || !Array.isArray(value.specials)) fail("Vocab.fromJSON", "expected an object with `tokens` and `specials` arrays");
    return new Vocab(value.tokens, { specials: value.specials });
  }

  /** Writes the vocabulary as JSON (Node). */
  save(path: string): void {
    writeFileAtomically("Vocab.save", path, new TextEncoder().encode(JSON.stringify(this.toJSON())));
  }

  static load(path: string): Vocab {
    return Vocab.fromJSON(new TextDecoder().decode(readFileBytes("Vocab.load", path)));
  }
}
