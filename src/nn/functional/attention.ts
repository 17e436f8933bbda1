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
import { isGradEnabled } from "../../autograd/grad-mode.js";
import type { AttentionSpec } from "../../backend/backend.js";
import { backend } from "../../backend/registry.js";
import { fail, fmtShape } from "../../core/errors.js";
import { Layout } from "../../core/layout.js";
import { record } from "../../ops/util.js";
import { cat } from "../../ops/shape.js";
import { tensor, zeros } from "../../tensor/creation.js";
import { Tensor } from "../../tensor/tensor.js";
import { softmax } from "./activation.js";
import { dropout, linear } from "./linear.js";

/** A [L, S] bool mask, True above the diagonal (the future positions a causal model may not see). */
export function causalMaskBool(targetLength: number, sourceLength: number): Tensor {
  // Written directly: built from tensor ops (two cumsums and a comparison) it cost hundreds of tiny ops.
  const blocked = new Uint8Array(targetLength * sourceLength);
  for (let i = 0; i < targetLength; i++) blocked.fill(1, i * sourceLength + Math.min(i + 1, sourceLength), (i + 1) * sourceLength);
  return tensor(blocked, { dtype: "bool" }).reshape([targetLength, sourceLength]);
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
  if (dropoutP === 0) {
    const fused = fusedScaledDotProductAttention(query, key, value, attnMask, options.isCausal ?? false, scale);
    if (fused !== null) return fused;
  }
  let scores = query.matmul(key.transpose(-2, -1)).mul(scale);
  if (options.isCausal) scores = scores.maskedFill(causalMaskBool(L, S), -Infinity);
  if (attnMask !== null) scores = attnMask.dtype === "bool" ? scores.maskedFill(attnMask.logicalNot(), -Infinity) : scores.add(attnMask);
  let weights = softmax(scores, -1);
  if (dropoutP > 0) weights = dropout(weights, { p: dropoutP, training: true });
  return weights.matmul(value);
}

/**
 * q, k or v of the fused attention op: a [B1, B2, rows, features] view of one of its source
 * tensors, `data` into the source's storage and `grad` into its dense gradient.
 */
interface FusedOperand {
  source: number;
  data: Layout;
  grad: Layout;
}

/**
 * Fused attention as ONE op on the tape (backend attentionForward / attentionBackward): the
 * weights stay out of the graph (only they are saved for backward) and q, k and v are read and
 * their gradients written through views, so a packed [.., 3E] projection needs no head-split
 * copies and gets one gradient buffer. Operands sharing a source must not overlap; the mask
 * (float32, [B1, B2, L, S], no gradient) is added to the scaled scores. The result has
 * `outLayout`. Double backward through it is not supported (its gradients are computed off the tape).
 */
function fusedAttention(sources: Tensor[], operands: readonly [FusedOperand, FusedOperand, FusedOperand], mask: Tensor | null, scale: number, causal: boolean, outLayout: Layout): Tensor {
  const input = (o: FusedOperand) => ({ storage: sources[o.source].storage, layout: o.data });
  const spec: AttentionSpec = {
    q: input(operands[0]), k: input(operands[1]), v: input(operands[2]),
    mask: mask === null ? null : { storage: mask.storage, layout: mask.layout },
    scale, causal,
  };
  const save = isGradEnabled() && sources.some((s) => s.requiresGrad);
  const { output, weights } = backend().attentionForward(spec, outLayout, save);
  return record("scaledDotProductAttention", new Tensor(output, outLayout, "float32"), sources, (g) => {
    const targets = operands.map((o) => (sources[o.source].requiresGrad ? { buffer: o.source, layout: o.grad } : null));
    const sizes = sources.map((s) => (s.requiresGrad ? s.numel() : 0));
    const grads = backend().attentionBackward(spec, weights!, { storage: g.storage, layout: g.layout }, sizes, targets);
    return sources.map((s, i) => (s.requiresGrad ? new Tensor(grads[i], Layout.contiguous(s.shape), "float32") : null));
  });
}

/**
 * scaledDotProductAttention on the fused op when it can take it (float32 q, k and v with equal
 * batch dims, a mask without gradient); null leaves it to the composite.
 */
function fusedScaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, attnMask: Tensor | null, causal: boolean, scale: number): Tensor | null {
  const nb = query.ndim - 2;
  if (key.ndim !== query.ndim || value.ndim !== query.ndim) return null;
  if (![query, key, value].every((t) => t.dtype === "float32" && t.numel() > 0)) return null;
  const batch = query.shape.slice(0, nb);
  if ([key, value].some((t) => t.shape.slice(0, nb).some((d, i) => d !== batch[i]))) return null;
  const B2 = nb === 0 ? 1 : batch[nb - 1];
  const B1 = batch.slice(0, -1).reduce((a, b) => a * b, 1);
  const [L, S] = [query.shape[nb], key.shape[nb]];
  const operands: FusedOperand[] = [];
  for (const [i, t] of [query, key, value].entries()) {
    const shape = [B1, B2, t.shape[nb], t.shape[nb + 1]];
    const data = t.layout.view(shape);
    if (data === null) return null;
    operands.push({ source: i, data, grad: Layout.contiguous(shape) });
  }
  let mask: Tensor | null = null;
  if (attnMask !== null) {
    if (attnMask.requiresGrad || attnMask.ndim > nb + 2) return null;
    const full = [...batch, L, S];
    const lead = full.length - attnMask.ndim;
    if (attnMask.shape.some((d, i) => d !== 1 && d !== full[lead + i])) return null;
    const additive = attnMask.dtype === "bool" ? zeros(attnMask.shape.slice()).maskedFill(attnMask.logicalNot(), -Infinity) : attnMask.float();
    const expanded = additive.expand(full);
    const layout = expanded.layout.view([B1, B2, L, S]);
    mask = layout !== null ? new Tensor(expanded.storage, layout, "float32") : expanded.contiguous().reshape([B1, B2, L, S]);
  }
  const out = fusedAttention([query, key, value], operands as [FusedOperand, FusedOperand, FusedOperand], mask, scale, causal, Layout.contiguous([B1, B2, L, value.shape[nb + 1]]));
  return out.reshape([...batch, L, value.shape[nb + 1]]);
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
  return multiHeadAttentionIn(query, key, value, numHeads, inProjWeight, inProjBias, outProjWeight, outProjBias, options, false);
}

/**
 * multiHeadAttention with batched query, key, value and output in [N, L, E] order (nn.MultiheadAttention
 * with batchFirst): the fused path reads and writes that order directly, without transposed copies.
 */
export function multiHeadAttentionBatchFirst(
  query: Tensor, key: Tensor, value: Tensor, numHeads: number,
  inProjWeight: Tensor | null, inProjBias: Tensor | null, outProjWeight: Tensor, outProjBias: Tensor | null,
  options: MultiHeadAttentionOptions = {},
): [Tensor, Tensor | null] {
  return multiHeadAttentionIn(query, key, value, numHeads, inProjWeight, inProjBias, outProjWeight, outProjBias, options, query.ndim === 3);
}

