/**
 * Attention layers: PyTorch's nn.MultiheadAttention, and the lectures' additive (Bahdanau)
 * attention.
 */
import { noGrad } from "../../autograd/grad-mode.js";
import { fail, fmtShape } from "../../core/errors.js";
import type { Tensor } from "../../tensor/tensor.js";
import { additiveAttentionProjected } from "../functional/additive-attention.js";
import { multiHeadAttention, multiHeadAttentionBatchFirst, type MultiHeadAttentionOptions } from "../functional/attention.js";
import * as init from "../init.js";
import { Module } from "../module.js";
import { Parameter, parameterData } from "../parameter.js";
import { Linear } from "./linear.js";

/** PyTorch's name for MultiheadAttention's output projection (a plain Linear); kept for the repr. */
export class NonDynamicallyQuantizableLinear extends Linear {}

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights, in training (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Key / value feature sizes (default embedDim); when they differ, q/k/v get separate weights. */
  kdim?: number;
  vdim?: number;
  /** Inputs and output are [N, L, E] instead of [L, N, E] (default false). */
  batchFirst?: boolean;
  /** Learned `bias_k` / `bias_v` ([1, 1, E]) appended to the keys and values (default false). */
  addBiasKv?: boolean;
  /** Append an all-zero key and value to every head (default false). */
  addZeroAttn?: boolean;
}

export type MultiheadAttentionForwardOptions = Pick<MultiHeadAttentionOptions, "keyPaddingMask" | "needWeights" | "attnMask" | "averageAttnWeights" | "isCausal">;

/**
 * Multi-head attention (Vaswani et al.), with PyTorch's parameters: `in_proj_weight` [3E, E] and
 * `in_proj_bias` [3E] (or `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when kdim/vdim differ
 * from embedDim), and `out_proj.weight` / `out_proj.bias`.
 * forward(query, key, value, options) -> [output, weights | null]; see F.multiHeadAttentionForward
 * for the masks (bool True = not allowed).
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly headDim: number;
  in_proj_weight?: Parameter;
  q_proj_weight?: Parameter;
  k_proj_weight?: Parameter;
  v_proj_weight?: Parameter;
  in_proj_bias: Parameter | null;
  out_proj: NonDynamicallyQuantizableLinear;
  bias_k: Parameter | null;
  bias_v: Parameter | null;
  readonly addZeroAttn: boolean;

  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    const op = "MultiheadAttention";
    if (!Number.isInteger(embedDim) || embedDim < 1) fail(op, `embedDim must be a positive integer, got ${embedDim}`);
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) fail(op, `embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    const p = options.dropout ?? 0;
    if (!(p >= 0 && p <= 1)) fail(op, `dropout must be in [0, 1], got ${p}`);
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.dropout = p;
    this.batchFirst = options.batchFirst ?? false;
    this.headDim = embedDim / numHeads;
    const bias = options.bias ?? true;
    if (this.kdim === embedDim && this.vdim === embedDim) {
      this.in_proj_weight = new Parameter(parameterData([3 * embedDim, embedDim]));
    } else {
      this.q_proj_weight = new Parameter(parameterData([embedDim, embedDim]));
      this.k_proj_weight = new Parameter(parameterData([embedDim, this.kdim]));
      this.v_proj_weight = new Parameter(parameterData([embedDim, this.vdim]));
    }
    this.in_proj_bias = bias ? new Parameter(parameterData([3 * embedDim])) : null;
    this.out_proj = new NonDynamicallyQuantizableLinear(embedDim, embedDim, { bias });
    const addBiasKv = options.addBiasKv ?? false;
    this.bias_k = addBiasKv ? new Parameter(parameterData([1, 1, embedDim])) : null;
    this.bias_v = addBiasKv ? new Parameter(parameterData([1, 1, embedDim])) : null;
    this.addZeroAttn = options.addZeroAttn ?? false;
    this.resetParameters();
  }

  /** xavierUniform on the projection weights, zero biases, xavierNormal bias_k/bias_v (PyTorch's _reset_parameters). */
  resetParameters(): void {
    noGrad(() => {
      for (const w of [this.in_proj_weight, this.q_proj_weight, this.k_proj_weight, this.v_proj_weight]) if (w) init.xavierUniform(w);
      if (this.in_proj_bias !== null) this.in_proj_bias.zero_();
      if (this.out_proj.bias !== null) this.out_proj.bias.zero_();
      for (const b of [this.bias_k, this.bias_v]) if (b !== null) init.xavierNormal(b);
    });
  }

  /** query [L, N, E], key [S, N, kdim], value [S, N, vdim] ([N, *, *] with batchFirst; 2-D unbatched). */
  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const op = "MultiheadAttention.forward";
    const features = [[query, this.embedDim, "query"], [key, this.kdim, "key"], [value, this.vdim, "value"]] as const;
    for (const [t, size, name] of features) {
      if (t.ndim !== 2 && t.ndim !== 3) fail(op, `expected a 2-D or 3-D ${name}, got shape ${fmtShape(t.shape)}`);
      if (t.shape[t.ndim - 1] !== size) fail(op, `${name} of shape ${fmtShape(t.shape)} should have last dim ${size}`);
    }
    // batchFirst inputs stay [N, L, E] (the functional form transposes only where it must).
    const attention = this.batchFirst ? multiHeadAttentionBatchFirst : multiHeadAttention;
    return attention(query, key, value, this.numHeads, this.in_proj_weight ?? null, this.in_proj_bias, this.out_proj.weight, this.out_proj.bias, {
      ...options,
      dropoutP: this.dropout,
      training: this.training,
      qProjWeight: this.q_proj_weight,
      kProjWeight: this.k_proj_weight,
      vProjWeight: this.v_proj_weight,
      biasK: this.bias_k,
      biasV: this.bias_v,
      addZeroAttn: this.addZeroAttn,
    });
  }
}

