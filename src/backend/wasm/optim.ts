import type { AdamUpdate, SgdMomentumUpdate } from "../backend.js";
import type { WasmRuntime } from "./runtime.js";

// An update's arrays that live in JS memory are streamed through wasm memory in chunks small
// enough to stay in cache (copy in, kernel, copy back): the copies then cost about what the
// kernel saves over the JS loop's scalar double arithmetic. Arrays already in wasm memory (the
// optimizer state from allocateState) are updated where they are, with no copies. The copies
// run on the caller's thread; with a worker up, a chunk's kernel starts there while the caller
// stages the next chunk, then the caller joins it and copies the chunk back. Measured on the
// translator's 3.3M parameters (moments resident): Adam's step 8.4-11.0 -> 6.2-6.6 ms with the
// worker alone; the caller's join then took the translation step to 0.95 of that. Chunks of 64K
// elements (a 1 MB slot for Adam: L2-sized) instead of 16K hand the worker a quarter as many
// jobs: Adam inside the translation step 17-23 -> 12-16 ms (medians of four runs each), SGD
// inside the LeNet step 0.68-0.80 -> 0.57-0.71 ms.
/** @internal Elements per streamed chunk (exported for the tests that cross chunk boundaries). */
export const STREAM_CHUNK = 64 * 1024;

/** One chunk's wasm side: its own args block (pointers, length, the update's constants) and staging. */
interface ChunkSlot {
  args: number;
  staging: number[];
}

/**
 * Runs an in-place update kernel over `arrays` (equal lengths) chunk by chunk: per chunk, the
 * kernel's args block (`argsBytes` at `args`, the update's constants already written) gets one
 * pointer per array (at its start, in order) and the chunk length (at byte `lengthAt` of it);
 * arrays outside wasm memory are staged per chunk and the `written` ones copied back.
 */
function streamChunks(rt: WasmRuntime, kernel: "adamUpdate" | "sgdMomentumUpdate", args: number, argsBytes: number, lengthAt: number, arrays: Float32Array[], written: boolean[]): void {
  const n = arrays[0].length;
  const chunk = Math.min(STREAM_CHUNK, n);
  const resident = arrays.map((values) => rt.residentPointer(values));
  // Two slots, so that one chunk's kernel runs while the next is staged and the last copied back.
  const slots: ChunkSlot[] = [0, 1].map((s) => {
    const slotArgs = s === 0 ? args : rt.alloc(argsBytes);
    if (s > 0) rt.u8(slotArgs, argsBytes).set(rt.u8(args, argsBytes));
    return { args: slotArgs, staging: resident.map((ptr) => (ptr >= 0 ? -1 : rt.alloc(chunk * 4))) };
  });
  const chunks = Math.ceil(n / STREAM_CHUNK);
  const bounds = (c: number) => [c * STREAM_CHUNK, Math.min(n, (c + 1) * STREAM_CHUNK)];
  const stageChunk = (c: number): void => {
    const [start, end] = bounds(c);
    const slot = slots[c % 2];
    const pointers = rt.i32(slot.args, arrays.length);
    for (let k = 0; k < arrays.length; k++) {
      if (resident[k] >= 0) {
        pointers[k] = resident[k] + start * 4;
      } else {
        pointers[k] = slot.staging[k];
        rt.f32(slot.staging[k], end - start).set(arrays[k].subarray(start, end));
      }
    }
    rt.i32(slot.args + lengthAt, 1)[0] = end - start;
  };
  const copyBack = (c: number): void => {
    const [start, end] = bounds(c);
    const slot = slots[c % 2];
    for (let k = 0; k < arrays.length; k++) {
      if (written[k] && resident[k] < 0) arrays[k].set(rt.f32(slot.staging[k], end - start), start);
    }
  };
  // A chunk's kernel in two shares: the worker takes the first at once, the caller the second once
  // the next chunk is staged, unless the worker got there first.
  const launch = (c: number): boolean => {
    const started = rt.startDetached(kernel, slots[c % 2].args, 2);
    if (!started) rt.run(kernel, slots[c % 2].args, 1);
    return started;
  };
  stageChunk(0);
  let detached = launch(0);
  for (let c = 0; c < chunks; c++) {
    if (c + 1 < chunks) stageChunk(c + 1);
    if (detached) rt.finishDetached();
    if (c + 1 < chunks) detached = launch(c + 1);
    copyBack(c);
  }
}

/** Adam / AdamW on the wasm kernel (kernels/optim.ts adamUpdate), in place. */
export function adamUpdateOn(rt: WasmRuntime, u: AdamUpdate): void {
  rt.reset();
  const args = rt.alloc(13 * 4);
  rt.f32(args + 20, 8).set([u.beta1, u.beta2, u.oneMinusBeta1, u.oneMinusBeta2, u.biasCorrection2Sqrt, u.eps, u.negStepSize, u.decay]);
  streamChunks(rt, "adamUpdate", args, 13 * 4, 16, [u.param, u.grad, u.expAvg, u.expAvgSq], [true, false, true, true]);
}

/** SGD's momentum step on the wasm kernel (kernels/optim.ts sgdMomentumUpdate), in place. */
export function sgdMomentumUpdateOn(rt: WasmRuntime, u: SgdMomentumUpdate): void {
  rt.reset();
  const args = rt.alloc(8 * 4);
  rt.i32(args + 16, 1)[0] = u.nesterov ? 1 : 0;
  rt.f32(args + 20, 3).set([u.momentum, u.keep, u.negLr]);
  streamChunks(rt, "sgdMomentumUpdate", args, 8 * 4, 12, [u.param, u.grad, u.buffer], [true, false, true]);
}
