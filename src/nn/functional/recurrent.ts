/**
 * The fused recurrence behind nn.RNN / nn.GRU / nn.LSTM, their cells and nn.LeakyRNN.
 *
 * Per-op overhead dominates small recurrent nets, so a whole layer-direction is ONE op on the tape:
 * the inputs of all time steps are projected with one matmul (`x W_ih^T + b_ih`, shape
 * [T, B, G*H]), by the caller or, given `weightIh`, by the backend inside this op, where the
 * projections then stay; this op hands the whole time loop to the backend (recurrenceForward: one
 * GEMM per step for all gates, `h W_hh^T` with the gates stacked as PyTorch stores them, then
 * the gate nonlinearities), and its backward is back-propagation through time on the backend
 * (recurrenceBackward, which also sums d b_hh), after which the weight gradients are one GEMM
 * each over all steps (dW_hh, dW_hr). The result is packed as [T + S, B, H]: rows 0..T-1 are the outputs, row T the final h,
 * row T+1 the final c (LSTM only). With an LSTM projection (weightHr [P, H]) h is P wide and
 * occupies the first P columns of its rows.
 *
 * Variable lengths: with `lengths[b]`, sequence b is valid for t < lengths[b]; at later steps its
 * state is carried unchanged and its output is zero (what pack_padded_sequence gives in
 * PyTorch), so the final state is the one after the sequence's last valid step, in both directions.
 *
 * Double backward through this op is not supported (its gradients are computed outside the tape).
 */
import { isGradEnabled } from "../../autograd/grad-mode.js";
import { backend } from "../../backend/registry.js";
import { gateCount, type RecurrenceSpec, type RecurrentCellKind } from "../../backend/recurrence.js";
import { fail, fmtShape } from "../../core/errors.js";
import { Layout } from "../../core/layout.js";
import { denseElements, record } from "../../ops/util.js";
import { Tensor } from "../../tensor/tensor.js";

export { gateCount, type RecurrentCellKind };

export interface FusedRecurrenceOptions {
  /** Initial cell state c0 [B, H] (LSTM only; zeros when omitted). */
  c0?: Tensor | null;
  /**
   * b_ih [G*H], added to xProj inside the op (then xProj is x W_ih^T alone): saves a pass over
   * [T, B, G*H] forward and a reduction over it backward.
   */
  biasIh?: Tensor | null;
  /** Valid length of each batch entry (each in [0, T]); all T when omitted. */
  lengths?: readonly number[] | null;
  /** Run the time loop from t = T-1 down to 0 (the reverse direction of a bidirectional layer). */
  reverse?: boolean;
  /**
   * LSTM with projections (PyTorch's proj_size): weight_hr [P, H] maps o * tanh(c) to the P-wide h
   * (then weightHh is [4H, P] and h0 [B, P]).
   */
  weightHr?: Tensor | null;
  /**
   * Leaky integration (rnn kinds only): h_t = (1 - leak) * h_{t-1} + leak * act(pre_t).
   * 1 (the default) is the plain Elman RNN.
   */
  leak?: number;
  /**
   * W_ih [G*H, I]: the first argument is then the layer input x [T, B, I] and the op projects it
   * (x W_ih^T) itself, where the time loop runs; its backward gives d x and d W_ih. On the wasm
   * backend this keeps the [T, B, G*H] projections and their gradients out of JavaScript memory.
   */
  weightIh?: Tensor | null;
}

function wrap(values: Float32Array, shape: number[]): Tensor {
  return new Tensor(values, Layout.contiguous(shape), "float32");
}

function checkState(op: string, name: string, t: Tensor, batch: number, hidden: number): void {
  if (t.ndim !== 2 || t.shape[0] !== batch || t.shape[1] !== hidden) fail(op, `expected ${name} of shape [${batch}, ${hidden}], got ${fmtShape(t.shape)}`);
}

/**
 * Runs one layer-direction of a recurrent net over a whole sequence.
 * x: the input projection xProj [T, B, G*H] (incl. b_ih unless options.biasIh), or with
 * options.weightIh the layer input [T, B, I]; weightHh [G*H, P], biasHh [G*H] or null,
 * h0 [B, P], where P = H unless an LSTM projection weightHr [P, H] is given.
 * Returns the packed [T + S, B, H] tensor described above.
 */
