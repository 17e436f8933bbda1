// Every wasm kernel against the JS reference backend on randomized shapes and views (odd sizes,
// 1-element dims, transposed, sliced, flipped and broadcast operands), in every build the
// backend ships: SIMD and relaxed-SIMD FMA, single-threaded (private memory) and threaded
// (shared memory, uneven splits included).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { WindowGeometry } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { binaryOn, unaryOn } from "../../src/backend/wasm/elementwise.js";
import { wasmBackend } from "../../src/backend/wasm/index.js";
import { reduceOn } from "../../src/backend/wasm/reduce.js";
import { matmulOn } from "../../src/backend/wasm/matmul.js";
import { WasmRuntime } from "../../src/backend/wasm/runtime.js";
import { foldOn, unfoldOn } from "../../src/backend/wasm/window.js";
import { Layout } from "../../src/core/layout.js";
import { pick, rng } from "../helpers.js";
import { assertAllClose as assertClose, relaxedAvailable, wasmRuntimes } from "../wasm-helpers.js";

type ViewKind = "contiguous" | "transposed" | "sliced" | "flipped" | "broadcast";
const VIEW_KINDS: readonly ViewKind[] = ["contiguous", "transposed", "sliced", "flipped", "broadcast"];

/** Random storage seen through a view of the given kind with logical shape `shape`. */
function randomView(r: () => number, shape: number[], kind: ViewKind, swapDims: [number, number]): { data: Float32Array; layout: Layout } {
  let parent: Layout;
  let layout: Layout;
  if (kind === "transposed") {
    const [d0, d1] = swapDims;
    const parentShape = shape.slice();
    [parentShape[d0], parentShape[d1]] = [shape[d1], shape[d0]];
    parent = Layout.contiguous(parentShape);
    layout = parent.transpose(d0, d1);
  } else if (kind === "sliced") {
    parent = Layout.contiguous(shape.map((d) => 2 * d + 1));
    layout = parent;
    shape.forEach((d, i) => (layout = layout.slice(i, 1, d, 2)));
  } else if (kind === "flipped") {
    parent = Layout.contiguous(shape);
    layout = parent.flip(shape.map((_, i) => i));
  } else if (kind === "broadcast") {
    parent = Layout.contiguous([1, ...shape.slice(1)]);
    layout = parent.expand(shape);
  } else {
    parent = Layout.contiguous(shape);
    layout = parent;
  }
  const data = new Float32Array(parent.size);
  for (let i = 0; i < data.length; i++) data[i] = r() * 2 - 1;
  return { data, layout };
}

/** The shared comparison with a relative tolerance of 1e-5. */
const assertAllClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, label: string): void => assertClose(actual, expected, atol, label, 1e-5);

const RUNTIMES = wasmRuntimes();

test("relaxed SIMD is detected once the engine validates it", () => {
  assert.equal(relaxedAvailable, true);
  assert.equal(new WasmRuntime({ threads: 1, relaxedSimd: false }).relaxedSimd, false);
});

test("threaded runtimes use shared memory and bring up all their threads", () => {
  for (const { label, rt, threads } of RUNTIMES) {
    assert.equal(rt.shared, threads > 1, label);
    assert.equal(rt.waitForThreads(), threads, label);
  }
});

test("matmul matches the JS backend on random shapes and views", () => {
  const r = rng(1234);
  const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64, 65];
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 40; trial++) {
      const batch = pick(r, [1, 1, 2, 3, 5]);
      const [m, k, n] = [pick(r, sizes), pick(r, sizes), pick(r, sizes)];
      const a = randomView(r, [batch, m, k], pick(r, VIEW_KINDS), [1, 2]);
      const b = randomView(r, [batch, k, n], pick(r, VIEW_KINDS), [1, 2]);
      const got = matmulOn(rt, a.data, a.layout, b.data, b.layout);
      const want = jsBackend.matmul(a.data, a.layout, b.data, b.layout);
      assertAllClose(got, want, 1e-5 * k, `${label}, [${batch}, ${m}, ${k}] @ [${batch}, ${k}, ${n}] (${a.layout.strides} / ${b.layout.strides})`);
    }
  }
});

