/**
 * Attention: F.scaledDotProductAttention and F.multiHeadAttentionForward (the functional twin of
 * nn.MultiheadAttention; the module calls multiHeadAttention, the same computation with an options
 * object). All are compositions of tensor ops, so autograd needs no code here.
 *
 * Mask conventions follow PyTorch, which differ between the two:
 * - scaledDotProductAttention: a bool attnMask is True where attention IS allowed;
 * - multiHeadAttentionForward (and nn.MultiheadAttention, nn.Transformer*): bool masks are True
 *   where attention is NOT allowed (padding / future positions).
 * Float masks are added to the scores in both.
 */
import { fail, fmtShape } from "../../core/errors.js";
import { cat } from "../../ops/shape.js";
import { ones, zeros } from "../../tensor/creation.js";
import type { Tensor } from "../../tensor/tensor.js";
import { softmax } from "./activation.js";
import { dropout, linear } from "./linear.js";

/** A [L, S] bool mask, True above the diagonal (the future positions a causal model may not see). */
export function causalMaskBool(targetLength: number, sourceLength: number): Tensor {
  const rows = ones([targetLength, 1]).cumsum(0); // 1..L
  const cols = ones([1, sourceLength]).cumsum(1); // 1..S
  return cols.gt(rows);
}

export interface ScaledDotProductAttentionOptions {
  /** Bool (True = may attend) or float (added to the scores), broadcastable to [..., L, S]. */
  attnMask?: Tensor | null;
  /** Dropout on the attention weights (applied whenever > 0, as in PyTorch's functional form). */
  dropoutP?: number;
  /** Lower-triangular mask: position i attends to j <= i. Not combinable with attnMask. */
  isCausal?: boolean;
  /** Score scale (default 1 / sqrt(E), E = query's last dim). */
  scale?: number | null;
}

/** softmax(q k^T * scale + mask) v for q [..., L, E], k [..., S, E], v [..., S, Ev] -> [..., L, Ev]. */
export function scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, options: ScaledDotProductAttentionOptions = {}): Tensor {
  const op = "scaledDotProductAttention";
  if (query.ndim < 2 || key.ndim < 2 || value.ndim < 2) fail(op, `query, key and value need at least 2 dims, got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`);
  const E = query.shape[query.ndim - 1];
  const L = query.shape[query.ndim - 2];
  const S = key.shape[key.ndim - 2];
  if (key.shape[key.ndim - 1] !== E) fail(op, `query of shape ${fmtShape(query.shape)} and key of shape ${fmtShape(key.shape)} must share the last dim`);
  if (value.shape[value.ndim - 2] !== S) fail(op, `key of shape ${fmtShape(key.shape)} and value of shape ${fmtShape(value.shape)} must have the same sequence length`);
  const attnMask = options.attnMask ?? null;
  if (options.isCausal && attnMask !== null) fail(op, "explicit attnMask should not be set when isCausal is true");
  const dropoutP = options.dropoutP ?? 0;
  if (!(dropoutP >= 0 && dropoutP <= 1)) fail(op, `dropoutP must be in [0, 1], got ${dropoutP}`);
  const scale = options.scale ?? 1 / Math.sqrt(E);
  let scores = query.matmul(key.transpose(-2, -1)).mul(scale);
  if (options.isCausal) scores = scores.maskedFill(causalMaskBool(L, S), -Infinity);
  if (attnMask !== null) scores = attnMask.dtype === "bool" ? scores.maskedFill(attnMask.logicalNot(), -Infinity) : scores.add(attnMask);
  let weights = softmax(scores, -1);
  if (dropoutP > 0) weights = dropout(weights, { p: dropoutP, training: true });
  return weights.matmul(value);
}

export interface MultiHeadAttentionOptions {
  /** [N, S] (or [S] unbatched): True / -inf-like float = this key is padding and is ignored. */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights (default true). */
  needWeights?: boolean;
  /** [L, S] or [N * numHeads, L, S]: bool True = not allowed, or float added to the scores. */
  attnMask?: Tensor | null;
  /** Average the returned weights over heads (default true): [N, L, S], else [N, numHeads, L, S]. */
  averageAttnWeights?: boolean;
  /**
   * Causal attention. In PyTorch this is only a hint that attnMask is the causal mask; here, when
   * no attnMask is given, the causal mask is built (a convenience); with one, attnMask is used.
   */
  isCausal?: boolean;
  /** Dropout on the attention weights (default 0). */
  dropoutP?: number;
  /** Apply dropout (default true, as in PyTorch's functional form). */
  training?: boolean;
  /** Separate projection weights ([E, E], [E, kdim], [E, vdim]) used when inProjWeight is null. */
  qProjWeight?: Tensor | null;
  kProjWeight?: Tensor | null;
  vProjWeight?: Tensor | null;
  /** [1, 1, E] learned key and value appended to the projected keys and values (PyTorch's add_bias_kv). */
  biasK?: Tensor | null;
  biasV?: Tensor | null;
  /** Append an all-zero key and value after the heads are split (PyTorch's add_zero_attn). */
  addZeroAttn?: boolean;
}

