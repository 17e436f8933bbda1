// How the wasm runtime runs jobs on its threads: a detached job (startDetached) runs on a worker
// while the caller goes on, and is done when finishDetached returns (the caller runs the shares
// the worker has not claimed by then); a job whose share fails on
// the caller's thread reports the failure once the workers' shares are done, instead of waiting
// forever for the failed one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WasmRuntime } from "../../src/backend/wasm/runtime.js";

/** An sgdMomentumUpdate args block over `n` floats: param -= lr * (momentum * buffer + grad), buffer updated. */
function momentumJob(rt: WasmRuntime, n: number): { args: number; param: Float32Array; buffer: Float32Array } {
  const param = rt.alloc(n * 4), grad = rt.alloc(n * 4), buffer = rt.alloc(n * 4);
  rt.f32(param, n).fill(1);
  rt.f32(grad, n).fill(2);
  rt.f32(buffer, n).fill(3);
  const args = rt.alloc(8 * 4);
  rt.i32(args, 5).set([param, grad, buffer, n, 0]);
  rt.f32(args + 20, 3).set([0.5, 1, -0.25]); // momentum, 1 - dampening, -lr
  return { args, param: rt.f32(param, n), buffer: rt.f32(buffer, n) };
}

test("a detached job runs on a worker and is done when finishDetached returns; one thread starts none", () => {
  const rt = new WasmRuntime({ threads: 2 });
  rt.waitForThreads();
  if (rt.threads < 2) return; // no shared memory: nothing to detach to
  rt.reset();
  const n = 100_003;
  const job = momentumJob(rt, n);
  assert.equal(rt.startDetached("sgdMomentumUpdate", job.args), true);
  rt.finishDetached();
  // buffer = 0.5 * 3 + 2 = 3.5; param = 1 - 0.25 * 3.5 = 0.125
  assert.ok(job.buffer.every((v) => v === 3.5) && job.param.every((v) => v === 0.125));
  // In shares: every one runs once, whichever thread claims it.
  rt.reset();
  const shared = momentumJob(rt, n);
  assert.equal(rt.startDetached("sgdMomentumUpdate", shared.args, 7), true);
  rt.finishDetached();
  assert.ok(shared.buffer.every((v) => v === 3.5) && shared.param.every((v) => v === 0.125));

  const single = new WasmRuntime({ threads: 1 });
  single.reset();
  assert.equal(single.startDetached("sgdMomentumUpdate", momentumJob(single, 10).args), false);
});

test("a share that fails on the caller's thread fails the job without waiting for itself", () => {
  const rt = new WasmRuntime({ threads: 2 });
  rt.waitForThreads();
  if (rt.threads < 2) return;
  rt.reset();
  const args = rt.alloc(8 * 4);
  // Pointers past the end of memory: every share traps.
  rt.i32(args, 5).set([0x7ff00000, 0x7ff00000, 0x7ff00000, 1 << 20, 0]);
  assert.throws(() => rt.run("sgdMomentumUpdate", args, 8), /out of bounds|kernel sgdMomentumUpdate failed/);
  // The runtime still works afterwards.
  rt.reset();
  const job = momentumJob(rt, 4099);
  rt.run("sgdMomentumUpdate", job.args, 8);
  assert.ok(job.param.every((v) => v === 0.125));
});