test("matmul crosses every cache block boundary (K > 256, N > 1024, M > 128) and splits rows or columns", () => {
  const r = rng(99);
  const cases: [number, number, number, number][] = [[1, 131, 300, 1030], [1, 260, 257, 9], [2, 70, 513, 40], [3, 129, 17, 200]];
  for (const { label, rt } of RUNTIMES) {
    for (const [batch, m, k, n] of cases) {
      const a = randomView(r, [batch, m, k], "transposed", [1, 2]);
      const b = randomView(r, [batch, k, n], "contiguous", [1, 2]);
      assertAllClose(matmulOn(rt, a.data, a.layout, b.data, b.layout), jsBackend.matmul(a.data, a.layout, b.data, b.layout), 1e-5 * k, `${label}, [${batch}, ${m}, ${k}, ${n}]`);
    }
  }
});

test("matmul with an empty inner dimension gives zeros", () => {
  const { rt } = RUNTIMES[RUNTIMES.length - 1];
  const got = matmulOn(rt, new Float32Array(0), Layout.contiguous([2, 3, 0]), new Float32Array(0), Layout.contiguous([2, 0, 5]));
  assert.deepEqual([...got], new Array(30).fill(0));
});

function randomGeometry(r: () => number): WindowGeometry {
  for (;;) {
    const g = {
      batch: pick(r, [1, 2, 3]), channels: pick(r, [1, 2, 3, 5]),
      inHeight: 1 + Math.floor(r() * 13), inWidth: 1 + Math.floor(r() * 13),
      kernelHeight: pick(r, [1, 2, 3, 5]), kernelWidth: pick(r, [1, 2, 3, 4]),
      strideH: pick(r, [1, 1, 2, 3]), strideW: pick(r, [1, 1, 2, 3]),
      padH: pick(r, [0, 0, 1, 2]), padW: pick(r, [0, 0, 1, 2]),
      dilationH: pick(r, [1, 1, 2]), dilationW: pick(r, [1, 1, 2]),
      outHeight: 0, outWidth: 0,
      padValue: pick(r, [0, -Infinity]),
    };
    g.outHeight = Math.floor((g.inHeight + 2 * g.padH - g.dilationH * (g.kernelHeight - 1) - 1) / g.strideH) + 1;
    g.outWidth = Math.floor((g.inWidth + 2 * g.padW - g.dilationW * (g.kernelWidth - 1) - 1) / g.strideW) + 1;
    if (g.outHeight >= 1 && g.outWidth >= 1) return g;
  }
}

test("unfold (im2col) matches the JS backend on random geometries and views", () => {
  const r = rng(77);
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 60; trial++) {
      const g = randomGeometry(r);
      const x = randomView(r, [g.batch, g.channels, g.inHeight, g.inWidth], pick(r, VIEW_KINDS), [2, 3]);
      const got = unfoldOn(rt, x.data, x.layout, g);
      assertAllClose(got, jsBackend.unfold(x.data, x.layout, g), 0, `${label}, unfold ${JSON.stringify(g)} strides ${x.layout.strides}`);
    }
  }
});

test("fold (col2im) matches the JS backend on random geometries and views", () => {
  const r = rng(4242);
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 60; trial++) {
      const g = randomGeometry(r);
      const shape = [g.batch, g.channels * g.kernelHeight * g.kernelWidth, g.outHeight * g.outWidth];
      const cols = randomView(r, shape, pick(r, VIEW_KINDS), [1, 2]);
      const got = foldOn(rt, cols.data, cols.layout, g);
      assertAllClose(got, jsBackend.fold(cols.data, cols.layout, g), 1e-6, `${label}, fold ${JSON.stringify(g)} strides ${cols.layout.strides}`);
    }
  }
});