export interface AdditiveAttentionOptions {
  /** A bias on the key projection (default false, as in Bahdanau et al.'s formula). */
  bias?: boolean;
}

export interface AdditiveAttentionForwardOptions {
  /** [N, S, valueSize] (default: the keys themselves, as in Bahdanau et al.). */
  values?: Tensor | null;
  /** [N, S] bool, True = padding (ignored), as nn.MultiheadAttention's keyPaddingMask. */
  keyPaddingMask?: Tensor | null;
}

/**
 * Additive (Bahdanau) attention, from the lectures: for a decoder state s and encoder states h_k,
 *   score_k = v^T tanh(W s + U h_k),  alpha = softmax_k(score),  context = sum_k alpha_k h_k.
 * Parameters: `query_proj.weight` (W, [hidden, querySize]), `key_proj.weight` (U, [hidden, keySize],
 * plus `key_proj.bias` with `bias: true`) and `v.weight` ([1, hidden]).
 * forward(query [N, querySize] or [N, L, querySize], keys [N, S, keySize]) -> [context, weights]
 * with context [N, valueSize] / [N, L, valueSize] and weights [N, S] / [N, L, S].
 */
export class AdditiveAttention extends Module {
  readonly querySize: number;
  readonly keySize: number;
  readonly hiddenSize: number;
  query_proj: Linear;
  key_proj: Linear;
  v: Linear;

  constructor(querySize: number, keySize: number, hiddenSize: number, options: AdditiveAttentionOptions = {}) {
    super();
    this.querySize = querySize;
    this.keySize = keySize;
    this.hiddenSize = hiddenSize;
    this.query_proj = new Linear(querySize, hiddenSize, { bias: false });
    this.key_proj = new Linear(keySize, hiddenSize, { bias: options.bias ?? false });
    this.v = new Linear(hiddenSize, 1, { bias: false });
  }

  forward(query: Tensor, keys: Tensor, options: AdditiveAttentionForwardOptions = {}): [Tensor, Tensor] {
    const op = "AdditiveAttention.forward";
    if (keys.ndim !== 3 || keys.shape[2] !== this.keySize) fail(op, `keys must be [N, S, ${this.keySize}], got ${fmtShape(keys.shape)}`);
    const [N, S] = keys.shape;
    const single = query.ndim === 2;
    if ((query.ndim !== 2 && query.ndim !== 3) || query.shape[0] !== N || query.shape[query.ndim - 1] !== this.querySize) {
      fail(op, `query must be [${N}, ${this.querySize}] or [${N}, L, ${this.querySize}], got ${fmtShape(query.shape)}`);
    }
    const values = options.values ?? keys;
    if (values.ndim !== 3 || values.shape[0] !== N || values.shape[1] !== S) fail(op, `values must be [${N}, ${S}, *], got ${fmtShape(values.shape)}`);
    const q = single ? query.unsqueeze(1) : query; // [N, L, Dq]
    const mask = options.keyPaddingMask ?? null;
    if (mask !== null && (mask.dtype !== "bool" || mask.ndim !== 2 || mask.shape[0] !== N || mask.shape[1] !== S)) {
      fail(op, `keyPaddingMask must be a bool [${N}, ${S}] tensor, got ${mask.dtype} ${fmtShape(mask.shape)}`);
    }
    // The keys are projected once for all L queries.
    const [context, weights] = additiveAttentionProjected(this.query_proj.forward(q), this.key_proj.forward(keys), this.v.weight.reshape([-1]), values, { keyPaddingMask: mask });
    return single ? [context.squeeze(1), weights.squeeze(1)] : [context, weights];
  }

  override extraRepr(): string {
    return `query_size=${this.querySize}, key_size=${this.keySize}, hidden_size=${this.hiddenSize}`;
  }
}
