import type { AdditiveAttentionGrads, AdditiveAttentionProblem, AdditiveAttentionResult } from "../backend.js";
import { stageArray, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

// Additive attention on kernels/additive-attention.ts: samples split across threads (a share
// owns its samples' key and value gradients); v's gradient is summed per share, then by
// sumPartials.
const MIN_ELEMENTS_PER_THREAD = 32 * 1024;
const FIELDS = 15;

function sharesFor(rt: WasmRuntime, p: AdditiveAttentionProblem): number {
  const elements = p.batch * p.queries * p.keys * Math.max(p.hidden, p.valueSize);
  return Math.max(1, Math.min(p.batch, rt.sharesFor(Math.floor(elements / MIN_ELEMENTS_PER_THREAD))));
}

/** The dimension fields, after the nine pointer slots. */
function dims(p: AdditiveAttentionProblem): number[] {
  return [p.batch, p.queries, p.keys, p.hidden, p.valueSize];
}

function stageMask(rt: WasmRuntime, mask: Uint8Array | null): number {
  if (mask === null) return 0;
  const ptr = rt.alloc(mask.length);
  rt.u8(ptr, mask.length).set(mask);
  return ptr;
}

export function additiveAttentionOn(rt: WasmRuntime, p: AdditiveAttentionProblem): AdditiveAttentionResult {
  const { batch: N, queries: L, keys: S, hidden: H, valueSize: D } = p;
  rt.reset();
  const query = stageArray(rt, p.query);
  const key = stageArray(rt, p.key);
  const v = stageArray(rt, p.v);
  const values = stageArray(rt, p.values);
  const mask = stageMask(rt, p.mask);
  const out = rt.alloc(N * L * (D + S) * 4);
  const tanh = rt.alloc(N * L * S * H * 4);
  const args = rt.alloc(FIELDS * 4);
  rt.i32(args, FIELDS).set([query, key, v, values, mask, out, tanh, 0, 0, ...dims(p), 0]);
  rt.run("additiveAttentionForward", args, sharesFor(rt, p));
  return { out: unstage(rt, out, N * L * (D + S)), tanh: unstage(rt, tanh, N * L * S * H) };
}

export function additiveAttentionBackwardOn(rt: WasmRuntime, p: AdditiveAttentionProblem, forward: AdditiveAttentionResult, gradOut: Float32Array): AdditiveAttentionGrads {
  const { batch: N, queries: L, keys: S, hidden: H, valueSize: D } = p;
  rt.reset();
  const shares = sharesFor(rt, p);
  const values = stageArray(rt, p.values);
  const v = stageArray(rt, p.v);
  const out = stageArray(rt, forward.out);
  const tanh = stageArray(rt, forward.tanh);
  const grad = stageArray(rt, gradOut);
  const dQuery = rt.alloc(N * L * H * 4);
  const dKey = rt.alloc(N * S * H * 4);
  const dValues = rt.alloc(N * S * D * 4);
  const vPartials = rt.alloc(shares * H * 4);
  const scratch = rt.alloc(shares * S * 4);
  const args = rt.alloc(FIELDS * 4);
  rt.i32(args, FIELDS).set([values, v, out, tanh, grad, dQuery, dKey, dValues, vPartials, ...dims(p), scratch]);
  rt.run("additiveAttentionBackward", args, shares);
  const dv = rt.alloc(H * 4);
  const sumArgs = rt.alloc(4 * 4);
  rt.i32(sumArgs, 4).set([vPartials, shares, H, dv]);
  rt.run("sumPartials", sumArgs, 1);
  return { query: unstage(rt, dQuery, N * L * H), key: unstage(rt, dKey, N * S * H), v: unstage(rt, dv, H), values: unstage(rt, dValues, N * S * D) };
}