export function fusedRecurrence(kind: RecurrentCellKind, x: Tensor, weightHh: Tensor, biasHh: Tensor | null, h0: Tensor, options: FusedRecurrenceOptions = {}): Tensor {
  const op = "fusedRecurrence";
  const gates = gateCount(kind);
  const isLstm = kind === "lstm";
  const weightHr = isLstm ? options.weightHr ?? null : null;
  if (options.weightHr && !isLstm) fail(op, "weightHr (projections) is only supported for LSTM");
  if (weightHh.ndim !== 2 || weightHh.shape[0] % gates !== 0) fail(op, `weight_hh of shape ${fmtShape(weightHh.shape)} is not [${gates} * hidden, *]`);
  const H = weightHh.shape[0] / gates;
  const P = weightHh.shape[1]; // width of h: H, or the projection size
  if (weightHr === null && P !== H) fail(op, `weight_hh of shape ${fmtShape(weightHh.shape)} is not [${gates} * hidden, hidden]`);
  if (weightHr !== null && (weightHr.ndim !== 2 || weightHr.shape[0] !== P || weightHr.shape[1] !== H)) fail(op, `weight_hr of shape ${fmtShape(weightHr.shape)} is not [${P}, ${H}]`);
  const GH = gates * H;
  const weightIh = options.weightIh ?? null;
  if (weightIh !== null && (weightIh.ndim !== 2 || weightIh.shape[0] !== GH)) fail(op, `weight_ih of shape ${fmtShape(weightIh.shape)} is not [${GH}, input size]`);
  const inputSize = weightIh === null ? 0 : weightIh.shape[1];
  if (weightIh === null && (x.ndim !== 3 || x.shape[2] !== GH)) fail(op, `input projection of shape ${fmtShape(x.shape)} is not [T, B, ${GH}]`);
  if (weightIh !== null && (x.ndim !== 3 || x.shape[2] !== inputSize)) fail(op, `input of shape ${fmtShape(x.shape)} is not [T, B, ${inputSize}] (weight_ih is ${fmtShape(weightIh.shape)})`);
  const [T, B] = x.shape;
  if (biasHh !== null && (biasHh.ndim !== 1 || biasHh.shape[0] !== GH)) fail(op, `bias_hh of shape ${fmtShape(biasHh.shape)} is not [${GH}]`);
  const biasIh = options.biasIh ?? null;
  if (biasIh !== null && (biasIh.ndim !== 1 || biasIh.shape[0] !== GH)) fail(op, `bias_ih of shape ${fmtShape(biasIh.shape)} is not [${GH}]`);
  checkState(op, "h0", h0, B, P);
  const c0 = isLstm ? options.c0 ?? null : null;
  if (c0 !== null) checkState(op, "c0", c0, B, H);
  const lengths = options.lengths ?? null;
  if (lengths !== null) {
    if (lengths.length !== B) fail(op, `expected ${B} lengths (one per batch entry), got ${lengths.length}`);
    for (const len of lengths) if (!Number.isInteger(len) || len < 0 || len > T) fail(op, `lengths must be integers in [0, ${T}], got ${len}`);
  }
  const leak = options.leak ?? 1;
  if (!(leak > 0 && leak <= 1)) fail(op, `leak (dt) must be in (0, 1], got ${leak}`);
  const stateRows = isLstm ? 2 : 1;

  const spec: RecurrenceSpec = {
    kind,
    steps: T,
    batch: B,
    hidden: H,
    stateSize: P,
    reverse: options.reverse ?? false,
    leak,
    lengths: lengths === null ? new Int32Array(B).fill(T) : Int32Array.from(lengths),
    inputSize,
  };
  const optional = (t: Tensor | null): Tensor[] => (t === null ? [] : [t]);
  const inputs = [x, weightHh, ...optional(biasHh), h0, ...optional(c0), ...optional(weightHr), ...optional(biasIh), ...optional(weightIh)];
  const saving = isGradEnabled() && inputs.some((input) => input.requiresGrad);
  const weights = { weightHh: denseElements(weightHh), weightHr: weightHr === null ? null : denseElements(weightHr), weightIh: weightIh === null ? null : denseElements(weightIh) };
  // The backend that saved the tensors frees them (backward runs on whichever is current then).
  const forwardBackend = backend();
  const { output, saved } = forwardBackend.recurrenceForward(
    spec,
    { x: denseElements(x), biasIh: biasIh === null ? null : denseElements(biasIh), biasHh: biasHh === null ? null : denseElements(biasHh), h0: denseElements(h0), c0: c0 === null ? null : denseElements(c0), ...weights },
    saving,
  );

  const result = wrap(output, [T + stateRows, B, H]);
  const wants = (t: Tensor | null): boolean => t !== null && t.requiresGrad;
  return record(kind, result, inputs, (gradOut) => {
    // The backend also sums the weight gradients over all steps (and d b_hh as it goes).
    const wanted = { weights: wants(weightHh) || wants(weightHr) || wants(weightIh), input: wants(x) };
    const grads = backend().recurrenceBackward(spec, weights, saved, denseElements(gradOut), wanted);
    const dInput = weightIh === null ? wrap(grads.dGatesX, [T, B, GH]) : wanted.input ? wrap(grads.dInput!, [T, B, inputSize]) : null;
    // One entry for an optional input that was given: its gradient, or null when it needs none.
    const gradIf = (t: Tensor | null, values: () => Float32Array | null, shape: number[]): (Tensor | null)[] => (t === null ? [] : [t.requiresGrad ? wrap(values()!, shape) : null]);
    return [
      dInput,
      wants(weightHh) ? wrap(grads.dWeightHh!, [GH, P]) : null,
      ...gradIf(biasHh, () => grads.dBiasHh, [GH]),
      wrap(grads.dh0, [B, P]),
      ...(c0 === null ? [] : [wrap(grads.dc0, [B, H])]),
      ...gradIf(weightHr, () => grads.dWeightHr, [P, H]),
      ...gradIf(biasIh, () => grads.dBiasIh, [GH]),
      ...gradIf(weightIh, () => grads.dWeightIh, [GH, inputSize]),
    ];
  }, () => forwardBackend.recurrenceRelease(saved));
}