test("wasm memory stays flat across repeated calls (the arena is reused)", () => {
  const { rt } = RUNTIMES[RUNTIMES.length - 1];
  const r = rng(5);
  const a = randomView(r, [1, 200, 300], "contiguous", [1, 2]);
  const b = randomView(r, [1, 300, 100], "contiguous", [1, 2]);
  matmulOn(rt, a.data, a.layout, b.data, b.layout);
  const bytes = rt.memory.buffer.byteLength;
  for (let i = 0; i < 30; i++) matmulOn(rt, a.data, a.layout, b.data, b.layout);
  assert.equal(rt.memory.buffer.byteLength, bytes);
});

/** Values that probe edge semantics: NaN, infinities, signed zeros, ties. */
function withSpecials(r: () => number, data: Float32Array): Float32Array {
  const specials = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5];
  for (let i = 0; i < data.length; i++) if (r() < 0.1) data[i] = pick(r, specials);
  return data;
}

const BINARY_OPS = ["add", "sub", "mul", "div", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"] as const;
const UNARY_OPS = ["neg", "abs", "relu", "sqrt", "square", "reciprocal"] as const;
const COMPARISONS = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);

/** Same values, NaN payloads and signed zeros aside (PyTorch does not promise either). */
function assertSameValues(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (Number.isNaN(expected[i]) && Number.isNaN(actual[i])) continue;
    if (actual[i] !== expected[i]) assert.fail(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

test("binary and unary elementwise ops match the JS backend on random broadcast shapes and views", () => {
  const r = rng(31337);
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 48; trial++) {
      const ndim = 1 + Math.floor(r() * 4);
      const shape = Array.from({ length: ndim }, () => pick(r, [1, 2, 3, 5, 8, 13, 17]));
      const a = randomView(r, shape, pick(r, VIEW_KINDS), [0, ndim - 1]);
      withSpecials(r, a.data);
      // b broadcasts along a random subset of dims (stride 0), besides its own view kind.
      const bShape = shape.map((d) => (r() < 0.3 ? 1 : d));
      const bBase = randomView(r, bShape, pick(r, VIEW_KINDS), [0, ndim - 1]);
      withSpecials(r, bBase.data);
      const bl = bBase.layout.expand(shape);
      const op = BINARY_OPS[trial % BINARY_OPS.length];
      const outDtype = COMPARISONS.has(op) ? "bool" : "float32";
      const got = binaryOn(rt, op, a.data, a.layout, bBase.data, bl);
      assert.ok(got !== null, `${label}: ${op} on ${ndim} dims fell back`);
      assert.equal(got.constructor, outDtype === "bool" ? Uint8Array : Float32Array);
      assertSameValues(got, jsBackend.binary(op, a.data, a.layout, bBase.data, bl, outDtype), `${label}, ${op} [${shape}] (${a.layout.strides} / ${bl.strides})`);
      const uop = UNARY_OPS[trial % UNARY_OPS.length];
      assertSameValues(unaryOn(rt, uop, a.data, a.layout)!, jsBackend.unary(uop, a.data, a.layout, "float32"), `${label}, ${uop} [${shape}] (${a.layout.strides})`);
    }
  }
});

test("elementwise ops on a large tensor split across threads and agree with the JS backend", () => {
  const r = rng(8);
  const { rt } = RUNTIMES[RUNTIMES.length - 1];
  const a = randomView(r, [3, 100, 1001], "contiguous", [0, 2]);
  const b = randomView(r, [1, 100, 1], "contiguous", [0, 2]);
  const bl = b.layout.expand([3, 100, 1001]);
  assertSameValues(binaryOn(rt, "mul", a.data, a.layout, b.data, bl)!, jsBackend.binary("mul", a.data, a.layout, b.data, bl, "float32"), "mul");
  assertSameValues(binaryOn(rt, "gt", a.data, a.layout, b.data, bl)!, jsBackend.binary("gt", a.data, a.layout, b.data, bl, "bool"), "gt");
  assertSameValues(unaryOn(rt, "relu", a.data, a.layout)!, jsBackend.unary("relu", a.data, a.layout, "float32"), "relu");
});

