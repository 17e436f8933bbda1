// The wasm cross-entropy kernels (kernels/loss.ts) against the JS reference (src/backend/js/loss.ts)
// on random odd shapes, in every build (SIMD and relaxed SIMD, one to three threads), with class
// weights, label smoothing, ignored targets and extreme logits; then F.crossEntropy end to end on
// both backends with strided inputs, every reduction, forward and backward.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import type { ClassCrossEntropy } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { crossEntropyBackwardOn, crossEntropyForwardOn } from "../../src/backend/wasm/loss.js";
import { assertClose, pick, rng } from "../helpers.js";
import { assertAllClose, wasmRuntimes } from "../wasm-helpers.js";

const RUNTIMES = wasmRuntimes();

/** The shared comparison, tolerances first. */
const assertNear = (actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, label: string): void => assertAllClose(actual, expected, atol, label, rtol);

/** A random problem: logits at a random scale (some rows with -inf classes, as after masking), some targets ignored. */
function randomProblem(r: () => number, rows: number, classes: number, weighted: boolean, smoothing: number): ClassCrossEntropy {
  const ignoreIndex = pick(r, [-100, 0, classes - 1]);
  const scale = pick(r, [0.1, 1, 5, 40]);
  const logits = new Float32Array(rows * classes);
  for (let i = 0; i < logits.length; i++) logits[i] = (r() * 2 - 1) * scale;
  for (let row = 0; row < rows; row++) {
    if (r() < 0.2) for (let c = 0; c < classes; c++) if (r() < 0.3) logits[row * classes + c] = -Infinity;
  }
  const labels = Int32Array.from({ length: rows }, () => (r() < 0.2 ? ignoreIndex : Math.floor(r() * classes)));
  // A target class at -inf would make an infinite loss; keep targets finite.
  labels.forEach((y, row) => {
    if (y >= 0 && y !== ignoreIndex && logits[row * classes + y] === -Infinity) logits[row * classes + y] = 0;
  });
  const classWeight = weighted ? Float32Array.from({ length: classes }, () => 0.1 + 2 * r()) : null;
  return { logits, labels, classWeight, outer: rows, classes, inner: 1, ignoreIndex, smoothing };
}

test("wasm cross entropy matches the JS reference forward and backward on random odd shapes", () => {
  const r = rng(4242);
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 30; trial++) {
      const rows = pick(r, [1, 2, 3, 7, 33, 65]);
      const classes = pick(r, [1, 2, 3, 4, 5, 17, 130, 1027]);
      const weighted = r() < 0.5;
      const smoothing = pick(r, [0, 0, 0.1, 1]);
      const p = randomProblem(r, rows, classes, weighted, smoothing);
      const what = `${label}, [${rows}, ${classes}] weighted ${weighted} smoothing ${smoothing} ignore ${p.ignoreIndex}`;
      const want = jsBackend.crossEntropyForward(p);
      const got = crossEntropyForwardOn(rt, p);
      assert.deepEqual([...got.rowStats].filter((_, i) => i % 2 === 0), [...want.rowStats].filter((_, i) => i % 2 === 0), `${what}: shifts`);
      assertNear(got.rowStats.filter((_, i) => i % 2 === 1), want.rowStats.filter((_, i) => i % 2 === 1), 0, 1e-5, `${what}: inverse sums`);
      assertNear(got.losses, want.losses, 1e-5, 1e-5, `${what}: losses`);
      const rowGrad = Float64Array.from(p.labels, (y) => (y === p.ignoreIndex ? 0 : r() * 4 - 2));
      const gradWant = jsBackend.crossEntropyBackward(p, want.rowStats, rowGrad);
      const gradGot = crossEntropyBackwardOn(rt, p, got.rowStats, rowGrad);
      assertNear(gradGot, gradWant, 2e-6, 1e-5, `${what}: gradient`);
      // Ignored rows are exactly zero (the kernel writes them; wasm memory is reused).
      p.labels.forEach((y, row) => {
        if (y === p.ignoreIndex) assert.ok(gradGot.subarray(row * classes, (row + 1) * classes).every((v) => v === 0), `${what}: ignored row ${row}`);
      });
    }
  }
});

test("a row whose logits are all -inf gives NaN on both backends, and infinite logits are not shifted", () => {
  const { rt } = RUNTIMES[0];
  const logits = Float32Array.from([-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, 2, Infinity, 0, 3, 1, 2, 0, 5, 4, 2, 1, 0]);
  const p: ClassCrossEntropy = { logits, labels: Int32Array.from([1, 2, 4]), classWeight: null, outer: 3, classes: 6, inner: 1, ignoreIndex: -100, smoothing: 0 };
  const want = jsBackend.crossEntropyForward(p);
  const got = crossEntropyForwardOn(rt, p);
  assert.ok(Number.isNaN(want.losses[0]) && Number.isNaN(got.losses[0]), `all -inf: ${want.losses[0]} (JS), ${got.losses[0]} (wasm)`);
  assert.deepEqual([got.rowStats[0], got.rowStats[2]], [0, 0]);
  assert.equal(got.losses[1], Infinity);
  assertNear(got.losses.subarray(1), want.losses.subarray(1), 1e-6, 1e-6, "finite rows");
});

function crossEntropyOn(backend: string, run: () => flint.Tensor[]): Float32Array[] {
  const before = flint.getBackend();
  flint.setBackend(backend);
  try {
    return run().map((t) => t.data() as Float32Array);
  } finally {
    flint.setBackend(before);
  }
}

test("F.crossEntropy gives the same values and gradients on the wasm and JS backends", () => {
  const r = rng(77);
  for (let trial = 0; trial < 12; trial++) {
    const [n, c] = [pick(r, [3, 37, 129]), pick(r, [29, 301, 1031])];
    const reduction = pick(r, ["mean", "sum", "none"] as const);
    const transposed = r() < 0.5;
    const weight = r() < 0.5 ? flint.rand([c]).add(0.5) : null;
    const labelSmoothing = pick(r, [0, 0.2]);
    const target = flint.randint(0, c, [n]);
    const upstream = reduction === "none" ? flint.randn([n]) : flint.tensor(1.5);
    // Transposed: the logits are a strided view of a [C, N] tensor.
    const source = transposed ? flint.randn([c, n]).mul(3) : flint.randn([n, c]).mul(3);
    const results = ["js", "wasm"].map((backend) =>
      crossEntropyOn(backend, () => {
        const leaf = source.clone().requiresGrad_();
        const logits = transposed ? leaf.transpose(0, 1) : leaf;
        const loss = flint.nn.functional.crossEntropy(logits, target, { reduction, weight, labelSmoothing, ignoreIndex: 0 });
        loss.backward(upstream);
        return [loss, leaf.grad!];
      }),
    );
    const what = `[${n}, ${c}] ${reduction} transposed ${transposed} weighted ${weight !== null} smoothing ${labelSmoothing}`;
    assertClose(flint.tensor(Array.from(results[1][0])), Array.from(results[0][0]), { atol: 1e-5, rtol: 1e-5, message: `${what}: loss` });
    assertClose(flint.tensor(Array.from(results[1][1])), Array.from(results[0][1]), { atol: 1e-6, rtol: 1e-5, message: `${what}: gradient` });
  }
});
