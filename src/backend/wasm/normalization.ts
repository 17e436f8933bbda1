import type { LayerNormGrads, LayerNormProblem, LayerNormStats } from "../backend.js";
import { stageArray, unstage } from "./operands.js";
import { sumPartialsOn } from "./reduce.js";
import type { WasmRuntime } from "./runtime.js";

// Layer normalization on kernels/normalization.ts: rows split across threads; the backward
// pass's weight and bias gradients are summed per share, then across shares by sumPartials.
const MIN_ELEMENTS_PER_THREAD = 32 * 1024;

function sharesFor(rt: WasmRuntime, p: LayerNormProblem): number {
  return Math.max(1, Math.min(p.rows, rt.sharesFor(Math.floor((p.rows * p.size) / MIN_ELEMENTS_PER_THREAD))));
}

export function layerNormOn(rt: WasmRuntime, p: LayerNormProblem): { output: Float32Array; stats: LayerNormStats } {
  rt.reset();
  const x = stageArray(rt, p.x);
  const weight = stageArray(rt, p.weight);
  const bias = stageArray(rt, p.bias);
  const out = rt.alloc(p.rows * p.size * 4);
  const mean = rt.alloc(p.rows * 4);
  const rstd = rt.alloc(p.rows * 4);
  const args = rt.alloc(9 * 4);
  rt.i32(args, 8).set([x, out, mean, rstd, weight, bias, p.rows, p.size]);
  rt.f32(args + 32, 1)[0] = p.eps;
  rt.run("layerNormForward", args, sharesFor(rt, p));
  return { output: unstage(rt, out, p.rows * p.size), stats: { mean: unstage(rt, mean, p.rows), rstd: unstage(rt, rstd, p.rows) } };
}

export function layerNormBackwardOn(rt: WasmRuntime, p: LayerNormProblem, stats: LayerNormStats, grad: Float32Array, want: { input: boolean; weight: boolean; bias: boolean }): LayerNormGrads {
  rt.reset();
  const size = p.rows * p.size;
  const g = stageArray(rt, grad);
  const x = stageArray(rt, p.x);
  const mean = stageArray(rt, stats.mean);
  const rstd = stageArray(rt, stats.rstd);
  const weight = stageArray(rt, p.weight);
  const shares = sharesFor(rt, p);
  const dx = want.input ? rt.alloc(size * 4) : 0;
  const weightPartials = want.weight ? rt.alloc(shares * p.size * 4) : 0;
  const biasPartials = want.bias ? rt.alloc(shares * p.size * 4) : 0;
  const args = rt.alloc(10 * 4);
  rt.i32(args, 10).set([g, x, mean, rstd, weight, dx, weightPartials, biasPartials, p.rows, p.size]);
  rt.run("layerNormBackward", args, shares);
  const sumPartials = (partials: number): Float32Array => unstage(rt, sumPartialsOn(rt, partials, shares, p.size), p.size);
  return {
    input: want.input ? unstage(rt, dx, size) : null,
    weight: want.weight ? sumPartials(weightPartials) : null,
    bias: want.bias ? sumPartials(biasPartials) : null,
  };
}
