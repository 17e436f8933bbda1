// How the wasm runtime runs jobs on its threads: every share of a job runs exactly once, even
// when a worker is delayed at the edge between two jobs; a detached job (startDetached) runs
// on a worker while the caller goes on, and is done when finishDetached returns (the caller runs
// the shares the worker has not claimed by then); a job whose share fails on the caller's thread
// reports the failure once the workers' shares are done, instead of waiting forever for the
// failed one.
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

test("every share runs once when a job with few shares is followed by one with more", () => {
  // A worker leaving a job whose shares are all claimed reads the next share, then the share
  // count. When the caller posted a job with more shares in between, the worker used to take the
  // new count with the old job's next share and claim a share that the new job's threads ran as
  // well, twice in all: an accumulating kernel (this momentum step, a GEMM with C +=) then
  // added twice. Back-to-back small jobs hit it within 50000 pairs in five runs of five (a run
  // of the translation trainer now and then, whose losses jumped); a single thread is the reference.
  const rounds = (threads: number): Float32Array => {
    const rt = new WasmRuntime({ threads });
    rt.waitForThreads();
    rt.reset();
    const few = momentumJob(rt, 64), more = momentumJob(rt, 64);
    for (let round = 0; round < 50_000; round++) {
      rt.run("sgdMomentumUpdate", few.args, 2, 1);
      rt.run("sgdMomentumUpdate", more.args, 16, 4);
    }
    return more.param.slice();
  };
  const threaded = rounds(2);
  const serial = rounds(1);
  const differing = threaded.filter((v, i) => v !== serial[i]).length;
  assert.equal(differing, 0, `${differing} of 64 parameters took a step twice (share run twice)`);
});

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

test("a job of more shares than the control words can count is refused", () => {
  const rt = new WasmRuntime({ threads: 2 });
  rt.waitForThreads();
  if (rt.threads < 2) return;
  rt.reset();
  assert.throws(() => rt.run("sgdMomentumUpdate", momentumJob(rt, 4).args, 4096), /at most 2047 shares, got 4096/);
});
