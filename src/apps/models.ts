/**
 * Character language models: a recurrent one (embedding -> LSTM / GRU / RNN -> linear head) and a
 * GPT-style decoder-only Transformer (token + learned position embeddings, pre-norm causal
 * nn.TransformerEncoderLayer blocks with a GELU MLP, final LayerNorm, linear head), as in
 * nanoGPT's Tiny Shakespeare recipe. Both map [B, T] int32 ids to [B, T, vocab] logits.
 *
 * The hyper-parameters travel in a plain JSON object (CharModelConfig), so a checkpoint can
 * rebuild the model from its metadata alone.
 */
import * as flint from "../index.js";
import { fail, fmtShape } from "../core/errors.js";

const nn = flint.nn;
type Tensor = flint.Tensor;

export const CHAR_MODEL_KINDS = ["lstm", "gru", "rnn", "transformer"] as const;
export type CharModelKind = (typeof CHAR_MODEL_KINDS)[number];

export function isCharModelKind(value: unknown): value is CharModelKind {
  return typeof value === "string" && (CHAR_MODEL_KINDS as readonly string[]).includes(value);
}

export interface CharModelConfig {
  kind: CharModelKind;
  vocabSize: number;
  /** Embedding width (the Transformer's dModel). */
  embedDim: number;
  /** Recurrent state width (recurrent models only). */
  hiddenSize: number;
  numLayers: number;
  /** Attention heads (Transformer only). */
  numHeads: number;
  /** Longest context (the Transformer's position table; the training window for both). */
  blockSize: number;
  dropout: number;
}

/** Recurrent state carried between calls when sampling: h (and c for the LSTM). */
export type RecurrentState = Tensor | [Tensor, Tensor] | null;

/** Common surface of the two families: logits for a [B, T] batch, optionally carrying RNN state. */
export interface CharModel extends flint.nn.Module {
  readonly config: CharModelConfig;
  /** ids [B, T] -> [logits [B, T, V], state after the last step (null for the Transformer)]. */
  step(ids: Tensor, state?: RecurrentState): [Tensor, RecurrentState];
}

function checkIds(op: string, ids: Tensor): void {
  if (ids.ndim !== 2 || ids.dtype !== "int32") fail(op, `expected int32 ids of shape [batch, time], got ${ids.dtype} ${fmtShape(ids.shape)}`);
}

export class CharRNN extends nn.Module implements CharModel {
  readonly config: CharModelConfig;
  embedding: flint.nn.Embedding;
  rnn: flint.nn.LSTM | flint.nn.GRU | flint.nn.RNN;
  head: flint.nn.Linear;

  constructor(config: CharModelConfig) {
    super();
    this.config = { ...config };
    const options = { numLayers: config.numLayers, batchFirst: true, dropout: config.numLayers > 1 ? config.dropout : 0 };
    this.embedding = new nn.Embedding(config.vocabSize, config.embedDim);
    if (config.kind === "lstm") this.rnn = new nn.LSTM(config.embedDim, config.hiddenSize, options);
    else if (config.kind === "gru") this.rnn = new nn.GRU(config.embedDim, config.hiddenSize, options);
    else this.rnn = new nn.RNN(config.embedDim, config.hiddenSize, options);
    this.head = new nn.Linear(config.hiddenSize, config.vocabSize);
  }

  step(ids: Tensor, state: RecurrentState = null): [Tensor, RecurrentState] {
    checkIds("CharRNN.forward", ids);
    const x = this.embedding.forward(ids);
    let output: Tensor;
    let next: RecurrentState;
    if (this.rnn instanceof nn.LSTM) {
      [output, next] = this.rnn.forward(x, state as [Tensor, Tensor] | null);
    } else {
      [output, next] = this.rnn.forward(x, state as Tensor | null);
    }
    return [this.head.forward(output), next];
  }

  forward(ids: Tensor): Tensor {
    return this.step(ids)[0];
  }
}

export class CharTransformer extends nn.Module implements CharModel {
  readonly config: CharModelConfig;
  token_embedding: flint.nn.Embedding;
  position_embedding: flint.nn.Embedding;
  blocks: flint.nn.ModuleList;
  norm: flint.nn.LayerNorm;
  head: flint.nn.Linear;
  declare positions: Tensor;

  constructor(config: CharModelConfig) {
    super();
    this.config = { ...config };
    const d = config.embedDim;
    this.token_embedding = new nn.Embedding(config.vocabSize, d);
    this.position_embedding = new nn.Embedding(config.blockSize, d);
    const layers = [];
    for (let i = 0; i < config.numLayers; i++) {
      layers.push(new nn.TransformerEncoderLayer(d, config.numHeads, { dimFeedforward: 4 * d, dropout: config.dropout, activation: "gelu", batchFirst: true, normFirst: true }));
    }
    this.blocks = new nn.ModuleList(layers);
    this.norm = new nn.LayerNorm(d);
    this.head = new nn.Linear(d, config.vocabSize);
    this.registerBuffer("positions", flint.arange(0, config.blockSize, 1, { dtype: "int32" }), { persistent: false });
    gptInit(this);
  }

  step(ids: Tensor): [Tensor, RecurrentState] {
    return [this.forward(ids), null];
  }

  forward(ids: Tensor): Tensor {
    checkIds("CharTransformer.forward", ids);
    const T = ids.shape[1];
    if (T > this.config.blockSize) fail("CharTransformer.forward", `sequence length ${T} exceeds blockSize ${this.config.blockSize}`);
    let x = this.token_embedding.forward(ids).add(this.position_embedding.forward(this.positions.narrow(0, 0, T)));
    for (const block of this.blocks.children()) x = (block as flint.nn.TransformerEncoderLayer).forward(x, { isCausal: true });
    return this.head.forward(this.norm.forward(x));
  }
}

/** nanoGPT's initialisation: N(0, 0.02) for every matrix, zero biases, LayerNorm at (1, 0). */
function gptInit(model: flint.nn.Module): void {
  flint.noGrad(() => {
    for (const [name, p] of model.namedParameters()) {
      if (p.ndim >= 2) nn.init.normal(p, { mean: 0, std: 0.02 });
      else if (name.endsWith("bias")) nn.init.zeros(p);
    }
  });
}

export function createCharModel(config: CharModelConfig): CharModel {
  checkConfig(config);
  return config.kind === "transformer" ? new CharTransformer(config) : new CharRNN(config);
}

function checkConfig(config: CharModelConfig): void {
  const op = "createCharModel";
  if (!isCharModelKind(config.kind)) fail(op, `unknown model "${config.kind}" (choose one of: ${CHAR_MODEL_KINDS.join(", ")})`);
  for (const key of ["vocabSize", "embedDim", "hiddenSize", "numLayers", "numHeads", "blockSize"] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1) fail(op, `${key} must be a positive integer, got ${v}`);
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) fail(op, `dropout must be in [0, 1), got ${config.dropout}`);
  if (config.kind === "transformer" && config.embedDim % config.numHeads !== 0) fail(op, `embedDim (${config.embedDim}) must be divisible by numHeads (${config.numHeads})`);
}

/** Parameter count (the figure printed by the CLI). */
export function countParameters(model: flint.nn.Module): number {
  return model.parameters().reduce((n, p) => n + p.numel(), 0);
}