function multiHeadAttentionIn(
  query: Tensor, key: Tensor, value: Tensor, numHeads: number,
  inProjWeight: Tensor | null, inProjBias: Tensor | null, outProjWeight: Tensor, outProjBias: Tensor | null,
  options: MultiHeadAttentionOptions, batchFirst: boolean,
): [Tensor, Tensor | null] {
  const op = "multiHeadAttentionForward";
  const batched = query.ndim === 3;
  if (!((query.ndim === 3 && key.ndim === 3 && value.ndim === 3) || (query.ndim === 2 && key.ndim === 2 && value.ndim === 2))) {
    fail(op, `query, key and value must all be 3-D (batched) or all 2-D (unbatched), got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`);
  }
  let keyPaddingMask = options.keyPaddingMask ?? null;
  let attnMask = options.attnMask ?? null;
  if (!batched) {
    const [out, weights] = multiHeadAttentionIn(query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1), numHeads, inProjWeight, inProjBias, outProjWeight, outProjBias, {
      ...options,
      keyPaddingMask: keyPaddingMask === null ? null : keyPaddingMask.unsqueeze(0),
      attnMask,
    }, false);
    return [out.squeeze(1), weights === null ? null : weights.squeeze(0)];
  }
  const selfAttention = query === key && key === value;
  const seqDim = batchFirst ? 1 : 0;
  const [L, N, E] = [query.shape[seqDim], query.shape[1 - seqDim], query.shape[2]];
  const S = key.shape[seqDim];
  if (!Number.isInteger(numHeads) || numHeads < 1 || E % numHeads !== 0) fail(op, `embedDim ${E} must be divisible by numHeads ${numHeads}`);
  if (key.shape[1 - seqDim] !== N || value.shape[1 - seqDim] !== N || value.shape[seqDim] !== S) {
    const expected = batchFirst ? `[${N}, S, *]` : `[S, ${N}, *]`;
    fail(op, `key of shape ${fmtShape(key.shape)} and value of shape ${fmtShape(value.shape)} do not match query of shape ${fmtShape(query.shape)} (expected ${expected} with equal S)`);
  }
  const headDim = E / numHeads;
  if (inProjWeight !== null) {
    if (inProjWeight.ndim !== 2 || inProjWeight.shape[0] !== 3 * E || inProjWeight.shape[1] !== E) fail(op, `in_proj_weight of shape ${fmtShape(inProjWeight.shape)} is not [${3 * E}, ${E}]`);
    if (key.shape[2] !== E || value.shape[2] !== E) fail(op, `key and value must have embedDim ${E} when in_proj_weight is packed, got ${fmtShape(key.shape)} and ${fmtShape(value.shape)}`);
  } else {
    const { qProjWeight, kProjWeight, vProjWeight } = options;
    if (!qProjWeight || !kProjWeight || !vProjWeight) fail(op, "qProjWeight, kProjWeight and vProjWeight are required when inProjWeight is null");
  }
  const biasK = options.biasK ?? null;
  const biasV = options.biasV ?? null;
  if ((biasK === null) !== (biasV === null)) fail(op, "biasK and biasV must be given together");
  if (attnMask !== null) {
    const ok = (attnMask.ndim === 2 && attnMask.shape[0] === L && attnMask.shape[1] === S) ||
      (attnMask.ndim === 3 && attnMask.shape[0] === N * numHeads && attnMask.shape[1] === L && attnMask.shape[2] === S);
    if (!ok) fail(op, `attnMask of shape ${fmtShape(attnMask.shape)} should be [${L}, ${S}] or [${N * numHeads}, ${L}, ${S}]`);
  }
  if (keyPaddingMask !== null && (keyPaddingMask.ndim !== 2 || keyPaddingMask.shape[0] !== N || keyPaddingMask.shape[1] !== S)) {
    fail(op, `keyPaddingMask of shape ${fmtShape(keyPaddingMask.shape)} should be [${N}, ${S}]`);
  }

  // The fused op covers the common case: no dropout, no extra keys, no weights returned.
  const dropoutP = options.dropoutP ?? 0;
  const dropping = dropoutP > 0 && (options.training ?? true);
  const floats = [query, key, value, outProjWeight, ...(inProjWeight === null ? [options.qProjWeight!, options.kProjWeight!, options.vProjWeight!] : [inProjWeight])].every((t) => t.dtype === "float32");
  if (!dropping && floats && biasK === null && !options.addZeroAttn && !(options.needWeights ?? true) &&
      !(attnMask?.requiresGrad ?? false) && !(keyPaddingMask?.requiresGrad ?? false) && N * L * S > 0) {
    // isCausal without attnMask is the kernel's causal flag (no mask tensor).
    const causal = options.isCausal === true && attnMask === null;
    const mask = fusedHeadMask(attnMask, keyPaddingMask, N, numHeads, L, S);
    return [fusedMultiHeadAttention(query, key, value, selfAttention, numHeads, inProjWeight, inProjBias, outProjWeight, outProjBias, options, mask, causal, batchFirst), null];
  }
  if (batchFirst) {
    // The composite works in [L, N, E]: transpose in (keeping q === k === v) and the output back.
    const q = query.transpose(0, 1);
    const k = key === query ? q : key.transpose(0, 1);
    const v = value === key ? k : value.transpose(0, 1);
    const [out, weights] = multiHeadAttentionIn(q, k, v, numHeads, inProjWeight, inProjBias, outProjWeight, outProjBias, options, false);
    return [out.transpose(0, 1), weights];
  }
  if (options.isCausal && attnMask === null) attnMask = causalMaskBool(L, S);

  // Input projections: one matmul for self-attention with packed weights, else one per input.
  let q: Tensor, k: Tensor, v: Tensor;
  const biasPart = (i: number): Tensor | null => (inProjBias === null ? null : inProjBias.narrow(0, i * E, E));
  if (inProjWeight !== null) {
    if (selfAttention) {
      [q, k, v] = linear(query, inProjWeight, inProjBias).chunk(3, -1);
    } else {
      q = linear(query, inProjWeight.narrow(0, 0, E), biasPart(0));
      k = linear(key, inProjWeight.narrow(0, E, E), biasPart(1));
      v = linear(value, inProjWeight.narrow(0, 2 * E, E), biasPart(2));
    }
  } else {
    q = linear(query, options.qProjWeight!, biasPart(0));
    k = linear(key, options.kProjWeight!, biasPart(1));
    v = linear(value, options.vProjWeight!, biasPart(2));
  }

  // Extra key/value positions, always attendable (masks are padded with zeros for them).
  if (biasK !== null && biasV !== null) {
    for (const b of [biasK, biasV]) if (b.numel() !== E) fail(op, `biasK / biasV must have ${E} elements (shape [1, 1, ${E}]), got ${fmtShape(b.shape)}`);
    k = cat([k, biasK.reshape([1, 1, E]).expand([1, N, E])], 0);
    v = cat([v, biasV.reshape([1, 1, E]).expand([1, N, E])], 0);
  }
  const extraKeys = (biasK !== null ? 1 : 0) + (options.addZeroAttn ? 1 : 0);

  // Masks -> one additive float mask broadcastable to [N * heads, L, S].
  let mask: Tensor | null = null;
  if (attnMask !== null) {
    mask = additiveMask(attnMask);
    if (mask.ndim === 2) mask = mask.unsqueeze(0);
  }
  if (keyPaddingMask !== null) {
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
  if (dropping) weights = dropout(weights, { p: dropoutP, training: true });
  const attended = weights.bmm(vh).transpose(0, 1).reshape([L, N, E]);
  const output = linear(attended, outProjWeight, outProjBias);
  if (!(options.needWeights ?? true)) return [output, null];
  let returned = weights.reshape([N, numHeads, L, S + extraKeys]);
  if (options.averageAttnWeights ?? true) returned = returned.mean(1);
  return [output, returned];
}

