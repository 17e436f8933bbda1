/**
 * The seq2seq translator of the lectures / PyTorch tutorial: a GRU encoder, and a GRU decoder
 * with additive (Bahdanau) attention over the encoder states (or, with `attention: false`, a
 * plain GRU decoder started from the encoder's last state). Training uses teacher forcing.
 */
import * as flint from "../../index.js";
import { fail } from "../../core/errors.js";
import { fusedRecurrence } from "../../nn/functional/recurrent.js";

const { nn } = flint;
const F = nn.functional;
type Tensor = flint.Tensor;

export interface TranslatorConfig {
  sourceVocabSize: number;
  targetVocabSize: number;
  hidden: number;
  attention: boolean;
  dropout: number;
}

/** Embedding (+ dropout) then a one-layer GRU over the padded source batch. */
export class Encoder extends nn.Module {
  embedding: flint.nn.Embedding;
  dropout: flint.nn.Dropout;
  gru: flint.nn.GRU;

  constructor(vocabSize: number, hidden: number, dropout: number) {
    super();
    this.embedding = new nn.Embedding(vocabSize, hidden);
    this.dropout = new nn.Dropout(dropout);
    this.gru = new nn.GRU(hidden, hidden, { batchFirst: true });
  }

  /** ids [B, S] with each row's length -> [states [B, S, H], last state [B, H]]. */
  forward(ids: Tensor, lengths: readonly number[]): [Tensor, Tensor] {
    const [states, last] = this.gru.forward(this.dropout.forward(this.embedding.forward(ids)), null, { lengths });
    return [states, last.squeeze(0)];
  }
}

/** Encoder outputs a decoder attends to, with the source keys projected once per batch. */
export interface EncoderMemory {
  states: Tensor;
  /** U h_k for every source position: [B, S, H] (attention only). */
  projectedKeys: Tensor | null;
  /** [B, S] bool, True at padding. */
  paddingMask: Tensor;
}

/**
 * The decoder: embedding (+ dropout), attention context from the previous state, a GRU cell on
 * [embedding; context], and a linear layer to the target vocabulary.
 */
export class Decoder extends nn.Module {
  readonly useAttention: boolean;
  embedding: flint.nn.Embedding;
  dropout: flint.nn.Dropout;
  attention: flint.nn.AdditiveAttention | null;
  gru: flint.nn.GRUCell;
  out: flint.nn.Linear;

  constructor(vocabSize: number, hidden: number, dropout: number, useAttention: boolean) {
    super();
    this.useAttention = useAttention;
    this.embedding = new nn.Embedding(vocabSize, hidden);
    this.dropout = new nn.Dropout(dropout);
    this.attention = useAttention ? new nn.AdditiveAttention(hidden, hidden, hidden) : null;
    this.gru = new nn.GRUCell(useAttention ? 2 * hidden : hidden, hidden);
    this.out = new nn.Linear(hidden, vocabSize);
  }

  memory(states: Tensor, paddingMask: Tensor): EncoderMemory {
    return { states, paddingMask, projectedKeys: this.attention === null ? null : this.attention.key_proj.forward(states) };
  }

  /**
   * Bahdanau attention from state [B, H]: the same computation as nn.AdditiveAttention.forward,
   * but reusing the keys projected once per batch instead of once per decoder step.
   */
  attend(state: Tensor, memory: EncoderMemory): [Tensor, Tensor] {
    const attention = this.attention as flint.nn.AdditiveAttention;
    const query = attention.query_proj.forward(state).unsqueeze(1); // [B, 1, H]
    const [context, weights] = F.additiveAttentionProjected(query, memory.projectedKeys as Tensor, attention.v.weight.reshape([-1]), memory.states, { keyPaddingMask: memory.paddingMask });
    return [context.squeeze(1), weights.squeeze(1)]; // [B, H], [B, S]
  }

  /** One step from embedded inputs [B, H]: -> [new state, attention weights [B, S] | null]. */
  step(embedded: Tensor, state: Tensor, memory: EncoderMemory): [Tensor, Tensor | null] {
    if (!this.useAttention) return [this.gru.forward(embedded, state), null];
    const [context, weights] = this.attend(state, memory);
    return [this.gru.forward(flint.cat([embedded, context], 1), state), weights];
  }

