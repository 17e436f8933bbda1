// The teacher-forced GRU decoder with additive (Bahdanau) attention of the lectures' translator,
// as one node on the tape when the backend runs it whole (wasm), else as the composite of
// recorded ops it stands for (one attention, one linear layer and one GRU step per time step).
import { isGradEnabled } from "../../autograd/grad-mode.js";
import type { AttentionDecoderProblem } from "../../backend/recurrence.js";
import { backend } from "../../backend/registry.js";
import { fail, fmtShape } from "../../core/errors.js";
import { stack } from "../../ops/shape.js";
import { denseElements, fromStorage, record } from "../../ops/util.js";
import type { Tensor } from "../../tensor/tensor.js";
import { additiveAttentionProjected } from "./additive-attention.js";
import { linear } from "./linear.js";
import { fusedRecurrence } from "./recurrent.js";

/** The decoder's weights: attention's W_q [H, H] and v [H], and the GRU cell's, W_ih split into the embedding's half (applied by the caller) and the context's, W_c [3H, H]. */
export interface AttentionDecoderWeights {
  weightQuery: Tensor;
  v: Tensor;
  weightContext: Tensor;
  weightHh: Tensor;
  biasIh: Tensor;
  biasHh: Tensor;
}

export interface AttentionGruDecoderOptions {
  /** Bool [B, S], true at padding source positions; default none. */
  keyPaddingMask?: Tensor | null;
  /**
   * The steps each row runs (each in [0, T]; all T when omitted). Past its length a row's state
   * is carried and its output is zero, as for a recurrence with lengths, so its gradient there
   * is ignored. Rows sorted by decreasing length let the backend skip the finished rows' work.
   */
  lengths?: readonly number[] | null;
}

/**
 * Runs the decoder over T teacher-forced steps: per step, with h the state entering it,
 * q = h W_q^T, context = additive attention of q over `keys` with `values` (-inf at
 * `keyPaddingMask`), x = inputs[t] + context W_c^T + b_ih, h = GRU(x, h; W_hh, b_hh).
 * inputs [T, B, 3H] (the embeddings' part of the input projection, W_e e_t), h0 [B, H], keys and
 * values [B, S, H] -> the states [T, B, H] (zero past a row's `lengths`).
 */
export function attentionGruDecoder(inputs: Tensor, h0: Tensor, keys: Tensor, values: Tensor, w: AttentionDecoderWeights, options: AttentionGruDecoderOptions = {}): Tensor {
  const op = "attentionGruDecoder";
  const keyPaddingMask = options.keyPaddingMask ?? null;
  if (h0.ndim !== 2) fail(op, `h0 must be [B, H], got ${fmtShape(h0.shape)}`);
  const [B, H] = h0.shape;
  if (inputs.ndim !== 3 || inputs.shape[1] !== B || inputs.shape[2] !== 3 * H) fail(op, `inputs must be [T, ${B}, ${3 * H}] for h0 ${fmtShape(h0.shape)}, got ${fmtShape(inputs.shape)}`);
  const T = inputs.shape[0];
  if (keys.ndim !== 3 || keys.shape[0] !== B || keys.shape[2] !== H) fail(op, `keys must be [${B}, S, ${H}], got ${fmtShape(keys.shape)}`);
  const S = keys.shape[1];
  if (values.ndim !== 3 || values.shape[0] !== B || values.shape[1] !== S || values.shape[2] !== H) fail(op, `values must be [${B}, ${S}, ${H}], got ${fmtShape(values.shape)}`);
  const expected: [keyof AttentionDecoderWeights, number[]][] = [["weightQuery", [H, H]], ["v", [H]], ["weightContext", [3 * H, H]], ["weightHh", [3 * H, H]], ["biasIh", [3 * H]], ["biasHh", [3 * H]]];
  for (const [name, shape] of expected) {
    const t = w[name];
    if (t.ndim !== shape.length || t.shape.some((d, i) => d !== shape[i])) fail(op, `${name} must be ${fmtShape(shape)}, got ${fmtShape(t.shape)}`);
  }
  const lengths = options.lengths ?? null;
  if (lengths !== null) {
    if (lengths.length !== B) fail(op, `expected ${B} lengths (one per batch row), got ${lengths.length}`);
    for (const len of lengths) if (!Number.isInteger(len) || len < 0 || len > T) fail(op, `lengths must be integers in [0, ${T}], got ${len}`);
  }
  const be = backend();
  if (be.attentionDecoderForward === undefined || T === 0) return composite(inputs, h0, keys, values, w, options);
  const problem: AttentionDecoderProblem = {
    steps: T, batch: B, keys: S, hidden: H,
    inputs: denseElements(inputs), h0: denseElements(h0), keyStates: denseElements(keys), values: denseElements(values),
    mask: keyPaddingMask === null ? null : (keyPaddingMask.data() as Uint8Array),
    lengths: lengths === null ? new Int32Array(B).fill(T) : Int32Array.from(lengths),
    weightQuery: denseElements(w.weightQuery), v: denseElements(w.v), weightContext: denseElements(w.weightContext),
    weightHh: denseElements(w.weightHh), biasIh: denseElements(w.biasIh), biasHh: denseElements(w.biasHh),
  };
  const ordered = [inputs, h0, keys, values, w.weightQuery, w.v, w.weightContext, w.weightHh, w.biasIh, w.biasHh];
  const { output, saved } = be.attentionDecoderForward(problem);
  if (!isGradEnabled() || !ordered.some((t) => t.requiresGrad)) be.attentionDecoderRelease!(saved);
  const all = record(op, fromStorage(output, [T + 1, B, H], "float32"), ordered, (g) => {
    const grads = be.attentionDecoderBackward!(problem, saved, denseElements(g));
    const values = [grads.inputs, grads.h0, grads.keyStates, grads.values, grads.weightQuery, grads.v, grads.weightContext, grads.weightHh, grads.biasIh, grads.biasHh];
    return values.map((v, i) => (ordered[i].requiresGrad ? fromStorage(v, ordered[i].shape, "float32") : null));
  }, () => be.attentionDecoderRelease!(saved));
  return all.narrow(0, 0, T);
}

/**
 * The same decoder as recorded ops, one time step at a time. With lengths, each step is a
 * one-step recurrence whose rows past their length have length 0 there: their state is carried
 * and their output is zero.
 */
export function composite(inputs: Tensor, h0: Tensor, keys: Tensor, values: Tensor, w: AttentionDecoderWeights, options: AttentionGruDecoderOptions = {}): Tensor {
  const lengths = options.lengths ?? null;
  let state = h0;
  const outputs: Tensor[] = [];
  for (let t = 0; t < inputs.shape[0]; t++) {
    const query = linear(state, w.weightQuery).unsqueeze(1);
    const [context] = additiveAttentionProjected(query, keys, w.v, values, { keyPaddingMask: options.keyPaddingMask });
    const x = inputs.select(0, t).add(linear(context.squeeze(1), w.weightContext));
    const stepLengths = lengths === null ? null : lengths.map((len) => (t < len ? 1 : 0));
    const step = fusedRecurrence("gru", x.unsqueeze(0), w.weightHh, w.biasHh, state, { biasIh: w.biasIh, lengths: stepLengths });
    state = step.select(0, 1);
    outputs.push(step.select(0, 0));
  }
  return stack(outputs, 0);
}