/** The attention and key padding masks (already checked) as one additive float mask viewed as [N, heads, L, S], or null. */
function fusedHeadMask(attnMask: Tensor | null, keyPaddingMask: Tensor | null, N: number, heads: number, L: number, S: number): Tensor | null {
  let mask: Tensor | null = null;
  if (attnMask !== null) mask = additiveMask(attnMask).reshape(attnMask.ndim === 2 ? [1, 1, L, S] : [N, heads, L, S]);
  if (keyPaddingMask !== null) {
    const padding = additiveMask(keyPaddingMask).reshape([N, 1, 1, S]);
    mask = mask === null ? padding : mask.add(padding);
  }
  return mask === null ? null : mask.expand([N, heads, L, S]);
}

/**
 * The fused path of multiHeadAttention: projections, then the fused op reading q, k and v as
 * [N, heads, rows, headDim] views of the projections (of the one packed projection for
 * self-attention) and writing its output straight in the [L, N, E] (or [N, L, E]) order the
 * output projection reads.
 */
function fusedMultiHeadAttention(
  query: Tensor, key: Tensor, value: Tensor, selfAttention: boolean, numHeads: number,
  inProjWeight: Tensor | null, inProjBias: Tensor | null, outProjWeight: Tensor, outProjBias: Tensor | null,
  options: MultiHeadAttentionOptions, mask: Tensor | null, causal: boolean, batchFirst: boolean,
): Tensor {
  const seqDim = batchFirst ? 1 : 0;
  const [L, N, E] = [query.shape[seqDim], query.shape[1 - seqDim], query.shape[2]];
  const headDim = E / numHeads;
  const biasPart = (i: number): Tensor | null => (inProjBias === null ? null : inProjBias.narrow(0, i * E, E));
  let sources: Tensor[];
  let parts: number[];
  if (inProjWeight !== null && selfAttention) {
    sources = [linear(query, inProjWeight, inProjBias)];
    parts = [0, 1, 2];
  } else {
    const weight = (i: number): Tensor => (inProjWeight !== null ? inProjWeight.narrow(0, i * E, E) : [options.qProjWeight!, options.kProjWeight!, options.vProjWeight!][i]);
    sources = [query, key, value].map((t, i) => linear(t, weight(i), biasPart(i)));
    parts = [0, 0, 0];
  }
  // Columns part*E .. part*E+E of a [L, N, W] (or [N, L, W]) layout, split into heads: [N, heads, L, headDim].
  const heads = (l: Layout, part: number): Layout => {
    const cols = l.narrow(2, part * E, E);
    const split = new Layout([cols.shape[0], cols.shape[1], numHeads, headDim], [cols.strides[0], cols.strides[1], headDim * cols.strides[2], cols.strides[2]], cols.offset);
    return split.permute(batchFirst ? [0, 2, 1, 3] : [1, 2, 0, 3]);
  };
  const operands = parts.map((part, i) => {
    const source = sources.length === 1 ? 0 : i;
    return { source, data: heads(sources[source].layout, part), grad: heads(Layout.contiguous(sources[source].shape), part) };
  }) as [FusedOperand, FusedOperand, FusedOperand];
  const order = batchFirst ? [0, 2, 1, 3] : [1, 2, 0, 3];
  const memory = batchFirst ? [N, L, numHeads, headDim] : [L, N, numHeads, headDim];
  const attended = fusedAttention(sources, operands, mask, 1 / Math.sqrt(headDim), causal, Layout.contiguous(memory).permute(order));
  // Back to memory order: a view of the dense output.
  const back = batchFirst ? [0, 2, 1, 3] : [2, 0, 1, 3];
  return linear(attended.permute(back).reshape(batchFirst ? [N, L, E] : [L, N, E]), outProjWeight, outProjBias);
}
