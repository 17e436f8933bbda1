/**
 * The Transformer (Vaswani et al.) with PyTorch's module tree, so state-dict keys match
 * (`encoder.layers.0.self_attn.in_proj_weight`, `encoder.layers.0.linear1.weight`,
 * `encoder.layers.0.norm1.weight`, `encoder.norm.weight`, `decoder.layers.0.multihead_attn...`).
 * Masks follow nn.MultiheadAttention: bool True = not allowed, float masks are added.
 */
import { fail, fmtShape } from "../../core/errors.js";
import { full } from "../../tensor/creation.js";
import type { Tensor } from "../../tensor/tensor.js";
import { gelu, relu } from "../functional/activation.js";
import { causalMaskBool } from "../functional/attention.js";
import * as init from "../init.js";
import { Module } from "../module.js";
import { MultiheadAttention } from "./attention.js";
import { ModuleList } from "./container.js";
import { Dropout } from "./dropout.js";
import { Linear } from "./linear.js";
import { LayerNorm } from "./normalization.js";

export type TransformerActivation = "relu" | "gelu" | ((x: Tensor) => Tensor);

export interface TransformerLayerOptions {
  /** Width of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block (default 0.1). */
  dropout?: number;
  /** Feed-forward nonlinearity (default "relu"). */
  activation?: TransformerActivation;
  layerNormEps?: number;
  /** Inputs are [N, L, E] instead of [L, N, E] (default false). */
  batchFirst?: boolean;
  /** Pre-norm (LayerNorm before each block) instead of post-norm (default false). */
  normFirst?: boolean;
}

function activationFn(op: string, activation: TransformerActivation): (x: Tensor) => Tensor {
  if (activation === "relu") return relu;
  if (activation === "gelu") return (x) => gelu(x);
  if (typeof activation === "function") return activation;
  return fail(op, `activation should be "relu", "gelu" or a function, not ${JSON.stringify(activation)}`);
}

function checkWidth(op: string, dModel: number, nhead: number, dimFeedforward: number): void {
  if (!Number.isInteger(dModel) || dModel < 1) fail(op, `dModel must be a positive integer, got ${dModel}`);
  if (!Number.isInteger(nhead) || nhead < 1 || dModel % nhead !== 0) fail(op, `dModel (${dModel}) must be divisible by nhead (${nhead})`);
  if (!Number.isInteger(dimFeedforward) || dimFeedforward < 1) fail(op, `dimFeedforward must be a positive integer, got ${dimFeedforward}`);
}

/** A layer TransformerEncoder/Decoder can copy (PyTorch deep-copies the layer it is given). */
interface Clonable extends Module {
  cloneLayer(): Module;
}

/** A fresh layer with the same settings, weights and training mode. */
function copyLayer<T extends Module>(layer: T, make: () => T): T {
  const copy = make();
  copy.loadStateDict(layer.stateDict());
  copy.train(layer.training);
  return copy;
}

export interface EncoderLayerForwardOptions {
  srcMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (the mask is built when srcMask is not given). */
  isCausal?: boolean;
}

/** Self-attention then a feed-forward block, each with a residual connection and LayerNorm. */
export class TransformerEncoderLayer extends Module {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  readonly normFirst: boolean;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  private readonly activation: (x: Tensor) => Tensor;
  private readonly settings: [number, number, TransformerLayerOptions];

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const dimFeedforward = options.dimFeedforward ?? 2048;
    checkWidth("TransformerEncoderLayer", dModel, nhead, dimFeedforward);
    const p = options.dropout ?? 0.1;
    const eps = options.layerNormEps ?? 1e-5;
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst: options.batchFirst ?? false });
    this.linear1 = new Linear(dModel, dimFeedforward);
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(dimFeedforward, dModel);
    this.normFirst = options.normFirst ?? false;
    this.norm1 = new LayerNorm(dModel, { eps });
    this.norm2 = new LayerNorm(dModel, { eps });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.activation = activationFn("TransformerEncoderLayer", options.activation ?? "relu");
    this.settings = [dModel, nhead, { ...options }];
  }

  cloneLayer(): TransformerEncoderLayer {
    return copyLayer(this, () => new TransformerEncoderLayer(...this.settings));
  }

  forward(src: Tensor, options: EncoderLayerForwardOptions = {}): Tensor {
    const selfAttention = (x: Tensor): Tensor =>
      this.dropout1.forward(this.self_attn.forward(x, x, x, { attnMask: options.srcMask, keyPaddingMask: options.srcKeyPaddingMask, isCausal: options.isCausal, needWeights: false })[0]);
    const feedForward = (x: Tensor): Tensor => this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
    let x = src;
    if (this.normFirst) {
      x = x.add(selfAttention(this.norm1.forward(x)));
      x = x.add(feedForward(this.norm2.forward(x)));
    } else {
      x = this.norm1.forward(x.add(selfAttention(x)));
      x = this.norm2.forward(x.add(feedForward(x)));
    }
    return x;
  }
}