/** A bool mask (True = blocked) as an additive float mask, or a float mask unchanged. */
function additiveMask(mask: Tensor): Tensor {
  return mask.dtype === "bool" ? zeros(mask.shape.slice()).maskedFill(mask, -Infinity) : mask.float();
}

export interface MultiHeadAttentionForwardOptions extends Pick<MultiHeadAttentionOptions, "keyPaddingMask" | "needWeights" | "attnMask" | "averageAttnWeights" | "isCausal" | "training" | "qProjWeight" | "kProjWeight" | "vProjWeight"> {
  /** Use q/k/vProjWeight instead of inProjWeight (default false). */
  useSeparateProjWeight?: boolean;
}

/**
 * PyTorch's F.multi_head_attention_forward, with its positional parameters in its order.
 * query [L, N, E], key [S, N, kdim], value [S, N, vdim] (or unbatched [L, E], [S, kdim], [S, vdim]);
 * inProjWeight [3E, E] (or null with useSeparateProjWeight and q/k/vProjWeight), inProjBias [3E]
 * or null, biasK / biasV [1, 1, E] or null, outProjWeight [E, E], outProjBias [E] or null.
 * Returns [output [L, N, E], weights or null]. (static_k / static_v are not supported.)
 */
export function multiHeadAttentionForward(
  query: Tensor, key: Tensor, value: Tensor, embedDimToCheck: number, numHeads: number,
  inProjWeight: Tensor | null, inProjBias: Tensor | null, biasK: Tensor | null, biasV: Tensor | null,
  addZeroAttn: boolean, dropoutP: number, outProjWeight: Tensor, outProjBias: Tensor | null,
  options: MultiHeadAttentionForwardOptions = {},
): [Tensor, Tensor | null] {
  const embedDim = query.shape[query.ndim - 1];
  if (embedDim !== embedDimToCheck) fail("multiHeadAttentionForward", `was expecting embedding dimension of ${embedDimToCheck}, but got ${embedDim} (query of shape ${fmtShape(query.shape)})`);
  const separate = options.useSeparateProjWeight ?? false;
  if (!separate && inProjWeight === null) fail("multiHeadAttentionForward", "inProjWeight is required unless useSeparateProjWeight is true");
  return multiHeadAttention(query, key, value, numHeads, separate ? null : inProjWeight, inProjBias, outProjWeight, outProjBias, {
    ...options, biasK, biasV, addZeroAttn, dropoutP,
  });
}

/**
 * The attention behind nn.MultiheadAttention and F.multiHeadAttentionForward, with every
 * optional input in one options object (see multiHeadAttentionForward for the shapes).
 */
