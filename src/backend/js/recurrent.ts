/**
 * The fused recurrence on the JS backend: the reference the wasm kernels are tested against.
 * One GEMM per step for all gates (`h W_hh^T`, gates stacked as PyTorch stores them), a plain
 * loop for the gate nonlinearities, and hand-written back-propagation through time.
 */
import { Layout } from "../../core/layout.js";
import { gateCount, type RecurrenceForwardResult, type RecurrenceGrads, type RecurrenceOperands, type RecurrenceSaved, type RecurrenceSpec, type RecurrenceWanted, type RecurrenceWeights } from "../recurrence.js";
import { matmul } from "./matmul.js";

/** values [rows, k] @ weight^T, weight [n, k] row-major -> [rows, n]. */
function timesTransposed(values: Float32Array, rows: number, weight: Float32Array, n: number, k: number): Float32Array {
  return matmul(values, Layout.contiguous([1, rows, k]), weight, Layout.contiguous([1, n, k]).transpose(1, 2));
}

/** values [rows, k] @ weight, weight [k, n] row-major -> [rows, n]. */
function times(values: Float32Array, rows: number, weight: Float32Array, k: number, n: number): Float32Array {
  return matmul(values, Layout.contiguous([1, rows, k]), weight, Layout.contiguous([1, k, n]));
}

