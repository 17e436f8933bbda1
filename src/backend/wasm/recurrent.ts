import { fail } from "../../core/errors.js";
import { gateCount, type RecurrenceForwardResult, type RecurrenceGrads, type RecurrenceOperands, type RecurrenceSaved, type RecurrenceSpec, type RecurrenceWanted, type RecurrenceWeights } from "../recurrence.js";
import { GEMM_ARG_A_PTR, type GemmOperand, gemmOn, type GemmSplit, type PreparedGemm, prepareGemm } from "./matmul.js";
import { unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

/**
 * The fused recurrence on the wasm kernels (kernels/recurrent.ts). Each layer-direction's
 * operands are copied into wasm memory once and its results copied out once; in between, all
 * T steps run on data that stays there (state, gates, weights). Without projections a step is
 * one threaded job, forward and backward: each share computes its hidden units' columns of the
 * step's GEMM (the weight packed once per call) and then their gates, so the threads meet once
 * per step. With projections, per step the one GEMM for all gates runs on the threaded `matmul`
 * kernel, and the gate math split by batch rows across threads too when the step is large enough.
 * When the op projects its input (operands.weightIh), x W_ih^T is one threaded GEMM here before
 * the loop, and d x and d W_ih one GEMM each after the backward's: the [T, B, G*H] projections
 * and their gradients are never copied in or out.
 */

// Cell kind codes, shared with kernels/recurrent.ts.
const KIND_CODES = { rnn_tanh: 0, rnn_relu: 1, gru: 2, lstm: 3 } as const;
// The kernels read rows 4 lanes at a time, up to 12 bytes past a buffer's end.
const SLACK_BYTES = 16;
// A step's gate math is split across threads only from this many gate values per thread: the
// hand-off to a worker (still spinning after the step's GEMM) costs a few microseconds.
const MIN_GATE_VALUES_PER_THREAD = 4096;
// Fields 25.. of both argument blocks (kernels/recurrent.ts): the step the threaded gate kernels
// run, the fused step's GEMM, then the forward's state slots (hIn, hOut, cIn, cOut) or the
// backward's GEMM step; the host writes them before each job.
const STEP_FIELD = 25;
const ARG_FIELDS = 31;
// Hidden units per GEMM panel (kernels/gemm.ts NR): a fused step shares out whole panels.
const PANEL = 8;
// Shares per thread of a fused step: each share packs all of the step's A (h or dGates) once more
// (measured on the char-LSTM recurrence: 1 beats 2 and 4).
const FUSED_SHARES_PER_THREAD = 1;
/**
 * The saved tensors of forwards whose backward has not released them yet stay in wasm memory up
 * to this many bytes (the backward reads them in place); beyond, e.g. many forwards recorded
 * without a backward, they are copied out as plain arrays.
 */
export const SCOPED_SAVED_BUDGET = 512 * 1024 * 1024;

type StepKernel = (args: number, t: number) => void;

// Arena blocks. Views of wasm memory are taken at each write: a later alloc may grow (and detach) it.

/** A block of `length` floats holding `data` (zeros when null). */
function floats(rt: WasmRuntime, length: number, data: Float32Array | null): number {
  const ptr = rt.alloc(length * 4 + SLACK_BYTES);
  if (data === null) rt.f32(ptr, length).fill(0);
  else rt.f32(ptr, length).set(data.subarray(0, length));
  return ptr;
}

/** A block of `length` floats the kernels write before reading. */
function uninitialized(rt: WasmRuntime, length: number): number {
  return rt.alloc(length * 4 + SLACK_BYTES);
}

/**
 * The input projections x W_ih^T [T*B, G*H] (uninitialized slack after them), from the layer
 * input [T*B, I] and W_ih [G*H, I] read as a transposed view.
 */
function projectInput(rt: WasmRuntime, rows: number, gateWidth: number, inputSize: number, input: Float32Array, weightIh: Float32Array): number {
  const a = floats(rt, rows * inputSize, input);
  const b = floats(rt, gateWidth * inputSize, weightIh);
  const out = uninitialized(rt, rows * gateWidth);
  gemmOn(rt, { a: { ptr: a, batch: 0, row: inputSize, col: 1 }, b: { ptr: b, batch: 0, row: 1, col: inputSize }, c: { ptr: out, batch: 0, row: gateWidth, col: 1 }, batch: 1, m: rows, n: gateWidth, k: inputSize });
  return out;
}

function ints(rt: WasmRuntime, data: Int32Array): number {
  const ptr = rt.alloc(data.length * 4 + SLACK_BYTES);
  rt.i32(ptr, data.length).set(data);
  return ptr;
}

/**
 * One of a step's GEMMs, C [m, n] (+)= A [m, k] @ B [k, n] (A and C row-major; B a weight, any
 * strides, e.g. a transposed view), on the threaded matmul kernel. B is packed once and the
 * argument block and thread scratch prepared once, then reused every step with only A's
 * address changed, so the loop neither packs B nor allocates.
 */
class StepGemm {
  private readonly prepared: PreparedGemm;

  constructor(private readonly rt: WasmRuntime, b: GemmOperand, c: number, m: number, n: number, k: number, accumulate: boolean, split: GemmSplit = {}) {
    this.prepared = prepareGemm(rt, { a: { ptr: 0, batch: 0, row: k, col: 1 }, b, c: { ptr: c, batch: 0, row: n, col: 1 }, batch: 1, m, n, k, accumulate, prepackB: true }, split);
  }

  /** The `matmul` argument block (B pre-packed, scratch for `shares` shares), which fused step kernels read too. */
  get args(): number {
    return this.prepared.args;
  }

  get shares(): number {
    return this.prepared.shares;
  }

  get perThread(): number {
    return this.prepared.perThread;
  }

  run(a: number): void {
    const { args, shares, perThread } = this.prepared;
    this.rt.i32(args + 4 * GEMM_ARG_A_PTR, 1)[0] = a;
    this.rt.run("matmul", args, shares, perThread);
  }
}

/**
 * For each step t, the rows up to the last one still within its length (t < lengths[b]): the
 * rows past it are padding at t, which the step kernels skip and whose gradients are zero.
 */
export function activeRowCounts(lengths: Int32Array, steps: number): Int32Array {
  const counts = new Int32Array(steps);
  for (let t = 0; t < steps; t++) {
    let rows = lengths.length;
    while (rows > 0 && lengths[rows - 1] <= t) rows--;
    counts[t] = rows;
  }
  return counts;
}

/**
 * The operands of a weight-gradient GEMM summed over all steps ([steps * batch, width] each,
 * step-major), with each step's rows past `active[t]` left out: those rows' gradients are zero, so
 * the sum over the rows kept is the same and the GEMM's K shrinks. Returns the operands as they
 * are when no row is left out, else compacted copies; and the rows kept.
 */
export function activeRowsOnly(rt: WasmRuntime, active: Int32Array, batch: number, operands: readonly { ptr: number; width: number }[]): { ptrs: number[]; rows: number } {
  const rows = active.reduce((sum, n) => sum + n, 0);
  if (rows === active.length * batch) return { ptrs: operands.map((o) => o.ptr), rows };
  const ptrs = operands.map(({ ptr, width }) => {
    const packed = rt.alloc(Math.max(rows, 1) * width * 4);
    const dst = rt.f32(packed, rows * width);
    let at = 0;
    active.forEach((n, t) => {
      dst.set(rt.f32(ptr + t * batch * width * 4, n * width), at);
      at += n * width;
    });
    return packed;
  });
  return { ptrs, rows };
}

function header(rt: WasmRuntime, spec: RecurrenceSpec, fields: number[]): number {
  const args = rt.alloc(ARG_FIELDS * 4);
  rt.i32(args, ARG_FIELDS).fill(0);
  rt.i32(args, fields.length).set(fields);
  rt.f32(args + 24, 1)[0] = spec.leak;
  return args;
}

/**
 * A step's gate kernel: `serial(args, t)` on this thread, or its row-split threaded form
 * `threaded` (reading t from the argument block) when the step has enough rows and values.
 */
function stepGates(rt: WasmRuntime, spec: RecurrenceSpec, args: number, serial: string, threaded: "recurrentForwardGates" | "recurrentBackwardGates"): { run: (t: number) => void; split: boolean } {
  const values = spec.batch * gateCount(spec.kind) * spec.hidden;
  const shares = Math.min(spec.batch, rt.sharesFor(Math.floor(values / MIN_GATE_VALUES_PER_THREAD)));
  if (shares <= 1) {
    const kernel = rt.exported(serial) as StepKernel;
    return { run: (t) => kernel(args, t), split: false };
  }
  const run = (t: number): void => {
    rt.i32(args + 4 * STEP_FIELD, 1)[0] = t;
    rt.run(threaded, args, shares);
  };
  return { run, split: true };
}

/** Columns of the fused forward's h W_hh^T: G gate columns for each hidden unit, in whole panels. */
function interleavedWidth(gates: number, hidden: number): number {
  return Math.ceil(hidden / PANEL) * gates * PANEL;
}

/**
 * W_hh [G*H, P] with its rows reordered for the fused forward step: panels of PANEL hidden
 * units, each panel's G gates adjacent (rows of units past H zero), so that the columns of
 * h W_hh^T a share computes for its units are adjacent panels of the GEMM's B = W^T.
 */
function interleavedGateRows(rt: WasmRuntime, weight: Float32Array, gates: number, hidden: number, width: number): number {
  const rows = interleavedWidth(gates, hidden);
  const ptr = rt.alloc(rows * width * 4 + SLACK_BYTES);
  const view = rt.f32(ptr, rows * width);
  if (hidden % PANEL !== 0) view.fill(0);
  // A panel's units are adjacent rows in W_hh too: one copy per gate and panel.
  for (let g = 0; g < gates; g++) {
    for (let j = 0; j < hidden; j += PANEL) {
      const from = (g * hidden + j) * width;
      view.set(weight.subarray(from, from + Math.min(PANEL, hidden - j) * width), ((j / PANEL) * gates + g) * PANEL * width);
    }
  }
  return ptr;
}

/**
 * The fused forward time loop: one recurrentForwardFused job per step. The state entering step k
 * (in loop order) is read from slot k and h_t, c_t written to slot k + 1, the last step's to h and
 * c. Saving, the slots are hPrev's and cPrev's, so they hold the saved tensors; otherwise two
 * buffers alternate, with hPrev's (cPrev's) slot 0 holding the last step's input as in the unfused loop.
 */
function fusedForwardLoop(rt: WasmRuntime, spec: RecurrenceSpec, save: boolean, args: number, gemm: StepGemm, state: { h: number; c: number; hPrev: number; cPrev: number }, hooks: RecurrenceForwardHooks | null): void {
  const { steps: T, batch: B, hidden: H, stateSize: P } = spec;
  const isLstm = spec.kind === "lstm";
  const stepAt = (k: number): number => (spec.reverse ? T - 1 - k : k);
  const slots = (saved: number, last: number, width: number): ((k: number) => number) => {
    const spare = save ? 0 : uninitialized(rt, B * width);
    return (k) => (k === T ? last : save ? saved + stepAt(k) * B * width * 4 : (T - 1 - k) % 2 === 0 ? saved : spare);
  };
  const hSlot = slots(state.hPrev, state.h, P);
  const cSlot = isLstm ? slots(state.cPrev, state.c, H) : () => 0;
  if (T === 0) return;
  rt.f32(hSlot(0), B * P).set(rt.f32(state.h, B * P));
  if (isLstm) rt.f32(cSlot(0), B * H).set(rt.f32(state.c, B * H));
  for (let k = 0; k < T; k++) {
    hooks?.beforeStep(stepAt(k), hSlot(k));
    rt.i32(args + 4 * STEP_FIELD, 6).set([stepAt(k), gemm.args, hSlot(k), hSlot(k + 1), cSlot(k), cSlot(k + 1)]);
    rt.run("recurrentForwardFused", args, gemm.shares, gemm.perThread);
  }
}

/**
 * Work a caller runs inside the fused time loop, on buffers it allocates in the same arena (the
 * attention decoder computes each step's input projection from the state entering the step).
 */
export interface RecurrenceForwardHooks {
  /** Once the recurrence's buffers are allocated; `x` is the [T, B, G*H] input projections (bias_ih not added), read by step t only at step t. */
  setup(x: number): void;
  /** Before step t's kernel, with the state entering it ([B, P]): may add into x's block t. */
  beforeStep(t: number, hIn: number): void;
}

/** Work a caller runs inside the fused backward time loop (see RecurrenceForwardHooks). */
export interface RecurrenceBackwardHooks {
  /** Once the buffers are allocated: d x [T, B, G*H], the running d h [B, P], and the saved states entering each step [T, B, P]. */
  setup(buffers: { dgx: number; dh: number; hPrev: number }): void;
  /** After step t's gate derivatives (d x's block t is final), before step t - 1's: may add into d h (then d h_{t-1}). */
  afterStep(t: number): void;
}

export function recurrenceForwardOn(rt: WasmRuntime, spec: RecurrenceSpec, operands: RecurrenceOperands, save: boolean, hooks: RecurrenceForwardHooks | null = null): RecurrenceForwardResult {
  const { kind, steps: T, batch: B, hidden: H, stateSize: P } = spec;
  const G = gateCount(kind);
  const GH = G * H;
  const isLstm = kind === "lstm";
  const projecting = operands.weightHr !== null;
  // Without projections each step is one threaded job (recurrentForwardFused).
  const fused = !projecting;
  if (hooks !== null && (!fused || operands.weightIh !== null)) fail("recurrenceForward", "step hooks need the fused loop over given input projections");
  const savedSteps = save ? T : Math.min(T, 1);
  const sizes = {
    hPrev: savedSteps * B * P,
    act: savedSteps * B * GH,
    extra: kind === "gru" || isLstm ? savedSteps * B * H : 0,
    cPrev: isLstm ? savedSteps * B * H : 0,
    hRaw: projecting ? savedSteps * B * H : 0,
  };
  const outLength = (T + (isLstm ? 2 : 1)) * B * H;
  // Saving, the saved tensors are written where the backward will read them (before the arena is used).
  const kept = save ? keepInPlace(rt, sizes) : null;
  rt.reset();
  const x = operands.weightIh === null ? floats(rt, T * B * GH, operands.x) : projectInput(rt, T * B, GH, spec.inputSize, operands.x, operands.weightIh);
  const w = fused ? interleavedGateRows(rt, operands.weightHh, G, H, P) : floats(rt, GH * P, operands.weightHh);
  const bias = floats(rt, GH, operands.biasHh);
  const h = floats(rt, B * P, operands.h0);
  const c = floats(rt, isLstm ? B * H : 0, operands.c0);
  const whr = operands.weightHr === null ? 0 : floats(rt, P * H, operands.weightHr);
  const lengths = ints(rt, spec.lengths);
  const out = uninitialized(rt, outLength);
  const savedBlock = (key: keyof typeof sizes): number => (kept?.[key] ? kept[key].byteOffset : uninitialized(rt, sizes[key]));
  const hPrev = savedBlock("hPrev");
  const act = savedBlock("act");
  const extra = savedBlock("extra");
  const cPrev = savedBlock("cPrev");
  const hRaw = savedBlock("hRaw");
  const hwWidth = fused ? interleavedWidth(G, H) : GH;
  const hw = uninitialized(rt, B * hwWidth);
  const hProj = uninitialized(rt, projecting ? B * P : 0);
  const biasIh = floats(rt, GH, operands.biasIh);
  const args = header(rt, spec, [KIND_CODES[kind], T, B, H, P, save ? 1 : 0, 0, x, w, bias, h, c, whr, lengths, out, hPrev, act, extra, cPrev, hRaw, 0, 0, hw, hProj, biasIh]);
  // h W_hh^T and h_raw W_hr^T read the weights as transposed views (the kernels' W^T fields stay 0).
  const recurrent = new StepGemm(rt, { ptr: w, batch: 0, row: 1, col: P }, hw, B, hwWidth, P, false, fused ? { perThread: FUSED_SHARES_PER_THREAD } : {});

  if (fused) {
    hooks?.setup(x);
    fusedForwardLoop(rt, spec, save, args, recurrent, { h, c, hPrev, cPrev }, hooks);
  } else {
    const projection = new StepGemm(rt, { ptr: whr, batch: 0, row: 1, col: H }, hProj, B, P, H, false);
    const saveState = rt.exported("recurrentForwardSave") as StepKernel;
    const gates = stepGates(rt, spec, args, "recurrentForwardStep", "recurrentForwardGates").run;
    const projected = rt.exported("recurrentForwardProjected") as StepKernel;
    for (let k = 0; k < T; k++) {
      const t = spec.reverse ? T - 1 - k : k;
      const slot = save ? t : 0;
      saveState(args, t);
      recurrent.run(hPrev + slot * B * P * 4);
      gates(t);
      projection.run(hRaw + slot * B * H * 4);
      projected(args, t);
    }
  }
  rt.exported("recurrentForwardEnd")(args);
  const savedArray = (key: keyof typeof sizes, ptr: number): Float32Array => kept?.[key] ?? unstage(rt, ptr, sizes[key]);
  const saved: RecurrenceSaved = {
    hPrev: savedArray("hPrev", hPrev),
    act: savedArray("act", act),
    extra: savedArray("extra", extra),
    cPrev: savedArray("cPrev", cPrev),
    hRaw: savedArray("hRaw", hRaw),
    input: operands.weightIh === null ? new Float32Array(0) : operands.x,
  };
  return { output: unstage(rt, out, outLength), saved };
}

/** The saved tensors, in the order the forward allocates their blocks. */
const SAVED_KEYS = ["hPrev", "act", "extra", "cPrev", "hRaw"] as const;
type SavedSizes = Record<(typeof SAVED_KEYS)[number], number>;

/**
 * Scoped arrays in wasm memory for the non-empty saved tensors (recurrenceReleaseOn frees them),
 * or null when the runtime has no shared memory or the budget is spent: then all are copied out.
 */
function keepInPlace(rt: WasmRuntime, sizes: SavedSizes): Partial<Record<keyof SavedSizes, Float32Array>> | null {
  const kept: Partial<Record<keyof SavedSizes, Float32Array>> = {};
  for (const key of SAVED_KEYS) {
    if (sizes[key] === 0) continue;
    const view = rt.allocateScoped(sizes[key], SCOPED_SAVED_BUDGET);
    if (view === null) {
      for (const allocated of Object.values(kept)) rt.releaseScoped(allocated);
      return null;
    }
    kept[key] = view;
  }
  return kept;
}

/** The address of a saved tensor: where it already is in wasm memory (kept in place by the forward), else a copy in the arena. */
function savedOperand(rt: WasmRuntime, values: Float32Array): number {
  const ptr = rt.residentPointer(values);
  return ptr >= 0 ? ptr : floats(rt, values.length, values);
}

export function recurrenceReleaseOn(rt: WasmRuntime, saved: RecurrenceSaved): void {
  // Released in reverse allocation order, top block first, so each goes straight back to the arena.
  for (const key of [...SAVED_KEYS].reverse()) rt.releaseScoped(saved[key]);
}

export function recurrenceBackwardOn(rt: WasmRuntime, spec: RecurrenceSpec, weights: RecurrenceWeights, saved: RecurrenceSaved, gradOutput: Float32Array, wanted: RecurrenceWanted, hooks: RecurrenceBackwardHooks | null = null): RecurrenceGrads {
  const { kind, steps: T, batch: B, hidden: H, stateSize: P, inputSize: I } = spec;
  const { weightHh, weightHr, weightIh } = weights;
  const GH = gateCount(kind) * H;
  const isLstm = kind === "lstm";
  const isGru = kind === "gru";
  const projecting = weightHr !== null;
  // Without projections each step is one threaded job (recurrentBackwardFused).
  const fused = !projecting;
  if (hooks !== null && (!fused || !isGru || weightIh !== null)) fail("recurrenceBackward", "step hooks need the fused GRU loop over given input projections");
  rt.reset();
  const g = floats(rt, gradOutput.length, gradOutput);
  const w = floats(rt, GH * P, weightHh);
  const whr = weightHr === null ? 0 : floats(rt, P * H, weightHr);
  const lengths = ints(rt, spec.lengths);
  // Only GRU's gradient reads h_{t-1}.
  const hPrev = isGru ? savedOperand(rt, saved.hPrev) : 0;
  const act = savedOperand(rt, saved.act);
  const extra = savedOperand(rt, saved.extra);
  const cPrev = savedOperand(rt, saved.cPrev);
  const gatesLength = T * B * GH;
  const dgx = uninitialized(rt, gatesLength);
  const dgh = isGru ? uninitialized(rt, gatesLength) : dgx;
  const dProj = uninitialized(rt, projecting ? T * B * P : 0);
  const dh = uninitialized(rt, B * P);
  const dc = uninitialized(rt, isLstm ? B * H : 0);
  const dhStep = uninitialized(rt, B * P);
  const dhRaw = uninitialized(rt, projecting ? B * H : 0);
  const dBias = uninitialized(rt, GH);
  const dBiasIh = isGru ? uninitialized(rt, GH) : dBias;
  const dBiasStep = uninitialized(rt, GH);
  const dBiasIhStep = uninitialized(rt, isGru ? GH : 0);
  // dh (the part bypassing W_hh, from the gate kernel) += dGatesH_t W_hh.
  const recurrent = new StepGemm(rt, { ptr: w, batch: 0, row: P, col: 1 }, dh, B, P, GH, true, fused ? { perThread: FUSED_SHARES_PER_THREAD } : {});
  const args = header(rt, spec, [KIND_CODES[kind], T, B, H, P, 0, 0, g, lengths, projecting ? 1 : 0, hPrev, act, extra, cPrev, dgx, dgh, dProj, dh, dc, dhStep, dhRaw, dBias, dBiasIh, dBiasStep, dBiasIhStep]);
  rt.exported("recurrentBackwardBegin")(args);
  const stepAt = (k: number): number => (spec.reverse ? T - 1 - k : k);
  if (fused) {
    // Job k ends step k + 1's dh GEMM and runs step k's gates (in loop order, for a share of the
    // hidden units each); a last job ends the first step's GEMM.
    hooks?.setup({ dgx, dh, hPrev });
    for (let k = T - 1; k >= -1; k--) {
      rt.i32(args + 4 * STEP_FIELD, 3).set([k >= 0 ? stepAt(k) : -1, recurrent.args, k + 1 < T ? stepAt(k + 1) : -1]);
      rt.run("recurrentBackwardFused", args, recurrent.shares, recurrent.perThread);
      if (k >= 0) hooks?.afterStep(stepAt(k));
    }
  } else {
    const projection = new StepGemm(rt, { ptr: whr, batch: 0, row: H, col: 1 }, dhRaw, B, H, P, false);
    const input = rt.exported("recurrentBackwardInput") as StepKernel;
    const gates = stepGates(rt, spec, args, "recurrentBackwardStep", "recurrentBackwardGates");
    // The serial kernel sums the step's bias gradients itself; after the split one, this thread does.
    const biasSums = rt.exported("recurrentBackwardBias") as StepKernel;
    for (let k = T - 1; k >= 0; k--) {
      const t = stepAt(k);
      input(args, t);
      projection.run(dhStep);
      gates.run(t);
      if (gates.split) biasSums(args, t);
      recurrent.run(dgh + t * B * GH * 4);
    }
  }
  // The weight gradients sum over all steps: one GEMM each, on the step gradients still here
  // (without the padding rows, whose gradients are zero).
  const rows = T * B;
  const active = activeRowCounts(spec.lengths, T);
  const transposedTimes = (a: number, m: number, b: number, n: number): Float32Array => {
    const kept = activeRowsOnly(rt, active, B, [{ ptr: a, width: m }, { ptr: b, width: n }]);
    const out = rt.alloc(m * n * 4);
    gemmOn(rt, { a: { ptr: kept.ptrs[0], batch: 0, row: 1, col: m }, b: { ptr: kept.ptrs[1], batch: 0, row: n, col: 1 }, c: { ptr: out, batch: 0, row: n, col: 1 }, batch: 1, m, n, k: kept.rows });
    return unstage(rt, out, m * n);
  };
  const dWeightHh = wanted.weights ? transposedTimes(dgh, GH, isGru ? hPrev : savedOperand(rt, saved.hPrev), P) : null;
  const dWeightHr = wanted.weights && projecting ? transposedTimes(dProj, P, savedOperand(rt, saved.hRaw), H) : null;
  const projectsInput = weightIh !== null;
  const dWeightIh = wanted.weights && projectsInput ? transposedTimes(dgx, GH, floats(rt, rows * I, saved.input), I) : null;
  let dInput: Float32Array | null = null;
  if (wanted.input && projectsInput) {
    // d x = dGatesX [T*B, G*H] @ W_ih [G*H, I].
    const wih = floats(rt, GH * I, weightIh);
    const out = rt.alloc(rows * I * 4);
    gemmOn(rt, { a: { ptr: dgx, batch: 0, row: GH, col: 1 }, b: { ptr: wih, batch: 0, row: I, col: 1 }, c: { ptr: out, batch: 0, row: I, col: 1 }, batch: 1, m: rows, n: I, k: GH });
    dInput = unstage(rt, out, rows * I);
  }
  const dGatesX = projectsInput ? new Float32Array(0) : unstage(rt, dgx, gatesLength);
  const dBiasHh = unstage(rt, dBias, GH);
  return {
    dGatesX,
    dGatesH: isGru && !projectsInput ? unstage(rt, dgh, gatesLength) : dGatesX,
    dBiasHh,
    dBiasIh: isGru ? unstage(rt, dBiasIh, GH) : dBiasHh,
    dProj: unstage(rt, dProj, projecting ? T * B * P : 0),
    dh0: unstage(rt, dh, B * P),
    dc0: unstage(rt, dc, isLstm ? B * H : 0),
    dWeightHh,
    dWeightHr,
    dWeightIh,
    dInput,
  };
}