export interface DecoderLayerForwardOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

/** Self-attention, attention over the encoder's memory, then a feed-forward block. */
export class TransformerDecoderLayer extends Module {
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  readonly normFirst: boolean;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  private readonly activation: (x: Tensor) => Tensor;
  private readonly settings: [number, number, TransformerLayerOptions];

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const dimFeedforward = options.dimFeedforward ?? 2048;
    checkWidth("TransformerDecoderLayer", dModel, nhead, dimFeedforward);
    const p = options.dropout ?? 0.1;
    const eps = options.layerNormEps ?? 1e-5;
    const batchFirst = options.batchFirst ?? false;
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst });
    this.multihead_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst });
    this.linear1 = new Linear(dModel, dimFeedforward);
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(dimFeedforward, dModel);
    this.normFirst = options.normFirst ?? false;
    this.norm1 = new LayerNorm(dModel, { eps });
    this.norm2 = new LayerNorm(dModel, { eps });
    this.norm3 = new LayerNorm(dModel, { eps });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.dropout3 = new Dropout(p);
    this.activation = activationFn("TransformerDecoderLayer", options.activation ?? "relu");
    this.settings = [dModel, nhead, { ...options }];
  }

  cloneLayer(): TransformerDecoderLayer {
    return copyLayer(this, () => new TransformerDecoderLayer(...this.settings));
  }

  forward(tgt: Tensor, memory: Tensor, options: DecoderLayerForwardOptions = {}): Tensor {
    const selfAttention = (x: Tensor): Tensor =>
      this.dropout1.forward(this.self_attn.forward(x, x, x, { attnMask: options.tgtMask, keyPaddingMask: options.tgtKeyPaddingMask, isCausal: options.tgtIsCausal, needWeights: false })[0]);
    const crossAttention = (x: Tensor): Tensor =>
      this.dropout2.forward(this.multihead_attn.forward(x, memory, memory, { attnMask: options.memoryMask, keyPaddingMask: options.memoryKeyPaddingMask, isCausal: options.memoryIsCausal, needWeights: false })[0]);
    const feedForward = (x: Tensor): Tensor => this.dropout3.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
    let x = tgt;
    if (this.normFirst) {
      x = x.add(selfAttention(this.norm1.forward(x)));
      x = x.add(crossAttention(this.norm2.forward(x)));
      x = x.add(feedForward(this.norm3.forward(x)));
    } else {
      x = this.norm1.forward(x.add(selfAttention(x)));
      x = this.norm2.forward(x.add(crossAttention(x)));
      x = this.norm3.forward(x.add(feedForward(x)));
    }
    return x;
  }
}

function clones(op: string, layer: Module, numLayers: number): ModuleList {
  if (!Number.isInteger(numLayers) || numLayers < 0) fail(op, `numLayers must be a non-negative integer, got ${numLayers}`);
  if (typeof (layer as unknown as { cloneLayer?: unknown }).cloneLayer !== "function") fail(op, `the layer (${layer.constructor.name}) must provide cloneLayer() so that it can be copied ${numLayers} times`);
  return new ModuleList(Array.from({ length: numLayers }, () => (layer as Clonable).cloneLayer()));
}

export interface EncoderForwardOptions {
  mask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: boolean;
}

/** numLayers copies of an encoder layer (`layers.0`, `layers.1`, ...), then an optional `norm`. */
export class TransformerEncoder extends Module {
  layers: ModuleList;
  readonly numLayers: number;
  norm: Module | null;

  /** `encoderLayer` is copied numLayers times (with its weights, as PyTorch's deepcopy). */
  constructor(encoderLayer: TransformerEncoderLayer | Clonable, numLayers: number, options: { norm?: Module | null; enableNestedTensor?: boolean } = {}) {
    super();
    this.layers = clones("TransformerEncoder", encoderLayer, numLayers);
    this.numLayers = numLayers;
    this.norm = options.norm ?? null;
  }

  forward(src: Tensor, options: EncoderForwardOptions = {}): Tensor {
    let x = src;
    for (const layer of this.layers) x = (layer as TransformerEncoderLayer).forward(x, { srcMask: options.mask, srcKeyPaddingMask: options.srcKeyPaddingMask, isCausal: options.isCausal });
    return this.norm === null ? x : this.norm.forward(x);
  }
}