  /**
   * Teacher forcing: inputs [B, T] (<bos> then the target shifted) -> the states [B, T, H] the
   * output layer reads. The same values as step() at every t, computed with less work: the GRU
   * cell's input projection W_ih [e; c] is W_e e + W_c c, and the embeddings e of all steps are
   * known up front, so their half is one GEMM over all steps; the rest runs as one decoder op
   * (F.attentionGruDecoder: the whole time loop in one backend call each way on wasm), or
   * without attention as one GRU pass over all steps. With `lengths` (each row's target length)
   * the states past a row's length are zero and its finished rows' work is skipped when the
   * rows come in decreasing length.
   */
  states(inputs: Tensor, state: Tensor, memory: EncoderMemory, lengths: readonly number[] | null = null): Tensor {
    const embedded = this.dropout.forward(this.embedding.forward(inputs)); // [B, T, H]
    const { gru } = this;
    const embeddedWidth = embedded.shape[2];
    const projected = F.linear(embedded.transpose(0, 1), gru.weight_ih.narrow(1, 0, embeddedWidth)); // [T, B, 3H]
    const T = inputs.shape[1];
    if (!this.useAttention) return fusedRecurrence("gru", projected, gru.weight_hh, gru.bias_hh, state, { biasIh: gru.bias_ih, lengths }).narrow(0, 0, T).transpose(0, 1);
    const attention = this.attention as flint.nn.AdditiveAttention;
    const weights = {
      weightQuery: attention.query_proj.weight,
      v: attention.v.weight.reshape([-1]),
      weightContext: gru.weight_ih.narrow(1, embeddedWidth, gru.weight_ih.shape[1] - embeddedWidth),
      weightHh: gru.weight_hh,
      biasIh: gru.bias_ih as Tensor,
      biasHh: gru.bias_hh as Tensor,
    };
    return F.attentionGruDecoder(projected, state, memory.projectedKeys as Tensor, memory.states, weights, { keyPaddingMask: memory.paddingMask, lengths }).transpose(0, 1);
  }

  /** Teacher forcing: inputs [B, T] -> logits [B, T, V]. */
  forward(inputs: Tensor, state: Tensor, memory: EncoderMemory): Tensor {
    return this.out.forward(this.states(inputs, state, memory));
  }
}

export class Translator extends nn.Module {
  readonly config: TranslatorConfig;
  encoder: Encoder;
  decoder: Decoder;

  constructor(config: TranslatorConfig) {
    super();
    for (const key of ["sourceVocabSize", "targetVocabSize", "hidden"] as const) {
      if (!Number.isInteger(config[key]) || config[key] < 1) fail("Translator", `${key} must be a positive integer, got ${config[key]}`);
    }
    this.config = { ...config };
    this.encoder = new Encoder(config.sourceVocabSize, config.hidden, config.dropout);
    this.decoder = new Decoder(config.targetVocabSize, config.hidden, config.dropout, config.attention);
  }

  /** Encodes a padded source batch: -> [decoder's first state, memory]. */
  encode(sourceIds: Tensor, lengths: readonly number[], paddingMask: Tensor): [Tensor, EncoderMemory] {
    const [states, last] = this.encoder.forward(sourceIds, lengths);
    return [last, this.decoder.memory(states, paddingMask)];
  }

  /** Teacher-forced logits [B, T, V] for the decoder inputs [B, T]. */
  forward(sourceIds: Tensor, lengths: readonly number[], paddingMask: Tensor, decoderInputs: Tensor): Tensor {
    const [state, memory] = this.encode(sourceIds, lengths, paddingMask);
    return this.decoder.forward(decoderInputs, state, memory);
  }

  /**
   * Teacher-forced logits for the listed positions only: [positions.length, V], where position
   * p is (p / T, p % T) of the decoder inputs [B, T]. Training asks for the target tokens and
   * skips the padding, which the loss ignores anyway (a quarter of the output layer's work);
   * given the target lengths, the decoder skips it too (see Decoder.states).
   */
  forwardAt(sourceIds: Tensor, lengths: readonly number[], paddingMask: Tensor, decoderInputs: Tensor, positions: Tensor, targetLengths: readonly number[] | null = null): Tensor {
    const [state, memory] = this.encode(sourceIds, lengths, paddingMask);
    const states = this.decoder.states(decoderInputs, state, memory, targetLengths);
    return this.decoder.out.forward(states.reshape([-1, this.config.hidden]).indexSelect(0, positions));
  }
}
