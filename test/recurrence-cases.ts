// Random recurrence problems for the wasm-vs-JS recurrence tests: the backend's spec and operands
// plus a d(output), with sizes chosen by the caller and everything else drawn from `r`.
import { gateCount, type RecurrenceOperands, type RecurrenceSpec, type RecurrentCellKind } from "../src/backend/recurrence.js";

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
  };
  const gradOutput = randomArray(r, (T + (kind === "lstm" ? 2 : 1)) * B * H, 1);
  const label = `seed ${seed}: ${kind} T=${T} B=${B} H=${H} P=${P} reverse=${spec.reverse} leak=${spec.leak.toFixed(2)} lengths=[${[...lengths]}]`;
  return { label, spec, operands, gradOutput };
}