export function multiHeadAttention(
  query: Tensor, key: Tensor, value: Tensor, numHeads: number,
  inProjWeight: Tensor | null, inProjBias: Tensor | null, outProjWeight: Tensor, outProjBias: Tensor | null,
  options: MultiHeadAttentionOptions = {},
): [Tensor, Tensor | null] {
  const op = "multiHeadAttentionForward";
  const batched = query.ndim === 3;
  if (!((query.ndim === 3 && key.ndim === 3 && value.ndim === 3) || (query.ndim === 2 && key.ndim === 2 && value.ndim === 2))) {
    fail(op, `query, key and value must all be 3-D (batched) or all 2-D (unbatched), got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`);
  }
  let keyPaddingMask = options.keyPaddingMask ?? null;
  let attnMask = options.attnMask ?? null;
  if (!batched) {
    const [out, weights] = multiHeadAttention(query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1), numHeads, inProjWeight, inProjBias, outProjWeight, outProjBias, {
      ...options,
      keyPaddingMask: keyPaddingMask === null ? null : keyPaddingMask.unsqueeze(0),
      attnMask,
    });
    return [out.squeeze(1), weights === null ? null : weights.squeeze(0)];
  }
  const [L, N, E] = query.shape;
  const S = key.shape[0];
  if (!Number.isInteger(numHeads) || numHeads < 1 || E % numHeads !== 0) fail(op, `embedDim ${E} must be divisible by numHeads ${numHeads}`);
  if (key.shape[1] !== N || value.shape[1] !== N || value.shape[0] !== S) {
    fail(op, `key of shape ${fmtShape(key.shape)} and value of shape ${fmtShape(value.shape)} do not match query of shape ${fmtShape(query.shape)} (expected [S, ${N}, *] with equal S)`);
  }
  const headDim = E / numHeads;

  // Input projections: one matmul for self-attention with packed weights, else one per input.
  let q: Tensor, k: Tensor, v: Tensor;
  const biasPart = (i: number): Tensor | null => (inProjBias === null ? null : inProjBias.narrow(0, i * E, E));
  if (inProjWeight !== null) {
    if (inProjWeight.ndim !== 2 || inProjWeight.shape[0] !== 3 * E || inProjWeight.shape[1] !== E) fail(op, `in_proj_weight of shape ${fmtShape(inProjWeight.shape)} is not [${3 * E}, ${E}]`);
    if (key.shape[2] !== E || value.shape[2] !== E) fail(op, `key and value must have embedDim ${E} when in_proj_weight is packed, got ${fmtShape(key.shape)} and ${fmtShape(value.shape)}`);
    if (query === key && key === value) {
      [q, k, v] = linear(query, inProjWeight, inProjBias).chunk(3, -1);
    } else {
      q = linear(query, inProjWeight.narrow(0, 0, E), biasPart(0));
      k = linear(key, inProjWeight.narrow(0, E, E), biasPart(1));
      v = linear(value, inProjWeight.narrow(0, 2 * E, E), biasPart(2));
    }
  } else {
    const { qProjWeight, kProjWeight, vProjWeight } = options;
    if (!qProjWeight || !kProjWeight || !vProjWeight) fail(op, "qProjWeight, kProjWeight and vProjWeight are required when inProjWeight is null");
    q = linear(query, qProjWeight, biasPart(0));
    k = linear(key, kProjWeight, biasPart(1));
    v = linear(value, vProjWeight, biasPart(2));
  }

  // Extra key/value positions, always attendable (masks are padded with zeros for them).
  const biasK = options.biasK ?? null;
  const biasV = options.biasV ?? null;
  if ((biasK === null) !== (biasV === null)) fail(op, "biasK and biasV must be given together");
  if (biasK !== null && biasV !== null) {
    for (const b of [biasK, biasV]) if (b.numel() !== E) fail(op, `biasK / biasV must have ${E} elements (shape [1, 1, ${E}]), got ${fmtShape(b.shape)}`);
    k = cat([k, biasK.reshape([1, 1, E]).expand([1, N, E])], 0);
    v = cat([v, biasV.reshape([1, 1, E]).expand([1, N, E])], 0);
  }
  const extraKeys = (biasK !== null ? 1 : 0) + (options.addZeroAttn ? 1 : 0);

  // Masks -> one additive float mask broadcastable to [N * heads, L, S].
  if (options.isCausal && attnMask === null) attnMask = causalMaskBool(L, S);
  let mask: Tensor | null = null;
  if (attnMask !== null) {
    const ok = (attnMask.ndim === 2 && attnMask.shape[0] === L && attnMask.shape[1] === S) ||
      (attnMask.ndim === 3 && attnMask.shape[0] === N * numHeads && attnMask.shape[1] === L && attnMask.shape[2] === S);
    if (!ok) fail(op, `attnMask of shape ${fmtShape(attnMask.shape)} should be [${L}, ${S}] or [${N * numHeads}, ${L}, ${S}]`);
    mask = additiveMask(attnMask);
    if (mask.ndim === 2) mask = mask.unsqueeze(0);
  }
  if (keyPaddingMask !== null) {
    if (keyPaddingMask.ndim !== 2 || keyPaddingMask.shape[0] !== N || keyPaddingMask.shape[1] !== S) fail(op, `keyPaddingMask of shape ${fmtShape(keyPaddingMask.shape)} should be [${N}, ${S}]`);
    keyPaddingMask = additiveMask(keyPaddingMask).reshape([N, 1, 1, S]).expand([N, numHeads, 1, S]).reshape([N * numHeads, 1, S]);
    mask = mask === null ? keyPaddingMask : mask.add(keyPaddingMask);
  }

  if (mask !== null && extraKeys > 0) mask = cat([mask, zeros([...mask.shape.slice(0, -1), extraKeys])], -1);

  // [L, N, E] -> [N * heads, L, headDim]
  const heads = (t: Tensor): Tensor => t.reshape([t.shape[0], N * numHeads, headDim]).transpose(0, 1);
  const qh = heads(q).div(Math.sqrt(headDim));
  let kh = heads(k);
  let vh = heads(v);
  if (options.addZeroAttn) {
    kh = cat([kh, zeros([N * numHeads, 1, headDim])], 1);
    vh = cat([vh, zeros([N * numHeads, 1, headDim])], 1);
  }
  let scores = qh.bmm(kh.transpose(1, 2));
  if (mask !== null) scores = scores.add(mask);
  let weights = softmax(scores, -1);
  const dropoutP = options.dropoutP ?? 0;
  if (dropoutP > 0 && (options.training ?? true)) weights = dropout(weights, { p: dropoutP, training: true });
  const attended = weights.bmm(vh).transpose(0, 1).reshape([L, N, E]);
  const output = linear(attended, outProjWeight, outProjBias);
  if (!(options.needWeights ?? true)) return [output, null];
  let returned = weights.reshape([N, numHeads, L, S + extraKeys]);
  if (options.averageAttnWeights ?? true) returned = returned.mean(1);
  return [output, returned];
}
