// Random recurrence problems for the wasm-vs-JS recurrence tests: the backend's spec and operands
// plus a d(output), with sizes chosen by the caller and everything else drawn from `r`.
import { gateCount, type RecurrenceOperands, type RecurrenceSpec, type RecurrentCellKind, type RecurrenceWanted } from "../src/backend/recurrence.js";

/** Every optional backward result, or none. */
export const ALL: RecurrenceWanted = { weights: true, input: true };
export const NONE: RecurrenceWanted = { weights: false, input: false };

export interface RecurrenceCase {
  label: string;
  spec: RecurrenceSpec;
  operands: RecurrenceOperands;
  gradOutput: Float32Array;
}

export function randomArray(r: () => number, length: number, scale: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

export interface RecurrenceSizes {
  steps: number;
  batch: number;
  hidden: number;
  /** Width of h: `hidden`, or an LSTM projection's size (then weightHr is drawn). */
  stateSize: number;
  /** Given, the op projects a layer input of this width itself (weightIh is drawn, x is the input). */
  inputSize?: number;
}

/**
 * A problem of the given sizes: lengths ragged (zero included) with probability `raggedChance`,
 * either direction, a leaky RNN now and then, biases and c0 sometimes missing.
 */
export function recurrenceCase(r: () => number, seed: number, kind: RecurrentCellKind, sizes: RecurrenceSizes, raggedChance: number): RecurrenceCase {
  const { steps: T, batch: B, hidden: H, stateSize: P } = sizes;
  const GH = gateCount(kind) * H;
  const lengths = new Int32Array(B);
  const ragged = r() < raggedChance;
  for (let b = 0; b < B; b++) lengths[b] = ragged ? Math.floor(r() * (T + 1)) : T;
  const spec: RecurrenceSpec = {
    kind,
    steps: T,
    batch: B,
    hidden: H,
    stateSize: P,
    reverse: r() < 0.5,
    leak: kind.startsWith("rnn") && r() < 0.4 ? 0.3 + 0.6 * r() : 1,
    lengths,
    inputSize: sizes.inputSize ?? 0,
  };
  const scale = 1 / Math.sqrt(H);
  const operands: RecurrenceOperands = {
    x: randomArray(r, T * B * GH, 1.5),
    biasIh: r() < 0.5 ? randomArray(r, GH, scale) : null,
    weightHh: randomArray(r, GH * P, 2 * scale),
    biasHh: r() < 0.7 ? randomArray(r, GH, scale) : null,
    h0: randomArray(r, B * P, 1),
    c0: kind === "lstm" && r() < 0.6 ? randomArray(r, B * H, 1) : null,
    weightHr: P !== H ? randomArray(r, P * H, scale) : null,
    weightIh: null,
  };
  const gradOutput = randomArray(r, (T + (kind === "lstm" ? 2 : 1)) * B * H, 1);
  const I = spec.inputSize;
  if (I > 0) {
    operands.x = randomArray(r, T * B * I, 1);
    operands.weightIh = randomArray(r, GH * I, 1.5 / Math.sqrt(I));
  }
  const label = `seed ${seed}: ${kind} T=${T} B=${B} H=${H} P=${P}${I > 0 ? ` I=${I}` : ""} reverse=${spec.reverse} leak=${spec.leak.toFixed(2)} lengths=[${[...lengths]}]`;
  return { label, spec, operands, gradOutput };
}

/** rows [rows, k] @ weight^T for weight [n, k], summed in float64. */
export function timesTransposed64(values: Float32Array, rows: number, weight: Float32Array, n: number, k: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let row = 0; row < rows; row++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let q = 0; q < k; q++) sum += values[row * k + q] * weight[j * k + q];
      out[row * n + j] = sum;
    }
  }
  return out;
}

/** The same problem with the input projected beforehand (float64 sums): x is then [T, B, G*H] and weightIh null. */
export function projectedBeforehand(c: RecurrenceCase): RecurrenceCase {
  const { steps: T, batch: B, hidden: H, inputSize: I } = c.spec;
  const GH = gateCount(c.spec.kind) * H;
  const x = timesTransposed64(c.operands.x, T * B, c.operands.weightIh!, GH, I);
  return { ...c, spec: { ...c.spec, inputSize: 0 }, operands: { ...c.operands, x, weightIh: null } };
}
