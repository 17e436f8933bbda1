// The pooling kernels (max and average, forward and backward): the wasm kernels against the JS
// reference on randomized geometries (odd sizes, stride != kernel, padding, dilation, ceil mode,
// height-1 "1-D" planes) and views (transposed, sliced, cropped rows, channels-last, flipped,
// broadcast), with ties, NaN and -Infinity in the inputs, in every build the backend ships; then
// F.maxPool*/avgPool* end to end on both backends, gradients included.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AvgPoolDivisor, WindowGeometry } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { avgPoolBackwardOn, avgPoolOn, maxPoolBackwardOn, maxPoolOn } from "../../src/backend/wasm/pool.js";
import { Layout } from "../../src/core/layout.js";
import * as flint from "../../src/index.js";
import { pick, rng } from "../helpers.js";
import { assertAllClose as assertClose, wasmRuntimes } from "../wasm-helpers.js";

const F = flint.nn.functional;

const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** PyTorch's pooling output size, ceil-mode rule included (the last window starts inside the input or left padding). */
function pooledSize(size: number, kernel: number, stride: number, pad: number, dilation: number, ceilMode: boolean): number {
  let out = Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/** A random valid pooling geometry; every fourth is a height-1 plane, as 1-D pooling makes. */
function randomGeometry(r: () => number, dilated: boolean): WindowGeometry {
  for (;;) {
    const oneD = r() < 0.25;
    const kernelHeight = oneD ? 1 : int(r, 1, 4);
    const kernelWidth = int(r, 1, 5);
    const g: WindowGeometry = {
      batch: int(r, 1, 3), channels: pick(r, [1, 2, 3, 5]),
      inHeight: oneD ? 1 : int(r, 1, 17), inWidth: int(r, 1, 29),
      kernelHeight, kernelWidth,
      strideH: oneD ? 1 : pick(r, [1, 2, 2, 3, kernelHeight]), strideW: pick(r, [1, 2, 2, 3, kernelWidth]),
      padH: int(r, 0, Math.floor(kernelHeight / 2)), padW: int(r, 0, Math.floor(kernelWidth / 2)),
      dilationH: dilated && !oneD ? pick(r, [1, 1, 2, 3]) : 1, dilationW: dilated ? pick(r, [1, 1, 2, 3]) : 1,
      outHeight: 0, outWidth: 0, padValue: 0,
    };
    const ceilMode = r() < 0.5;
    g.outHeight = pooledSize(g.inHeight, g.kernelHeight, g.strideH, g.padH, g.dilationH, ceilMode);
    g.outWidth = pooledSize(g.inWidth, g.kernelWidth, g.strideW, g.padW, g.dilationW, ceilMode);
    if (g.outHeight >= 1 && g.outWidth >= 1) return g;
  }
}

type ViewKind = "contiguous" | "transposed" | "sliced" | "cropped" | "channelsLast" | "flipped" | "broadcast";
const VIEW_KINDS: readonly ViewKind[] = ["contiguous", "contiguous", "transposed", "sliced", "cropped", "channelsLast", "flipped", "broadcast"];

/** Values drawn from a few integers (so windows tie), with NaN and -Infinity now and then when `specials`. */
function fillValues(r: () => number, data: Float32Array, specials: boolean): void {
  const ties = r() < 0.5;
  for (let i = 0; i < data.length; i++) {
    const u = r();
    if (specials && u < 0.03) data[i] = NaN;
    else if (specials && u < 0.06) data[i] = -Infinity;
    else data[i] = ties ? Math.floor(r() * 4) : r() * 2 - 1;
  }
}

/** Random storage seen through a 4-D view of the given kind with logical shape `shape`. */
function randomView(r: () => number, shape: number[], kind: ViewKind, specials: boolean): { data: Float32Array; layout: Layout } {
  const [n, c, h, w] = shape;
  let parent: Layout;
  let layout: Layout;
  if (kind === "transposed") {
    parent = Layout.contiguous([n, c, w, h]);
    layout = parent.transpose(2, 3);
  } else if (kind === "sliced") {
    parent = Layout.contiguous(shape.map((d) => 2 * d + 1));
    layout = parent;
    shape.forEach((d, i) => (layout = layout.slice(i, 1, d, 2)));
  } else if (kind === "cropped") {
    // Rows stay contiguous (the SIMD path) but planes and rows are strided.
    parent = Layout.contiguous([n, c + 1, h + 2, w + 3]);
    layout = parent.narrow(1, 1, c).narrow(2, 1, h).narrow(3, 2, w);
  } else if (kind === "channelsLast") {
    parent = Layout.contiguous([n, h, w, c]);
    layout = parent.permute([0, 3, 1, 2]);
  } else if (kind === "flipped") {
    parent = Layout.contiguous(shape);
    layout = parent.flip([0, 1, 2, 3]);
  } else if (kind === "broadcast") {
    parent = Layout.contiguous([1, c, h, w]);
    layout = parent.expand(shape);
  } else {
    parent = Layout.contiguous(shape);
    layout = parent;
  }
  const data = new Float32Array(parent.size);
  fillValues(r, data, specials);
  return { data, layout };
}

/** The shared comparison with a relative tolerance of 1e-5. */
const assertAllClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, label: string): void => assertClose(actual, expected, atol, label, 1e-5);

