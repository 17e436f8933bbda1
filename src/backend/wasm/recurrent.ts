import { gateCount, type RecurrenceForwardResult, type RecurrenceGrads, type RecurrenceOperands, type RecurrenceSaved, type RecurrenceSpec } from "../recurrence.js";
import { GEMM_ARG_A_PTR, type GemmOperand, gemmOn, type PreparedGemm, prepareGemm } from "./matmul.js";
import { unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

/**
 * The fused recurrence on the wasm kernels (kernels/recurrent.ts). Each layer-direction's
 * operands are copied into wasm memory once and its results copied out once; in between, all
 * T steps run on data that stays there (state, gates, weights). Per step the one GEMM for all
 * gates runs on the threaded `matmul` kernel (its weight packed once per call), and the gate
 * math split by batch rows across threads too when the step is large enough.
 */

// Cell kind codes, shared with kernels/recurrent.ts.
const KIND_CODES = { rnn_tanh: 0, rnn_relu: 1, gru: 2, lstm: 3 } as const;
// The kernels read rows 4 lanes at a time, up to 12 bytes past a buffer's end.
const SLACK_BYTES = 16;
// A step's gate math is split across threads only from this many gate values per thread: the
// hand-off to a worker (still spinning after the step's GEMM) costs a few microseconds.
const MIN_GATE_VALUES_PER_THREAD = 4096;
// Field 25 of both argument blocks: the step the threaded gate kernels run.
const STEP_FIELD = 25;

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

  constructor(private readonly rt: WasmRuntime, b: GemmOperand, c: number, m: number, n: number, k: number, accumulate: boolean) {
    this.prepared = prepareGemm(rt, { a: { ptr: 0, batch: 0, row: k, col: 1 }, b, c: { ptr: c, batch: 0, row: n, col: 1 }, batch: 1, m, n, k, accumulate, prepackB: true });
  }

  run(a: number): void {
    const { args, shares, perThread } = this.prepared;
    this.rt.i32(args + 4 * GEMM_ARG_A_PTR, 1)[0] = a;
    this.rt.run("matmul", args, shares, perThread);
  }
}

