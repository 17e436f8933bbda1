import type { AdamUpdate, SgdMomentumUpdate } from "../backend.js";
import type { WasmRuntime } from "./runtime.js";

// The optimizer's arrays live in JS memory, so each update streams them through wasm memory in
// chunks small enough to stay in cache (copy in, kernel, copy back): the copies then cost about
// what the kernel saves over the JS loop's scalar double arithmetic. One thread: the copies run
// on the caller's thread anyway and bound the speed.
const CHUNK = 16 * 1024;

/** Stages `arrays` chunk by chunk at `buffers`, runs `kernel` on each chunk, and copies the `written` ones back. */
function streamChunks(rt: WasmRuntime, arrays: Float32Array[], written: boolean[], buffers: number[], setLength: (n: number) => void, run: () => void): void {
  const n = arrays[0].length;
  const views = buffers.map((ptr) => rt.f32(ptr, Math.min(CHUNK, n)));
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    const length = end - start;
    for (let k = 0; k < arrays.length; k++) views[k].set(arrays[k].subarray(start, end));
    setLength(length);
    run();
    for (let k = 0; k < arrays.length; k++) {
      if (written[k]) arrays[k].set(length === views[k].length ? views[k] : views[k].subarray(0, length), start);
    }
  }
}

/** Adam / AdamW on the wasm kernel (kernels/optim.ts adamUpdate), in place. */
export function adamUpdateOn(rt: WasmRuntime, u: AdamUpdate): void {
  rt.reset();
  const chunk = Math.min(CHUNK, u.param.length);
  const buffers = [0, 1, 2, 3].map(() => rt.alloc(chunk * 4));
  const args = rt.alloc(13 * 4);
  rt.i32(args, 4).set(buffers);
  rt.f32(args + 20, 8).set([u.beta1, u.beta2, u.oneMinusBeta1, u.oneMinusBeta2, u.biasCorrection2Sqrt, u.eps, u.negStepSize, u.decay]);
  const length = rt.i32(args + 16, 1);
  streamChunks(rt, [u.param, u.grad, u.expAvg, u.expAvgSq], [true, false, true, true], buffers, (n) => (length[0] = n), () => rt.run("adamUpdate", args, 1));
}

/** SGD's momentum step on the wasm kernel (kernels/optim.ts sgdMomentumUpdate), in place. */
export function sgdMomentumUpdateOn(rt: WasmRuntime, u: SgdMomentumUpdate): void {
  rt.reset();
  const chunk = Math.min(CHUNK, u.param.length);
  const buffers = [0, 1, 2].map(() => rt.alloc(chunk * 4));
  const args = rt.alloc(8 * 4);
  rt.i32(args, 5).set([...buffers, 0, u.nesterov ? 1 : 0]);
  rt.f32(args + 20, 3).set([u.momentum, u.keep, u.negLr]);
  const length = rt.i32(args + 12, 1);
  streamChunks(rt, [u.param, u.grad, u.buffer], [true, false, true], buffers, (n) => (length[0] = n), () => rt.run("sgdMomentumUpdate", args, 1));
}