const RUNTIMES = wasmRuntimes();

// The kernels are shared out over planes; every thread must be up so the splits are exercised.
test("threaded runtimes bring up all their threads", () => {
  for (const { label, rt, threads } of RUNTIMES) assert.equal(rt.waitForThreads(), threads, label);
});

const outShape = (g: WindowGeometry): number[] => [g.batch, g.channels, g.outHeight, g.outWidth];
const inShape = (g: WindowGeometry): number[] => [g.batch, g.channels, g.inHeight, g.inWidth];

test("maxPool matches the JS backend: values and indices, ties, NaN, -Infinity, views", () => {
  const r = rng(101);
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 80; trial++) {
      const g = randomGeometry(r, true);
      const kind = pick(r, VIEW_KINDS);
      const x = randomView(r, inShape(g), kind, r() < 0.3);
      const want = jsBackend.maxPool(x.data, x.layout, g);
      const got = maxPoolOn(rt, x.data, x.layout, g);
      const where = `${label}, ${kind}, ${JSON.stringify(g)}`;
      assertAllClose(got.values, want.values as Float32Array, 0, `${where}: values`);
      assert.deepEqual(got.indices, want.indices, `${where}: indices`);
    }
  }
});

test("maxPoolBackward matches the JS backend for gradients of any strides", () => {
  const r = rng(202);
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 60; trial++) {
      const g = randomGeometry(r, true);
      const x = randomView(r, inShape(g), "contiguous", false);
      const { indices } = jsBackend.maxPool(x.data, x.layout, g);
      const kind = pick(r, VIEW_KINDS);
      const grad = randomView(r, outShape(g), kind, false);
      const got = maxPoolBackwardOn(rt, grad.data, grad.layout, indices, g);
      assertAllClose(got, jsBackend.maxPoolBackward(grad.data, grad.layout, indices, g) as Float32Array, 1e-6, `${label}, ${kind}, ${JSON.stringify(g)}`);
    }
  }
});

function randomDivisor(r: () => number): AvgPoolDivisor {
  return { countIncludePad: r() < 0.5, divisorOverride: r() < 0.25 ? pick(r, [1, 3, -2, 0.5]) : null };
}

test("avgPool and its gradient match the JS backend (countIncludePad, divisorOverride, ceil mode, views)", () => {
  const r = rng(303);
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 60; trial++) {
      const g = randomGeometry(r, false);
      const divisor = randomDivisor(r);
      const kind = pick(r, VIEW_KINDS);
      const where = `${label}, ${kind}, ${JSON.stringify(g)}, ${JSON.stringify(divisor)}`;
      const x = randomView(r, inShape(g), kind, false);
      assertAllClose(avgPoolOn(rt, x.data, x.layout, g, divisor), jsBackend.avgPool(x.data, x.layout, g, divisor) as Float32Array, 1e-5, `${where}: forward`);
      const grad = randomView(r, outShape(g), pick(r, VIEW_KINDS), false);
      const want = jsBackend.avgPoolBackward(grad.data, grad.layout, g, divisor) as Float32Array;
      assertAllClose(avgPoolBackwardOn(rt, grad.data, grad.layout, g, divisor), want, 1e-5, `${where}: backward`);
    }
  }
});

