/**
 * End-to-end memory network (Sukhbaatar et al., 2015; the lectures' "memory network"): a soft
 * associative memory read by attention, over several hops.
 *
 * Inputs: a story of M sentences [N, M, J] and a question [N, J], int32 word ids with 0 as
 * padding (embedding row 0 is the zero vector and gets no gradient). A sentence is embedded as
 * the sum of its word embeddings, weighted by the paper's position encoding when
 * `positionEncoding` is on (default): l_kj = (1 - j/J) - (k/d)(1 - 2j/J), 1-based j and k.
 *
 * Each hop k: m_i = enc(A^k, x_i), c_i = enc(C^k, x_i), p = softmax_i(u^k . m_i) over the
 * non-empty memories, o^k = sum_i p_i c_i, then u^{k+1} = u^k + o^k (adjacent) or
 * u^{k+1} = H u^k + o^k (layer-wise). u^1 = enc(B, q); logits = W u^{K+1}.
 *
 * Weight tying (the paper's two schemes):
 * - "adjacent" (default): `embeddings.0` ... `embeddings.K` with A^k = embeddings[k-1],
 *   C^k = embeddings[k], B = A^1 and W^T = C^K (so logits = u^{K+1} embeddings[K]^T);
 * - "layerwise": one `A`, one `C` shared by all hops, a separate `B`, a linear map `H` ([d, d],
 *   no bias) between hops and an answer layer `W` ([vocab, d], no bias).
 * A sentence slot made only of padding is excluded from the softmax (a story needs at least one).
 */
import { fail, fmtShape } from "../../core/errors.js";
import { Layout } from "../../core/layout.js";
import { stack } from "../../ops/shape.js";
import { Tensor } from "../../tensor/tensor.js";
import { softmax } from "../functional/activation.js";
import * as init from "../init.js";
import { Module } from "../module.js";
import { ModuleList } from "./container.js";
import { Embedding } from "./embedding.js";
import { Linear } from "./linear.js";

export interface MemoryNetworkOptions {
  /** Memory hops K (default 3). */
  hops?: number;
  /** "adjacent" (default) or "layerwise" weight tying. */
  weightTying?: "adjacent" | "layerwise";
  /** Position-encoded sentence sums instead of plain bags of words (default true). */
  positionEncoding?: boolean;
  /** Std of the N(0, std^2) init of every weight (default 0.1, as in the paper). */
  initStd?: number;
}

/** The paper's position encoding l [J, d]: l_kj = (1 - j/J) - (k/d)(1 - 2j/J). */
function positionEncoding(words: number, dim: number): Tensor {
  const values = new Float32Array(words * dim);
  for (let j = 1; j <= words; j++) {
    for (let k = 1; k <= dim; k++) values[(j - 1) * dim + (k - 1)] = (1 - j / words) - (k / dim) * (1 - (2 * j) / words);
  }
  return new Tensor(values, Layout.contiguous([words, dim]), "float32");
}

export class MemoryNetwork extends Module {
  readonly vocabSize: number;
  readonly embedDim: number;
  readonly hops: number;
  readonly weightTying: "adjacent" | "layerwise";
  readonly positionEncoding: boolean;
  embeddings?: ModuleList;
  A?: Embedding;
  B?: Embedding;
  C?: Embedding;
  H?: Linear;
  W?: Linear;

  constructor(vocabSize: number, embedDim: number, options: MemoryNetworkOptions = {}) {
    super();
    const op = "MemoryNetwork";
    if (!Number.isInteger(vocabSize) || vocabSize < 2) fail(op, `vocabSize must be an integer >= 2 (id 0 is padding), got ${vocabSize}`);
    if (!Number.isInteger(embedDim) || embedDim < 1) fail(op, `embedDim must be a positive integer, got ${embedDim}`);
    const hops = options.hops ?? 3;
    if (!Number.isInteger(hops) || hops < 1) fail(op, `hops must be a positive integer, got ${hops}`);
    const tying = options.weightTying ?? "adjacent";
    if (tying !== "adjacent" && tying !== "layerwise") fail(op, `weightTying must be "adjacent" or "layerwise", got ${JSON.stringify(tying)}`);
    this.vocabSize = vocabSize;
    this.embedDim = embedDim;
    this.hops = hops;
    this.weightTying = tying;
    this.positionEncoding = options.positionEncoding ?? true;
    const embedding = (): Embedding => new Embedding(vocabSize, embedDim, { paddingIdx: 0 });
    if (tying === "adjacent") {
      this.embeddings = new ModuleList(Array.from({ length: hops + 1 }, embedding));
    } else {
      this.A = embedding();
      this.B = embedding();
      this.C = embedding();
      this.H = new Linear(embedDim, embedDim, { bias: false });
      this.W = new Linear(embedDim, vocabSize, { bias: false });
    }
    const std = options.initStd ?? 0.1;
    for (const p of this.parameters()) init.normal(p, { std });
    // The padding row stays zero (init.normal overwrote it).
    for (const m of this.modules()) if (m instanceof Embedding) m.weight.detach().select(0, 0).zero_();
  }

  private table(index: number): Embedding {
    return (this.embeddings as ModuleList).at(index) as Embedding;
  }

  /** Sentence vectors: ids [..., J] -> [..., d] (position-weighted sum of word embeddings). */
  private encode(embedding: Embedding, ids: Tensor): Tensor {
    const words = embedding.forward(ids); // [..., J, d]
    const weighted = this.positionEncoding ? words.mul(positionEncoding(ids.shape[ids.ndim - 1], this.embedDim)) : words;
    return weighted.sum(-2);
  }

  /** story [N, M, J], query [N, J] (int32, 0 = padding) -> [logits [N, vocab], attention [N, hops, M]]. */
  forward(story: Tensor, query: Tensor): [Tensor, Tensor] {
    const op = "MemoryNetwork.forward";
    if (story.dtype !== "int32" || query.dtype !== "int32") fail(op, `story and query must be int32 word ids, got ${story.dtype} and ${query.dtype}`);
    if (story.ndim !== 3 || query.ndim !== 2 || query.shape[0] !== story.shape[0]) fail(op, `expected story [N, M, J] and query [N, J], got ${fmtShape(story.shape)} and ${fmtShape(query.shape)}`);
    const emptySlot = story.ne(0).any(2).logicalNot(); // [N, M]
    const adjacent = this.weightTying === "adjacent";
    let u = this.encode(adjacent ? this.table(0) : (this.B as Embedding), query); // [N, d]
    const attention: Tensor[] = [];
    for (let k = 1; k <= this.hops; k++) {
      const memoryIn = this.encode(adjacent ? this.table(k - 1) : (this.A as Embedding), story); // [N, M, d]
      const memoryOut = this.encode(adjacent ? this.table(k) : (this.C as Embedding), story);
      const scores = memoryIn.matmul(u.unsqueeze(2)).squeeze(2).maskedFill(emptySlot, -Infinity); // [N, M]
      const p = softmax(scores, -1);
      attention.push(p);
      const o = p.unsqueeze(1).matmul(memoryOut).squeeze(1); // [N, d]
      u = adjacent ? u.add(o) : (this.H as Linear).forward(u).add(o);
    }
    const logits = adjacent ? u.matmul(this.table(this.hops).weight.t()) : (this.W as Linear).forward(u);
    return [logits, stack(attention, 1)];
  }

  override extraRepr(): string {
    return `vocab_size=${this.vocabSize}, embed_dim=${this.embedDim}, hops=${this.hops}, weight_tying=${this.weightTying}`;
  }
}