/** a^T @ b for a [rows, m] and b [rows, n] row-major -> [m, n]: a weight gradient summed over rows. */
function transposedTimes(a: Float32Array, b: Float32Array, rows: number, m: number, n: number): Float32Array {
  return matmul(a, Layout.contiguous([1, rows, m]).transpose(1, 2), b, Layout.contiguous([1, rows, n]));
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function columnSums(values: Float32Array, rows: number, cols: number): Float32Array {
  const sums = new Float64Array(cols);
  for (let row = 0; row < rows; row++) for (let j = 0; j < cols; j++) sums[j] += values[row * cols + j];
  return Float32Array.from(sums);
}

export function recurrenceForward(spec: RecurrenceSpec, operands: RecurrenceOperands, save: boolean): RecurrenceForwardResult {
  const { kind, steps: T, batch: B, hidden: H, stateSize: P, reverse, leak, lengths, inputSize: I } = spec;
  const { biasIh: bih, weightHh, biasHh: bhh, h0, c0, weightHr, weightIh } = operands;
  const GH = gateCount(kind) * H;
  const x = weightIh === null ? operands.x : timesTransposed(operands.x, T * B, weightIh, GH, I);
  const isLstm = kind === "lstm";
  const relu = kind === "rnn_relu";
  const projecting = weightHr !== null;
  const stateRows = isLstm ? 2 : 1;
  const biasAt = (index: number): number => (bhh === null ? 0 : bhh[index]);
  const xAt = (index: number, j: number): number => (bih === null ? x[index] : x[index] + bih[j]);
  const valid = (t: number, b: number): boolean => t < lengths[b];

  // Without saving (inference) one step's worth is kept and overwritten: slot(t) is then always 0.
  const savedSteps = save ? T : Math.min(T, 1);
  const slot = (t: number): number => (save ? t : 0);
  const saved: RecurrenceSaved = {
    hPrev: new Float32Array(savedSteps * B * P),
    act: new Float32Array(savedSteps * B * GH),
    extra: new Float32Array(kind === "gru" || isLstm ? savedSteps * B * H : 0),
    cPrev: new Float32Array(isLstm ? savedSteps * B * H : 0),
    hRaw: new Float32Array(projecting ? savedSteps * B * H : 0),
    input: weightIh === null ? new Float32Array(0) : operands.x,
  };
  const { hPrev: hPrevAll, act, extra, cPrev: cPrevAll, hRaw: hRawAll } = saved;
  const out = new Float32Array((T + stateRows) * B * H);

  let h = h0.slice();
  let c = isLstm ? (c0 === null ? new Float32Array(B * H) : c0.slice()) : new Float32Array(0);
  for (let k = 0; k < T; k++) {
    const t = reverse ? T - 1 - k : k;
    const s = slot(t);
    hPrevAll.set(h, s * B * P);
    if (isLstm) cPrevAll.set(c, s * B * H);
    const hw = timesTransposed(h, B, weightHh, GH, P);
    const hNext = new Float32Array(B * P);
    const cNext = isLstm ? new Float32Array(B * H) : c;
    const hRaw = projecting ? hRawAll.subarray(s * B * H, (s + 1) * B * H) : hNext;
    for (let b = 0; b < B; b++) {
      const row = b * H;
      if (!valid(t, b)) {
        if (projecting) hRaw.fill(0, row, row + H);
        if (isLstm) for (let j = 0; j < H; j++) cNext[row + j] = c[row + j];
        continue;
      }
      const xBase = (t * B + b) * GH;
      const hwBase = b * GH;
      const aBase = (s * B + b) * GH;
      const sBase = (s * B + b) * H;
      const pre = (gate: number, j: number): number => xAt(xBase + gate * H + j, gate * H + j) + hw[hwBase + gate * H + j] + biasAt(gate * H + j);
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
          const n = Math.tanh(xAt(xBase + 2 * H + j, 2 * H + j) + r * hn);
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
    const hNew = projecting ? timesTransposed(hRaw, B, weightHr, P, H) : hNext;
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
  return { output: out, saved };
}

export function recurrenceBackward(spec: RecurrenceSpec, weights: RecurrenceWeights, saved: RecurrenceSaved, gradOutput: Float32Array, wanted: RecurrenceWanted): RecurrenceGrads {
  const { kind, steps: T, batch: B, hidden: H, stateSize: P, reverse, leak, lengths, inputSize: I } = spec;
  const { weightHh, weightHr, weightIh } = weights;
  const { hPrev: hPrevAll, act, extra, cPrev: cPrevAll } = saved;
  const g = gradOutput;
  const GH = gateCount(kind) * H;
  const isLstm = kind === "lstm";
  const relu = kind === "rnn_relu";
  const projecting = weightHr !== null;
  const valid = (t: number, b: number): boolean => t < lengths[b];

  const dGatesX = new Float32Array(T * B * GH);
  const dGatesH = kind === "gru" ? new Float32Array(T * B * GH) : dGatesX;
  const dProj = new Float32Array(projecting ? T * B * P : 0);
  let dh = new Float32Array(B * P);
  for (let b = 0; b < B; b++) for (let j = 0; j < P; j++) dh[b * P + j] = g[(T * B + b) * H + j];
  let dc = isLstm ? g.slice((T + 1) * B * H, (T + 2) * B * H) : new Float32Array(0);
  for (let k = T - 1; k >= 0; k--) {
    const t = reverse ? T - 1 - k : k;
    // d(h_t) from the carry and the output row, for valid rows (padding rows pass dh straight through).
    const dhStep = new Float32Array(B * P);
    for (let b = 0; b < B; b++) {
      if (!valid(t, b)) continue;
      for (let j = 0; j < P; j++) dhStep[b * P + j] = dh[b * P + j] + g[(t * B + b) * H + j];
    }
    let dhRaw: Float32Array = dhStep; // d(o * tanh(c)) (or d(h) without a projection)
    if (projecting) {
      dProj.set(dhStep, t * B * P);
      dhRaw = times(dhStep, B, weightHr, P, H);
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
    const viaWeights = times(dGatesH.subarray(t * B * GH, (t + 1) * B * GH), B, weightHh, GH, P);
    for (let m = 0; m < B * P; m++) dhPrevDirect[m] += viaWeights[m];
    dh = dhPrevDirect;
    dc = dcPrev;
  }
  const dBiasHh = columnSums(dGatesH, T * B, GH);
  const dBiasIh = dGatesH === dGatesX ? dBiasHh : columnSums(dGatesX, T * B, GH);
  const rows = T * B;
  const projectsInput = weightIh !== null;
  const empty = new Float32Array(0);
  return {
    dGatesX: projectsInput ? empty : dGatesX,
    dGatesH: projectsInput ? empty : dGatesH,
    dBiasHh, dBiasIh, dProj, dh0: dh, dc0: isLstm ? dc : empty,
    dWeightHh: wanted.weights ? transposedTimes(dGatesH, saved.hPrev, rows, GH, P) : null,
    dWeightHr: wanted.weights && projecting ? transposedTimes(dProj, saved.hRaw, rows, P, H) : null,
    dWeightIh: wanted.weights && projectsInput ? transposedTimes(dGatesX, saved.input, rows, GH, I) : null,
    dInput: wanted.input && projectsInput ? times(dGatesX, rows, weightIh, GH, I) : null,
  };
}