test("inputs large enough to be shared out over threads match the JS backend", () => {
  const r = rng(404);
  // 5 * 67 * 27 * 23 = 208,035 elements: three threads' worth (64K elements each), 335 planes.
  const g: WindowGeometry = {
    batch: 5, channels: 67, inHeight: 27, inWidth: 23, kernelHeight: 3, kernelWidth: 3, strideH: 2, strideW: 2,
    padH: 1, padW: 1, dilationH: 1, dilationW: 1, outHeight: pooledSize(27, 3, 2, 1, 1, true), outWidth: pooledSize(23, 3, 2, 1, 1, true), padValue: 0,
  };
  const divisor: AvgPoolDivisor = { countIncludePad: false, divisorOverride: null };
  for (const { label, rt } of RUNTIMES) {
    const x = randomView(r, inShape(g), "cropped", true);
    const grad = randomView(r, outShape(g), "contiguous", false);
    const want = jsBackend.maxPool(x.data, x.layout, g);
    const got = maxPoolOn(rt, x.data, x.layout, g);
    assertAllClose(got.values, want.values as Float32Array, 0, `${label}: maxPool values`);
    assert.deepEqual(got.indices, want.indices, `${label}: maxPool indices`);
    const wantGrad = jsBackend.maxPoolBackward(grad.data, grad.layout, want.indices, g) as Float32Array;
    assertAllClose(maxPoolBackwardOn(rt, grad.data, grad.layout, want.indices, g), wantGrad, 1e-6, `${label}: maxPoolBackward`);
    assertAllClose(avgPoolOn(rt, x.data, x.layout, g, divisor), jsBackend.avgPool(x.data, x.layout, g, divisor) as Float32Array, 1e-5, `${label}: avgPool`);
    const wantAvgGrad = jsBackend.avgPoolBackward(grad.data, grad.layout, g, divisor) as Float32Array;
    assertAllClose(avgPoolBackwardOn(rt, grad.data, grad.layout, g, divisor), wantAvgGrad, 1e-5, `${label}: avgPoolBackward`);
  }
});

test("maxPool takes the first of tied maxima and the last NaN, as PyTorch does", () => {
  // torch 1.13: F.max_pool2d(x, 2, return_indices=True) on this input gives indices [[1, 6]]:
  // every NaN replaces the running maximum, so the last NaN of a window wins.
  const x = Float32Array.from([1, NaN, 3, NaN, 5, 6, NaN, 2]);
  const layout = Layout.contiguous([1, 1, 2, 4]);
  const g: WindowGeometry = {
    batch: 1, channels: 1, inHeight: 2, inWidth: 4, kernelHeight: 2, kernelWidth: 2, strideH: 2, strideW: 2,
    padH: 0, padW: 0, dilationH: 1, dilationW: 1, outHeight: 1, outWidth: 2, padValue: 0,
  };
  for (const run of [() => jsBackend.maxPool(x, layout, g), () => maxPoolOn(RUNTIMES[0].rt, x, layout, g)]) {
    const { values, indices } = run();
    assert.ok(Number.isNaN(values[0]) && Number.isNaN(values[1]));
    assert.deepEqual([...indices], [1, 6]);
  }
  const ties = Float32Array.from([7, 7, 7, 7, 7, 7, 7, 7]);
  for (const run of [() => jsBackend.maxPool(ties, layout, g), () => maxPoolOn(RUNTIMES[0].rt, ties, layout, g)]) {
    assert.deepEqual([...run().indices], [0, 2]);
  }
});

test("a dilated window wholly outside the input gets PyTorch's value and index, and its gradient stays in its plane", () => {
  // torch 1.13: F.max_pool2d(x of [1, 2, 4, 2], (3, 2), stride=(3, 1), padding=(0, 1), dilation=(1, 3),
  // ceil_mode=True, return_indices=True) gives -inf everywhere with indices [[2], [8]] per plane.
  // Index 8 lies past the 4x2 plane; PyTorch's backward then writes into the next plane, we drop it.
  const g: WindowGeometry = {
    batch: 1, channels: 2, inHeight: 4, inWidth: 2, kernelHeight: 3, kernelWidth: 2, strideH: 3, strideW: 1,
    padH: 0, padW: 1, dilationH: 1, dilationW: 3, outHeight: 2, outWidth: 1, padValue: 0,
  };
  const x = Float32Array.from({ length: 16 }, (_, i) => i);
  const layout = Layout.contiguous(inShape(g));
  const grad = new Float32Array(4).fill(1);
  const gradLayout = Layout.contiguous(outShape(g));
  const expected = [0, 0, 1, 0, 0, 0, 0, 0];
  for (const { label, rt } of RUNTIMES) {
    const { values, indices } = maxPoolOn(rt, x, layout, g);
    assert.deepEqual([...values], [-Infinity, -Infinity, -Infinity, -Infinity], label);
    assert.deepEqual([...indices], [2, 8, 2, 8], label);
    assert.deepEqual([...maxPoolBackwardOn(rt, grad, gradLayout, indices, g)], [...expected, ...expected], label);
  }
  assert.deepEqual([...jsBackend.maxPoolBackward(grad, gradLayout, Int32Array.from([2, 8, 2, 8]), g)], [...expected, ...expected]);
});

