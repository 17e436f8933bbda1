// Shared helpers of the wasm kernel tests: one runtime per build and thread count, and an
// elementwise comparison of kernel results against the JS reference.
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { WasmRuntime } from "../src/backend/wasm/runtime.js";

// Node 20 validates relaxed SIMD only behind this flag; it must be set before a relaxed module compiles.
setFlagsFromString("--experimental-wasm-relaxed-simd");

/** Whether this engine runs the relaxed-SIMD (FMA) build. */
export const relaxedAvailable: boolean = new WasmRuntime({ threads: 1 }).relaxedSimd;

export interface TestRuntime {
  label: string;
  rt: WasmRuntime;
  threads: number;
}

/**
 * A runtime for every build (plain SIMD, and relaxed FMA where the engine validates it) and
 * every thread count in `threadCounts`, with all its threads up, so threaded splits are exercised.
 */
export function wasmRuntimes(threadCounts: readonly number[] = [1, 2, 3]): TestRuntime[] {
  const runtimes: TestRuntime[] = [];
  for (const relaxedSimd of relaxedAvailable ? [false, true] : [false]) {
    for (const threads of threadCounts) {
      const rt = new WasmRuntime({ relaxedSimd, threads });
      rt.waitForThreads();
      runtimes.push({ label: `${relaxedSimd ? "relaxed" : "simd"}, ${threads} thread(s)`, rt, threads });
    }
  }
  return runtimes;
}

/** |actual - expected| <= atol + rtol * |expected| elementwise (equal values and NaN where NaN is expected pass). */
export function assertAllClose(actual: ArrayLike<number> | null, expected: ArrayLike<number> | null, atol: number, label: string, rtol = 1e-4): void {
  assert.ok(actual !== null && expected !== null, `${label}: missing result`);
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a: number = actual[i];
    const e: number = expected[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) assert.fail(`${label}: element ${i} is ${a}, expected ${e}`);
  }
}

/**
 * Runs `body` with `rt.run` recording the name of every kernel it runs into the array `body`
 * gets (clear it between calls to see one call's kernels); `rt.run` is restored after.
 */
export function withKernelLog(rt: WasmRuntime, body: (kernels: string[]) => void): void {
  const kernels: string[] = [];
  const run = rt.run;
  rt.run = (kernel, ...rest) => {
    kernels.push(kernel);
    return run.call(rt, kernel, ...rest);
  };
  try {
    body(kernels);
  } finally {
    rt.run = run;
  }
}
