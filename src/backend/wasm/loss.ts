import type { ClassCrossEntropy, ClassCrossEntropyForward } from "../backend.js";
import { classWeightSum } from "../js/loss.js";
import { stageArray, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";

// Cross entropy of [rows, classes] logits (one class dim, inner size 1) on kernels/loss.ts.
// Each pass stages the logits, labels and class weights; rows split across threads.
const MIN_ELEMENTS_PER_THREAD = 64 * 1024;

/** Stages the problem's operands and fills the argument block both kernels share (see kernels/loss.ts). */
function stageProblem(rt: WasmRuntime, p: ClassCrossEntropy): { args: number; rows: number } {
  rt.reset();
  const rows = p.outer;
  const logits = stageArray(rt, p.logits);
  const labels = stageArray(rt, p.labels);
  const weight = stageArray(rt, p.classWeight);
  const args = rt.alloc(48);
  rt.i32(args, 6).set([logits, labels, weight, rows, p.classes, p.ignoreIndex]);
  rt.f32(args + 24, 1)[0] = p.smoothing;
  // The backward kernel's sum of the class weights.
  new Float64Array(rt.memory.buffer, args + 40, 1)[0] = classWeightSum(p);
  return { args, rows };
}

function shares(rt: WasmRuntime, p: ClassCrossEntropy): number {
  return Math.min(p.outer, rt.sharesFor(Math.floor(p.logits.length / MIN_ELEMENTS_PER_THREAD)));
}

export function crossEntropyForwardOn(rt: WasmRuntime, p: ClassCrossEntropy): ClassCrossEntropyForward {
  const { args, rows } = stageProblem(rt, p);
  const sumsPtr = rt.alloc(rows * 24);
  rt.i32(args + 28, 1)[0] = sumsPtr;
  rt.run("crossEntropyForward", args, shares(rt, p));
  // The kernel gives per row shift, sum(exp(x - shift)) and sum(w x); the logs are taken here (see kernels/loss.ts).
  const sums = new Float64Array(rt.memory.buffer, sumsPtr, 3 * rows);
  const { logits, labels, classWeight, classes, ignoreIndex, smoothing } = p;
  const weightSum = smoothing > 0 ? classWeightSum(p) : 0;
  const losses = new Float64Array(rows);
  const rowStats = new Float64Array(2 * rows);
  for (let row = 0; row < rows; row++) {
    const label = labels[row];
    if (label === ignoreIndex) continue;
    const shift = sums[3 * row];
    const sumExp = sums[3 * row + 1];
    const logSumExp = shift + Math.log(sumExp);
    rowStats[2 * row] = shift;
    rowStats[2 * row + 1] = 1 / sumExp;
    let loss = -(classWeight === null ? 1 : classWeight[label]) * (logits[row * classes + label] - logSumExp);
    if (smoothing > 0) loss = (1 - smoothing) * loss + (smoothing / classes) * (logSumExp * weightSum - sums[3 * row + 2]);
    losses[row] = loss;
  }
  return { losses, rowStats };
}

export function crossEntropyBackwardOn(rt: WasmRuntime, p: ClassCrossEntropy, rowStats: Float64Array, rowGrad: Float64Array): Float32Array {
  const { args, rows } = stageProblem(rt, p);
  const stats = rt.alloc(rows * 16);
  new Float64Array(rt.memory.buffer, stats, 2 * rows).set(rowStats);
  const gradPerRow = rt.alloc(rows * 8);
  new Float64Array(rt.memory.buffer, gradPerRow, rows).set(rowGrad);
  const grad = rt.alloc(p.logits.length * 4);
  rt.i32(args + 28, 3).set([stats, gradPerRow, grad]);
  rt.run("crossEntropyBackward", args, shares(rt, p));
  return unstage(rt, grad, p.logits.length);
}
