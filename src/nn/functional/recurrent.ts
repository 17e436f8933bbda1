/**
 * The fused recurrence behind nn.RNN / nn.GRU / nn.LSTM, their cells and nn.LeakyRNN.
 *
 * Per-op overhead dominates small recurrent nets, so a whole layer-direction is ONE op on the tape:
 * the caller projects the inputs of all time steps with one matmul (`x W_ih^T + b_ih`, shape
 * [T, B, G*H]); this op then runs the time loop with one matmul per step for all gates
 * (`h W_hh^T`, gates stacked as PyTorch stores them) and a plain loop for the gate nonlinearities,
 * and its backward is hand-written back-propagation through time, ending in a single GEMM for
 * dW_hh. The result is packed as [T + S, B, H]: rows 0..T-1 are the outputs, row T the final h,
 * row T+1 the final c (LSTM only). With an LSTM projection (weightHr [P, H]) h is P wide and
 * occupies the first P columns of its rows.
 *
 * Variable lengths: with `lengths[b]`, sequence b is valid for t < lengths[b]; at later steps its
 * state is carried unchanged and its output is zero (what pack_padded_sequence gives in
 * PyTorch), so the final state is the one after the sequence's last valid step, in both directions.
 *
 * Double backward through this op is not supported (its gradients are computed outside the tape).
 */
import { isGradEnabled, noGrad } from "../../autograd/grad-mode.js";
import { fail, fmtShape } from "../../core/errors.js";
import { Layout } from "../../core/layout.js";
import { record } from "../../ops/util.js";
import { Tensor } from "../../tensor/tensor.js";

/** The recurrent cell: gate count G is 1 (rnn), 3 (gru) or 4 (lstm). */
export type RecurrentCellKind = "rnn_tanh" | "rnn_relu" | "gru" | "lstm";

export interface FusedRecurrenceOptions {
  /** Initial cell state c0 [B, H] (LSTM only; zeros when omitted). */
  c0?: Tensor | null;
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
}

export function gateCount(kind: RecurrentCellKind): number {
  return kind === "lstm" ? 4 : kind === "gru" ? 3 : 1;
}

/** The elements of a float32 tensor as a dense row-major array (no copy when already dense). */
function dense(t: Tensor): Float32Array {
  const storage = t.storage as Float32Array;
  if (t.isContiguous() && t.layout.offset === 0 && storage.length === t.numel()) return storage;
  return t.data() as Float32Array;
}

function wrap(values: Float32Array, shape: number[]): Tensor {
  return new Tensor(values, Layout.contiguous(shape), "float32");
}

/** values [rows, n] @ weightT where weight is [n, m] viewed transposed: values @ weight^T -> [rows, m]. */
function matmulWeightT(values: Float32Array, rows: number, weight: Tensor): Float32Array {
  return dense(wrap(values, [rows, weight.shape[1]]).mm(weight.t()));
}