test("the backend falls back to JS for iteration spaces beyond 4 dims, other dtypes and other ops", () => {
  const r = rng(9);
  const x = randomView(r, [3, 4, 5, 6, 7], "sliced", [0, 4]);
  for (const [op, dtype] of [["add", "float32"], ["pow", "float32"], ["eq", "bool"]] as const) {
    assertSameValues(wasmBackend.binary(op, x.data, x.layout, x.data, x.layout, dtype), jsBackend.binary(op, x.data, x.layout, x.data, x.layout, dtype), `${op} 5-D`);
  }
  assertSameValues(wasmBackend.unary("sin", x.data, x.layout, "float32"), jsBackend.unary("sin", x.data, x.layout, "float32"), "sin");
  const ints = Int32Array.from({ length: 5000 }, (_, i) => i - 2500);
  const il = Layout.contiguous([5000]);
  assertSameValues(wasmBackend.binary("add", ints, il, ints, il, "int32"), jsBackend.binary("add", ints, il, ints, il, "int32"), "int32 add");
});

test("sum, max, min, argmax and argmin reductions match the JS backend on random dims and views", () => {
  const r = rng(2718);
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 60; trial++) {
      const ndim = 1 + Math.floor(r() * 5);
      const shape = Array.from({ length: ndim }, () => pick(r, [1, 2, 3, 4, 7, 9, 16, 33]));
      const x = randomView(r, shape, pick(r, VIEW_KINDS), [0, ndim - 1]);
      if (r() < 0.3) withSpecials(r, x.data);
      const op = (["sum", "max", "min", "argmax", "argmin"] as const)[trial % 5];
      const dims = op.startsWith("arg") ? [Math.floor(r() * ndim)] : shape.map((_, i) => i).filter(() => r() < 0.5);
      if (dims.length === 0) dims.push(ndim - 1);
      const got = reduceOn(rt, op, x.data, x.layout, dims);
      assert.ok(got !== null, `${label}: ${op} over ${dims} of [${shape}] fell back`);
      const want = jsBackend.reduce(op, x.data, x.layout, dims);
      const label2 = `${label}, ${op} over [${dims}] of [${shape}] (${x.layout.strides})`;
      assert.equal(got.constructor, want.constructor, label2);
      if (op === "sum") assertAllClose(got, want, 1e-5, label2);
      else assertSameValues(got, want, label2);
    }
  }
});

test("a large sum splits across threads; an all-reduction gives one element", () => {
  const r = rng(12);
  const { rt } = RUNTIMES[RUNTIMES.length - 1];
  const x = randomView(r, [64, 20, 24, 24], "contiguous", [0, 3]);
  assertAllClose(reduceOn(rt, "sum", x.data, x.layout, [0, 2, 3])!, jsBackend.reduce("sum", x.data, x.layout, [0, 2, 3]), 1e-3, "bias-gradient sum");
  assertAllClose(reduceOn(rt, "sum", x.data, x.layout, [0, 1, 2, 3])!, jsBackend.reduce("sum", x.data, x.layout, [0, 1, 2, 3]), 1e-2, "full sum");
  assertSameValues(reduceOn(rt, "max", x.data, x.layout, [3])!, jsBackend.reduce("max", x.data, x.layout, [3]), "max over rows");
});

test("column sums (a bias gradient, g.sum(0)) match the JS backend in blocks of 16, fours and single columns", () => {
  const r = rng(31);
  for (const { label, rt } of RUNTIMES) {
    // Widths that leave every kind of tail; leading reduced dims, some with a kept dim between.
    for (const [shape, dims] of [[[129, 83], [0]], [[3, 7, 50], [0, 1]], [[6, 5, 37], [0]], [[40, 16], [0]], [[9, 4, 2, 21], [0, 2]]] as [number[], number[]][]) {
      const x = randomView(r, shape, "contiguous", [0, shape.length - 1]);
      if (r() < 0.5) withSpecials(r, x.data);
      const got = reduceOn(rt, "sum", x.data, x.layout, dims)!;
      assertAllClose(got, jsBackend.reduce("sum", x.data, x.layout, dims), 1e-5, `${label}: sum over [${dims}] of [${shape}]`);
    }
  }
});
