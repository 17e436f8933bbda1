import type { AdamUpdate, SgdMomentumUpdate } from "../backend.js";
import type { WasmRuntime } from "./runtime.js";

// An update's arrays that live in JS memory are streamed through wasm memory in chunks small
// enough to stay in cache (copy in, kernel, copy back): the copies then cost about what the
// kernel saves over the JS loop's scalar double arithmetic. Arrays already in wasm memory (the
// optimizer state from allocateState) are updated where they are, with no copies. One thread:
// the copies run on the caller's thread anyway and bound the speed.
const CHUNK = 16 * 1024;

/**
 * Runs an in-place update kernel over `arrays` (equal lengths) chunk by chunk: per chunk, the
 * kernel's args block gets one pointer per array (at `args`, in order) and the chunk length (at
 * `lengthAt`); arrays outside wasm memory are staged per chunk and the `written` ones copied back.
 */
function streamChunks(rt: WasmRuntime, kernel: "adamUpdate" | "sgdMomentumUpdate", args: number, lengthAt: number, arrays: Float32Array[], written: boolean[]): void {
  const n = arrays[0].length;
  const chunk = Math.min(CHUNK, n);
  const resident = arrays.map((values) => rt.residentPointer(values));
  const staging = resident.map((ptr) => (ptr >= 0 ? -1 : rt.alloc(chunk * 4)));
  const pointers = rt.i32(args, arrays.length);
  const length = rt.i32(lengthAt, 1);
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    for (let k = 0; k < arrays.length; k++) {
      if (resident[k] >= 0) {
        pointers[k] = resident[k] + start * 4;
      } else {
        pointers[k] = staging[k];
        rt.f32(staging[k], end - start).set(arrays[k].subarray(start, end));
      }
    }
    length[0] = end - start;
    rt.run(kernel, args, 1);
    for (let k = 0; k < arrays.length; k++) {
      if (written[k] && resident[k] < 0) arrays[k].set(rt.f32(staging[k], end - start), start);
    }
  }
}

/** Adam / AdamW on the wasm kernel (kernels/optim.ts adamUpdate), in place. */
export function adamUpdateOn(rt: WasmRuntime, u: AdamUpdate): void {
  rt.reset();
  const args = rt.alloc(13 * 4);
  rt.f32(args + 20, 8).set([u.beta1, u.beta2, u.oneMinusBeta1, u.oneMinusBeta2, u.biasCorrection2Sqrt, u.eps, u.negStepSize, u.decay]);
  streamChunks(rt, "adamUpdate", args, args + 16, [u.param, u.grad, u.expAvg, u.expAvgSq], [true, false, true, true]);
}

/** SGD's momentum step on the wasm kernel (kernels/optim.ts sgdMomentumUpdate), in place. */
export function sgdMomentumUpdateOn(rt: WasmRuntime, u: SgdMomentumUpdate): void {
  rt.reset();
  const args = rt.alloc(8 * 4);
  rt.i32(args + 16, 1)[0] = u.nesterov ? 1 : 0;
  rt.f32(args + 20, 3).set([u.momentum, u.keep, u.negLr]);
  streamChunks(rt, "sgdMomentumUpdate", args, args + 12, [u.param, u.grad, u.buffer], [true, false, true]);
}