/** numLayers copies of a decoder layer, then an optional `norm`. */
export class TransformerDecoder extends Module {
  layers: ModuleList;
  readonly numLayers: number;
  norm: Module | null;

  constructor(decoderLayer: TransformerDecoderLayer | Clonable, numLayers: number, options: { norm?: Module | null } = {}) {
    super();
    this.layers = clones("TransformerDecoder", decoderLayer, numLayers);
    this.numLayers = numLayers;
    this.norm = options.norm ?? null;
  }

  forward(tgt: Tensor, memory: Tensor, options: DecoderLayerForwardOptions = {}): Tensor {
    let x = tgt;
    for (const layer of this.layers) x = (layer as TransformerDecoderLayer).forward(x, memory, options);
    return this.norm === null ? x : this.norm.forward(x);
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  customEncoder?: Module | null;
  customDecoder?: Module | null;
}

export interface TransformerForwardOptions {
  srcMask?: Tensor | null;
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  srcIsCausal?: boolean;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

/**
 * The full encoder-decoder model (PyTorch defaults: dModel 512, nhead 8, 6 + 6 layers, feed-forward
 * 2048, dropout 0.1), with a final LayerNorm in the encoder and in the decoder. Weights with more
 * than one dim are xavierUniform initialised, as in PyTorch.
 */
export class Transformer extends Module {
  encoder: Module;
  decoder: Module;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor(options: TransformerOptions = {}) {
    super();
    const dModel = options.dModel ?? 512;
    const nhead = options.nhead ?? 8;
    const eps = options.layerNormEps ?? 1e-5;
    const layerOptions: TransformerLayerOptions = {
      dimFeedforward: options.dimFeedforward, dropout: options.dropout, activation: options.activation,
      layerNormEps: eps, batchFirst: options.batchFirst, normFirst: options.normFirst,
    };
    this.encoder = options.customEncoder ??
      new TransformerEncoder(new TransformerEncoderLayer(dModel, nhead, layerOptions), options.numEncoderLayers ?? 6, { norm: new LayerNorm(dModel, { eps }) });
    this.decoder = options.customDecoder ??
      new TransformerDecoder(new TransformerDecoderLayer(dModel, nhead, layerOptions), options.numDecoderLayers ?? 6, { norm: new LayerNorm(dModel, { eps }) });
    this.dModel = dModel;
    this.nhead = nhead;
    this.batchFirst = options.batchFirst ?? false;
    for (const p of this.parameters()) if (p.ndim > 1) init.xavierUniform(p);
  }

  /** src [S, N, E] and tgt [T, N, E] ([N, *, E] with batchFirst) -> [T, N, E]. */
  forward(src: Tensor, tgt: Tensor, options: TransformerForwardOptions = {}): Tensor {
    const op = "Transformer.forward";
    const batched = src.ndim === 3;
    if (src.ndim !== tgt.ndim) fail(op, `src (${fmtShape(src.shape)}) and tgt (${fmtShape(tgt.shape)}) must both be batched or both unbatched`);
    const batchDim = this.batchFirst ? 0 : 1;
    if (batched && src.shape[batchDim] !== tgt.shape[batchDim]) fail(op, `the batch number of src and tgt must be equal, got shapes ${fmtShape(src.shape)} and ${fmtShape(tgt.shape)}`);
    if (src.shape[src.ndim - 1] !== this.dModel || tgt.shape[tgt.ndim - 1] !== this.dModel) {
      fail(op, `the feature number of src and tgt must be equal to dModel (${this.dModel}), got shapes ${fmtShape(src.shape)} and ${fmtShape(tgt.shape)}`);
    }
    const memory = this.encoder.forward(src, { mask: options.srcMask, srcKeyPaddingMask: options.srcKeyPaddingMask, isCausal: options.srcIsCausal });
    return this.decoder.forward(tgt, memory, {
      tgtMask: options.tgtMask, memoryMask: options.memoryMask, tgtKeyPaddingMask: options.tgtKeyPaddingMask,
      memoryKeyPaddingMask: options.memoryKeyPaddingMask, tgtIsCausal: options.tgtIsCausal, memoryIsCausal: options.memoryIsCausal,
    });
  }

  /** A float [sz, sz] mask: -inf above the diagonal (future positions), 0 elsewhere. */
  static generateSquareSubsequentMask(sz: number): Tensor {
    if (!Number.isInteger(sz) || sz < 0) fail("generateSquareSubsequentMask", `sz must be a non-negative integer, got ${sz}`);
    return full([sz, sz], 0).maskedFill(causalMaskBool(sz, sz), -Infinity);
  }
}
