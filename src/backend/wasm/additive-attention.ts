import type { AdditiveAttentionGrads, AdditiveAttentionProblem } from "../backend.js";
import { stageArray, unstage } from "./operands.js";
import { sumPartialsOn } from "./reduce.js";
import type { WasmRuntime } from "./runtime.js";

// Additive attention on kernels/additive-attention.ts: samples split across threads (a share
// owns its samples' key and value gradients); v's gradient is summed per sample, then across
// samples by sumPartials, so results do not depend on the thread count. The attention decoder
// (attention-decoder.ts) runs the same kernels on buffers it keeps in wasm memory across its
// time steps.
const MIN_ELEMENTS_PER_THREAD = 32 * 1024;
const FIELDS = 18;

/** The sizes of one attention call. */
export interface AttentionDims {
  batch: number;
  queries: number;
  keys: number;
  hidden: number;
  valueSize: number;
}

/** Pointers into wasm memory for one call; `outStride` floats between rows of out and grad (at least D + S). */
export interface AttentionBuffers {
  query: number;
  key: number;
  v: number;
  values: number;
  mask: number;
  out: number;
  outStride: number;
}

function attentionShares(rt: WasmRuntime, p: AttentionDims): number {
  const elements = p.batch * p.queries * p.keys * Math.max(p.hidden, p.valueSize);
  return Math.max(1, Math.min(p.batch, rt.sharesFor(Math.floor(elements / MIN_ELEMENTS_PER_THREAD))));
}

function dims(p: AttentionDims): number[] {
  return [p.batch, p.queries, p.keys, p.hidden, p.valueSize];
}

/** The forward kernel: writes `b.out`'s rows (context, then weights). */
export function runAttentionForward(rt: WasmRuntime, p: AttentionDims, b: AttentionBuffers): void {
  const args = rt.alloc(FIELDS * 4);
  rt.i32(args, FIELDS).set([b.query, b.key, b.v, b.values, b.mask, b.out, b.outStride, 0, 0, ...dims(p), 0, 0, 0, 0]);
  rt.run("additiveAttentionForward", args, attentionShares(rt, p));
}

/** Where the backward kernel writes (or, accumulating, adds) its gradients; `vPartials` holds one [H] row per sample. */
export interface AttentionGradBuffers {
  grad: number;
  dQuery: number;
  dKey: number;
  dValues: number;
  vPartials: number;
}

export function runAttentionBackward(rt: WasmRuntime, p: AttentionDims, b: AttentionBuffers, g: AttentionGradBuffers, accumulate: boolean): void {
  const shares = attentionShares(rt, p);
  const scratch = rt.alloc(shares * p.keys * 4);
  const args = rt.alloc(FIELDS * 4);
  rt.i32(args, FIELDS).set([b.values, b.v, b.out, b.query, g.grad, g.dQuery, g.dKey, g.dValues, g.vPartials, ...dims(p), scratch, b.key, b.outStride, accumulate ? 1 : 0]);
  rt.run("additiveAttentionBackward", args, shares);
}

function stageProblem(rt: WasmRuntime, p: AdditiveAttentionProblem, out: number): AttentionBuffers {
  return {
    query: stageArray(rt, p.query),
    key: stageArray(rt, p.key),
    v: stageArray(rt, p.v),
    values: stageArray(rt, p.values),
    mask: stageArray(rt, p.mask),
    out,
    outStride: p.valueSize + p.keys,
  };
}

export function additiveAttentionOn(rt: WasmRuntime, p: AdditiveAttentionProblem): Float32Array {
  rt.reset();
  const length = p.batch * p.queries * (p.valueSize + p.keys);
  const buffers = stageProblem(rt, p, rt.alloc(length * 4));
  runAttentionForward(rt, p, buffers);
  return unstage(rt, buffers.out, length);
}

export function additiveAttentionBackwardOn(rt: WasmRuntime, p: AdditiveAttentionProblem, out: Float32Array, gradOut: Float32Array): AdditiveAttentionGrads {
  const { batch: N, queries: L, keys: S, hidden: H, valueSize: D } = p;
  rt.reset();
  const buffers = stageProblem(rt, p, stageArray(rt, out));
  const grads: AttentionGradBuffers = {
    grad: stageArray(rt, gradOut),
    dQuery: rt.alloc(N * L * H * 4),
    dKey: rt.alloc(N * S * H * 4),
    dValues: rt.alloc(N * S * D * 4),
    vPartials: rt.alloc(N * H * 4),
  };
  runAttentionBackward(rt, p, buffers, grads, false);
  const dv = sumPartialsOn(rt, grads.vPartials, N, H);
  return { query: unstage(rt, grads.dQuery, N * L * H), key: unstage(rt, grads.dKey, N * S * H), v: unstage(rt, dv, H), values: unstage(rt, grads.dValues, N * S * D) };
}