function header(rt: WasmRuntime, spec: RecurrenceSpec, fields: number[]): number {
  const args = rt.alloc((STEP_FIELD + 1) * 4);
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

export function recurrenceForwardOn(rt: WasmRuntime, spec: RecurrenceSpec, operands: RecurrenceOperands, save: boolean): RecurrenceForwardResult {
  const { kind, steps: T, batch: B, hidden: H, stateSize: P } = spec;
  const GH = gateCount(kind) * H;
  const isLstm = kind === "lstm";
  const projecting = operands.weightHr !== null;
  const savedSteps = save ? T : Math.min(T, 1);
  const sizes = {
    hPrev: savedSteps * B * P,
    act: savedSteps * B * GH,
    extra: kind === "gru" || isLstm ? savedSteps * B * H : 0,
    cPrev: isLstm ? savedSteps * B * H : 0,
    hRaw: projecting ? savedSteps * B * H : 0,
  };
  const outLength = (T + (isLstm ? 2 : 1)) * B * H;
  rt.reset();
  const x = floats(rt, T * B * GH, operands.x);
  const w = floats(rt, GH * P, operands.weightHh);
  const bias = floats(rt, GH, operands.biasHh);
  const h = floats(rt, B * P, operands.h0);
  const c = floats(rt, isLstm ? B * H : 0, operands.c0);
  const whr = operands.weightHr === null ? 0 : floats(rt, P * H, operands.weightHr);
  const lengths = ints(rt, spec.lengths);
  const out = uninitialized(rt, outLength);
  const hPrev = uninitialized(rt, sizes.hPrev);
  const act = uninitialized(rt, sizes.act);
  const extra = uninitialized(rt, sizes.extra);
  const cPrev = uninitialized(rt, sizes.cPrev);
  const hRaw = uninitialized(rt, sizes.hRaw);
  const hw = uninitialized(rt, B * GH);
  const hProj = uninitialized(rt, projecting ? B * P : 0);
  const biasIh = floats(rt, GH, operands.biasIh);
  // h W_hh^T and h_raw W_hr^T read the weights as transposed views (the kernels' W^T fields stay 0).
  const recurrent = new StepGemm(rt, { ptr: w, batch: 0, row: 1, col: P }, hw, B, GH, P, false);
  const projection = projecting ? new StepGemm(rt, { ptr: whr, batch: 0, row: 1, col: H }, hProj, B, P, H, false) : null;
  const args = header(rt, spec, [KIND_CODES[kind], T, B, H, P, save ? 1 : 0, 0, x, w, bias, h, c, whr, lengths, out, hPrev, act, extra, cPrev, hRaw, 0, 0, hw, hProj, biasIh]);

  const saveState = rt.exported("recurrentForwardSave") as StepKernel;
  const gates = stepGates(rt, spec, args, "recurrentForwardStep", "recurrentForwardGates").run;
  const projected = rt.exported("recurrentForwardProjected") as StepKernel;
  for (let k = 0; k < T; k++) {
    const t = spec.reverse ? T - 1 - k : k;
    const slot = save ? t : 0;
    saveState(args, t);
    recurrent.run(hPrev + slot * B * P * 4);
    gates(t);
    if (projection !== null) {
      projection.run(hRaw + slot * B * H * 4);
      projected(args, t);
    }
  }
  rt.exported("recurrentForwardEnd")(args);
  const saved: RecurrenceSaved = {
    hPrev: unstage(rt, hPrev, sizes.hPrev),
    act: unstage(rt, act, sizes.act),
    extra: unstage(rt, extra, sizes.extra),
    cPrev: unstage(rt, cPrev, sizes.cPrev),
    hRaw: unstage(rt, hRaw, sizes.hRaw),
  };
  return { output: unstage(rt, out, outLength), saved };
}

export function recurrenceBackwardOn(rt: WasmRuntime, spec: RecurrenceSpec, weightHh: Float32Array, weightHr: Float32Array | null, saved: RecurrenceSaved, gradOutput: Float32Array, weightGrads: boolean): RecurrenceGrads {
  const { kind, steps: T, batch: B, hidden: H, stateSize: P } = spec;
  const GH = gateCount(kind) * H;
  const isLstm = kind === "lstm";
  const isGru = kind === "gru";
  const projecting = weightHr !== null;
  rt.reset();
  const g = floats(rt, gradOutput.length, gradOutput);
  const w = floats(rt, GH * P, weightHh);
  const whr = weightHr === null ? 0 : floats(rt, P * H, weightHr);
  const lengths = ints(rt, spec.lengths);
  // Only GRU's gradient reads h_{t-1}.
  const hPrev = isGru ? floats(rt, saved.hPrev.length, saved.hPrev) : 0;
  const act = floats(rt, saved.act.length, saved.act);
  const extra = floats(rt, saved.extra.length, saved.extra);
  const cPrev = floats(rt, saved.cPrev.length, saved.cPrev);
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
  const recurrent = new StepGemm(rt, { ptr: w, batch: 0, row: P, col: 1 }, dh, B, P, GH, true);
  const projection = projecting ? new StepGemm(rt, { ptr: whr, batch: 0, row: H, col: 1 }, dhRaw, B, H, P, false) : null;
  const args = header(rt, spec, [KIND_CODES[kind], T, B, H, P, 0, 0, g, lengths, projecting ? 1 : 0, hPrev, act, extra, cPrev, dgx, dgh, dProj, dh, dc, dhStep, dhRaw, dBias, dBiasIh, dBiasStep, dBiasIhStep]);

  const input = rt.exported("recurrentBackwardInput") as StepKernel;
  const gates = stepGates(rt, spec, args, "recurrentBackwardStep", "recurrentBackwardGates");
  // The serial kernel sums the step's bias gradients itself; after the split one, this thread does.
  const biasSums = rt.exported("recurrentBackwardBias") as StepKernel;
  rt.exported("recurrentBackwardBegin")(args);
  for (let k = T - 1; k >= 0; k--) {
    const t = spec.reverse ? T - 1 - k : k;
    input(args, t);
    projection?.run(dhStep);
    gates.run(t);
    if (gates.split) biasSums(args, t);
    recurrent.run(dgh + t * B * GH * 4);
  }
  // The weight gradients sum over all steps: one GEMM each, on the step gradients still here.
  const rows = T * B;
  const transposedTimes = (a: number, m: number, b: number, n: number): Float32Array => {
    const out = rt.alloc(m * n * 4);
    gemmOn(rt, { a: { ptr: a, batch: 0, row: 1, col: m }, b: { ptr: b, batch: 0, row: n, col: 1 }, c: { ptr: out, batch: 0, row: n, col: 1 }, batch: 1, m, n, k: rows });
    return unstage(rt, out, m * n);
  };
  const dWeightHh = weightGrads ? transposedTimes(dgh, GH, isGru ? hPrev : floats(rt, saved.hPrev.length, saved.hPrev), P) : null;
  const dWeightHr = weightGrads && projecting ? transposedTimes(dProj, P, floats(rt, saved.hRaw.length, saved.hRaw), H) : null;
  const dGatesX = unstage(rt, dgx, gatesLength);
  const dBiasHh = unstage(rt, dBias, GH);
  return {
    dGatesX,
    dGatesH: isGru ? unstage(rt, dgh, gatesLength) : dGatesX,
    dBiasHh,
    dBiasIh: isGru ? unstage(rt, dBiasIh, GH) : dBiasHh,
    dProj: unstage(rt, dProj, projecting ? T * B * P : 0),
    dh0: unstage(rt, dh, B * P),
    dc0: unstage(rt, dc, isLstm ? B * H : 0),
    dWeightHh,
    dWeightHr,
  };
}