/** Runs `fn` on the named backend and gives its output(s) and the input's gradient. */
function onBackend(name: string, x: flint.Tensor, grad: flint.Tensor, fn: (x: flint.Tensor) => flint.Tensor | [flint.Tensor, flint.Tensor]): { outs: flint.Tensor[]; grad: flint.Tensor } {
  const before = flint.getBackend();
  flint.setBackend(name);
  try {
    // `x` is a strided view; the leaf keeps its layout, so the kernels see the strides.
    const leaf = x.detach().requiresGrad_();
    const result = fn(leaf);
    const outs = Array.isArray(result) ? result : [result];
    outs[0].mul(grad).sum().backward();
    return { outs, grad: leaf.grad as flint.Tensor };
  } finally {
    flint.setBackend(before);
  }
}

test("F.maxPool1d/2d and F.avgPool1d/2d agree across backends on large strided inputs, gradients included", () => {
  flint.manualSeed(7);
  // Large enough that the wasm backend takes its kernels rather than the JS fallback.
  const image = flint.randn([3, 5, 37, 41]).transpose(2, 3).slice(null, null, [1, null]);
  const signal = flint.randn([4, 7, 301]).slice(null, null, [null, null, 2]);
  const cases: { name: string; x: flint.Tensor; fn: (x: flint.Tensor) => flint.Tensor | [flint.Tensor, flint.Tensor] }[] = [
    { name: "maxPool2d 2", x: image, fn: (x) => F.maxPool2d(x, 2) },
    { name: "maxPool2d 3/2 pad ceil indices", x: image, fn: (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, returnIndices: true }) },
    { name: "maxPool2d dilation", x: image, fn: (x) => F.maxPool2d(x, [2, 3], { stride: [1, 2], dilation: [2, 1], padding: [1, 1] }) },
    { name: "maxPool1d ceil indices", x: signal, fn: (x) => F.maxPool1d(x, 4, { stride: 3, padding: 2, ceilMode: true, returnIndices: true }) },
    { name: "avgPool2d exclude pad ceil", x: image, fn: (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }) },
    { name: "avgPool2d divisorOverride", x: image, fn: (x) => F.avgPool2d(x, [2, 4], { stride: [2, 1], divisorOverride: 5 }) },
    { name: "avgPool1d", x: signal, fn: (x) => F.avgPool1d(x, 5, { stride: 2, padding: 2, ceilMode: true }) },
  ];
  for (const c of cases) {
    const probe = c.fn(c.x);
    const grad = flint.randn([...(Array.isArray(probe) ? probe[0] : probe).shape]);
    const js = onBackend("js", c.x, grad, c.fn);
    const wasm = onBackend("wasm", c.x, grad, c.fn);
    assert.equal(wasm.outs.length, js.outs.length);
    js.outs.forEach((t, i) => {
      assert.deepEqual(wasm.outs[i].shape, t.shape, `${c.name}: shape`);
      assertAllClose(wasm.outs[i].data() as ArrayLike<number>, t.data() as ArrayLike<number>, 1e-5, `${c.name}: output ${i}`);
    });
    assertAllClose(wasm.grad.data() as Float32Array, js.grad.data() as Float32Array, 1e-5, `${c.name}: input gradient`);
  }
});

test("max pooling's indices name the elements its values and gradient come from", () => {
  flint.manualSeed(3);
  const x = flint.randn([2, 3, 11, 13], { requiresGrad: true });
  const [values, indices] = F.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, returnIndices: true });
  const flat = x.detach().flatten(2);
  assert.ok(flat.gather(2, indices.flatten(2)).reshape([...values.shape]).equal(values.detach()));
  values.sum().backward();
  // Each element's gradient counts the windows it wins.
  const counts = flint.zeros([2, 3, 11 * 13]).scatterAdd(2, indices.flatten(2), flint.onesLike(values).flatten(2));
  assert.ok((x.grad as flint.Tensor).flatten(2).equal(counts));
});
