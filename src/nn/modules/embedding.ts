import { noGrad } from "../../autograd/grad-mode.js";
import { fail, fmtShape } from "../../core/errors.js";
import type { Tensor } from "../../tensor/tensor.js";
import * as F from "../functional/linear.js";
import * as init from "../init.js";
import { Module, pyFloat } from "../module.js";
import { Parameter, parameterData } from "../parameter.js";

export interface EmbeddingModuleOptions {
  /** This row starts at zero and never receives a gradient (a "no token" slot). Negative counts from the end. */
  paddingIdx?: number | null;
  /** Looked-up rows are renormalised in place to at most this norm, as in PyTorch. */
  maxNorm?: number | null;
  normType?: number;
  /** Use these weights ([num, dim]) instead of N(0, 1) (PyTorch's `_weight`). */
  weight?: Tensor;
}

/** A lookup table: int32 indices [...] -> rows of weight [numEmbeddings, embeddingDim], N(0, 1) initialised. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingModuleOptions = {}) {
    super();
    for (const [name, v] of [["numEmbeddings", numEmbeddings], ["embeddingDim", embeddingDim]] as const) {
      if (!Number.isInteger(v) || v < 0) fail("Embedding", `${name} must be a non-negative integer, got ${v}`);
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = F.normalizePaddingIdx("Embedding", options.paddingIdx, numEmbeddings);
    this.maxNorm = options.maxNorm ?? null;
    this.normType = options.normType ?? 2;
    if (options.weight !== undefined) {
      const w = options.weight;
      if (w.ndim !== 2 || w.shape[0] !== numEmbeddings || w.shape[1] !== embeddingDim) {
        fail("Embedding", `weight of shape ${fmtShape(w.shape)} does not match [${numEmbeddings}, ${embeddingDim}]`);
      }
      this.weight = new Parameter(w);
    } else {
      this.weight = new Parameter(parameterData([numEmbeddings, embeddingDim]));
      this.resetParameters();
    }
  }

  /** N(0, 1), with the padding row zeroed. */
  resetParameters(): void {
    init.normal(this.weight);
    if (this.paddingIdx !== null) noGrad(() => this.weight.select(0, this.paddingIdx as number).fill_(0));
  }

  forward(input: Tensor): Tensor {
    return F.embedding(input, this.weight, { paddingIdx: this.paddingIdx, maxNorm: this.maxNorm, normType: this.normType });
  }

  /** An Embedding holding (and, unless `freeze: false`, freezing) the given [num, dim] weights. */
  static fromPretrained(embeddings: Tensor, options: { freeze?: boolean } & Omit<EmbeddingModuleOptions, "weight"> = {}): Embedding {
    if (embeddings.ndim !== 2) fail("Embedding.fromPretrained", `embeddings must be 2-D, got shape ${fmtShape(embeddings.shape)}`);
    const [num, dim] = embeddings.shape;
    const module = new Embedding(num, dim, { ...options, weight: embeddings.detach() });
    module.weight.requiresGrad = !(options.freeze ?? true);
    return module;
  }

  override extraRepr(): string {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}`;
    if (this.paddingIdx !== null) s += `, padding_idx=${this.paddingIdx}`;
    if (this.maxNorm !== null) s += `, max_norm=${pyFloat(this.maxNorm)}`;
    if (this.normType !== 2) s += `, norm_type=${pyFloat(this.normType)}`;
    return s;
  }
}