function matmulWeight(values: Float32Array, rows: number, weight: Tensor): Float32Array {
  return dense(wrap(values, [rows, weight.shape[0]]).mm(weight));
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function checkState(op: string, name: string, t: Tensor, batch: number, hidden: number): void {
  if (t.ndim !== 2 || t.shape[0] !== batch || t.shape[1] !== hidden) fail(op, `expected ${name} of shape [${batch}, ${hidden}], got ${fmtShape(t.shape)}`);
}

/**
 * Runs one layer-direction of a recurrent net over a whole sequence.
 * xProj [T, B, G*H] (input projection incl. b_ih), weightHh [G*H, P], biasHh [G*H] or null,
 * h0 [B, P], where P = H unless an LSTM projection weightHr [P, H] is given.
 * Returns the packed [T + S, B, H] tensor described above.
 */
export function fusedRecurrence(kind: RecurrentCellKind, xProj: Tensor, weightHh: Tensor, biasHh: Tensor | null, h0: Tensor, options: FusedRecurrenceOptions = {}): Tensor {
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
  if (xProj.ndim !== 3 || xProj.shape[2] !== GH) fail(op, `input projection of shape ${fmtShape(xProj.shape)} is not [T, B, ${GH}]`);
  const [T, B] = xProj.shape;
  if (biasHh !== null && (biasHh.ndim !== 1 || biasHh.shape[0] !== GH)) fail(op, `bias_hh of shape ${fmtShape(biasHh.shape)} is not [${GH}]`);
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
  const reverse = options.reverse ?? false;
  const relu = kind === "rnn_relu";
  const stateRows = isLstm ? 2 : 1;
  const projecting = weightHr !== null;

  const x = dense(xProj);
  const bhh = biasHh === null ? null : dense(biasHh);
  const biasAt = (index: number): number => (bhh === null ? 0 : bhh[index]);
  const valid = (t: number, b: number): boolean => lengths === null || t < lengths[b];
  const order = Array.from({ length: T }, (_, i) => (reverse ? T - 1 - i : i));

  // Saved for backward, indexed by time t: the state entering step t, and the activations.
  // Without a tape (inference) one step's worth is kept and overwritten: slot(t) is then always 0.
  const inputs = [xProj, weightHh, ...(biasHh === null ? [] : [biasHh]), h0, ...(c0 === null ? [] : [c0]), ...(weightHr === null ? [] : [weightHr])];
  const saving = isGradEnabled() && inputs.some((input) => input.requiresGrad);
  const savedSteps = saving ? T : Math.min(T, 1);
  const slot = (t: number): number => (saving ? t : 0);
  const hPrevAll = new Float32Array(savedSteps * B * P);
  const act = new Float32Array(savedSteps * B * GH); // gate activations (rnn: act(pre); gru: r, z, n; lstm: i, f, g, o)
  const extra = new Float32Array(kind === "gru" || isLstm ? savedSteps * B * H : 0); // gru: W_hn h + b_hn; lstm: c_t
  const cPrevAll = new Float32Array(isLstm ? savedSteps * B * H : 0);
  const hRawAll = new Float32Array(projecting ? savedSteps * B * H : 0); // o * tanh(c) before the projection
  const out = new Float32Array((T + stateRows) * B * H);

  noGrad(() => {
    let h = dense(h0).slice();
    let c = isLstm ? (c0 === null ? new Float32Array(B * H) : dense(c0).slice()) : new Float32Array(0);
    for (const t of order) {
      const saved = slot(t);
      hPrevAll.set(h, saved * B * P);
      if (isLstm) cPrevAll.set(c, saved * B * H);
      const hw = matmulWeightT(h, B, weightHh);
      const hNext = new Float32Array(B * P);
      const cNext = isLstm ? new Float32Array(B * H) : c;
      const hRaw = projecting ? hRawAll.subarray(saved * B * H, (saved + 1) * B * H) : hNext;
      for (let b = 0; b < B; b++) {
        const row = b * H;
        if (!valid(t, b)) {
          if (projecting) hRaw.fill(0, row, row + H);
          if (isLstm) for (let j = 0; j < H; j++) cNext[row + j] = c[row + j];
          continue;
        }
        const xBase = (t * B + b) * GH;
        const hwBase = b * GH;
        const aBase = (saved * B + b) * GH;
        const sBase = (saved * B + b) * H;
        const pre = (gate: number, j: number): number => x[xBase + gate * H + j] + hw[hwBase + gate * H + j] + biasAt(gate * H + j);
        for (let j = 0; j < H; j++) {
          let hv: number;
          if (kind === "lstm") {
            const i = sigmoid(pre(0, j)), f = sigmoid(pre(1, j)), gg = Math.tanh(pre(2, j)), o = sigmoid(pre(3, j));
            const cv = f * c[row + j] + i * gg;
            act[aBase + j] = i; act[aBase + H + j] = f; act[aBase + 2 * H + j] = gg; act[aBase + 3 * H + j] = o;
            cNext[row + j] = cv;
            extra[sBase + j] = cv;
            hv = o * Math.tanh(cv);
          } else if (kind === "gru") {
            const hn = hw[hwBase + 2 * H + j] + biasAt(2 * H + j);
            const r = sigmoid(pre(0, j)), z = sigmoid(pre(1, j));
            const n = Math.tanh(x[xBase + 2 * H + j] + r * hn);
            act[aBase + j] = r; act[aBase + H + j] = z; act[aBase + 2 * H + j] = n;
            extra[sBase + j] = hn;
            hv = (1 - z) * n + z * h[row + j];
          } else {
            const p = pre(0, j);
            const a = relu ? Math.max(0, p) : Math.tanh(p);
            act[aBase + j] = a;
            hv = leak === 1 ? a : (1 - leak) * h[row + j] + leak * a;
          }
          hRaw[row + j] = hv;
        }
      }
      const hNew = projecting ? matmulWeightT(hRaw, B, weightHr) : hNext;
      for (let b = 0; b < B; b++) {
        const keep = !valid(t, b);
        for (let j = 0; j < P; j++) {
          hNext[b * P + j] = keep ? h[b * P + j] : hNew[b * P + j];
          out[(t * B + b) * H + j] = keep ? 0 : hNew[b * P + j];
        }
      }
      h = hNext;
      c = cNext;
    }
    for (let b = 0; b < B; b++) for (let j = 0; j < P; j++) out[(T * B + b) * H + j] = h[b * P + j];
    if (isLstm) out.set(c, (T + 1) * B * H);
  });

  const result = wrap(out, [T + stateRows, B, H]);
  return record(kind, result, inputs, (gradOut) => {
    const g = dense(gradOut);
    const dGatesX = new Float32Array(T * B * GH); // d(pre-activation) seen by xProj
    const dGatesH = kind === "gru" ? new Float32Array(T * B * GH) : dGatesX; // ... and by h W_hh^T + b_hh
    const dProjAll = new Float32Array(projecting ? T * B * P : 0); // d(h) of the valid rows, for dW_hr
    let dh = new Float32Array(B * P);
    for (let b = 0; b < B; b++) for (let j = 0; j < P; j++) dh[b * P + j] = g[(T * B + b) * H + j];
    let dc = isLstm ? g.slice((T + 1) * B * H, (T + 2) * B * H) : new Float32Array(0);
    for (let k = T - 1; k >= 0; k--) {
      const t = order[k];
      // d(h_t) from the carry and the output row, for valid rows (padding rows pass dh straight through).
      const dhStep = new Float32Array(B * P);
      for (let b = 0; b < B; b++) {
        if (!valid(t, b)) continue;
        for (let j = 0; j < P; j++) dhStep[b * P + j] = dh[b * P + j] + g[(t * B + b) * H + j];
      }
      let dhRaw: Float32Array = dhStep; // d(o * tanh(c)) (or d(h) without a projection)
      if (projecting) {
        dProjAll.set(dhStep, t * B * P);
        dhRaw = matmulWeight(dhStep, B, weightHr);
      }
      const dhPrevDirect = new Float32Array(B * P); // paths from h_t to h_{t-1} that bypass W_hh
      const dcPrev = isLstm ? new Float32Array(B * H) : dc;
      for (let b = 0; b < B; b++) {
        const row = b * H;
        if (!valid(t, b)) {
          for (let j = 0; j < P; j++) dhPrevDirect[b * P + j] = dh[b * P + j];
          if (isLstm) for (let j = 0; j < H; j++) dcPrev[row + j] = dc[row + j];
          continue;
        }
        const base = (t * B + b) * GH;
        const sBase = (t * B + b) * H;
        for (let j = 0; j < H; j++) {
          const dhv = dhRaw[row + j];
          if (kind === "lstm") {
            const i = act[base + j], f = act[base + H + j], gg = act[base + 2 * H + j], o = act[base + 3 * H + j];
            const tc = Math.tanh(extra[sBase + j]);
            const dcv = dc[row + j] + dhv * o * (1 - tc * tc);
            dGatesX[base + j] = dcv * gg * i * (1 - i);
            dGatesX[base + H + j] = dcv * cPrevAll[sBase + j] * f * (1 - f);
            dGatesX[base + 2 * H + j] = dcv * i * (1 - gg * gg);
            dGatesX[base + 3 * H + j] = dhv * tc * o * (1 - o);
            dcPrev[row + j] = dcv * f;
          } else if (kind === "gru") {
            const r = act[base + j], z = act[base + H + j], n = act[base + 2 * H + j];
            const dn = dhv * (1 - z) * (1 - n * n);
            const dz = dhv * (hPrevAll[sBase + j] - n) * z * (1 - z);
            const dr = dn * extra[sBase + j] * r * (1 - r);
            dGatesX[base + j] = dr; dGatesX[base + H + j] = dz; dGatesX[base + 2 * H + j] = dn;
            dGatesH[base + j] = dr; dGatesH[base + H + j] = dz; dGatesH[base + 2 * H + j] = dn * r;
            dhPrevDirect[row + j] = dhv * z;
          } else {
            const a = act[base + j];
            const dAct = relu ? (a > 0 ? 1 : 0) : 1 - a * a;
            dGatesX[base + j] = dhv * leak * dAct;
            dhPrevDirect[row + j] = leak === 1 ? 0 : dhv * (1 - leak);
          }
        }
      }
      const viaWeights = matmulWeight(dGatesH.subarray(t * B * GH, (t + 1) * B * GH), B, weightHh);
      for (let m = 0; m < B * P; m++) dhPrevDirect[m] += viaWeights[m];
      dh = dhPrevDirect;
      dc = dcPrev;
    }
    const gradH = wrap(dGatesH, [T * B, GH]);
    const dWeightHh = weightHh.requiresGrad ? gradH.t().mm(wrap(hPrevAll, [T * B, P])) : null;
    const dBiasHh = biasHh !== null && biasHh.requiresGrad ? gradH.sum(0) : null;
    const dWeightHr = weightHr !== null && weightHr.requiresGrad ? wrap(dProjAll, [T * B, P]).t().mm(wrap(hRawAll, [T * B, H])) : null;
    return [
      wrap(dGatesX, [T, B, GH]),
      dWeightHh,
      ...(biasHh === null ? [] : [dBiasHh]),
      wrap(dh, [B, P]),
      ...(c0 === null ? [] : [wrap(dc, [B, H])]),
      ...(weightHr === null ? [] : [dWeightHr]),
    ];
  });
}
