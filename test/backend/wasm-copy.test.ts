// The wasm backend's strided copy (contiguous() of permuted, transposed, sliced, flipped and
// expanded float32 views) gives exactly the JS backend's elements, on random odd shapes of 1 to
// 6 dims (past four coalesced dims it falls back to the JS loop).
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import "../../src/backend/wasm/index.js";
import { copyOut } from "../../src/backend/wasm/operands.js";
import { WasmRuntime } from "../../src/backend/wasm/runtime.js";
import { pick, rng } from "../helpers.js";

type Tensor = flint.Tensor;

function randomView(r: () => number, ndim: number): Tensor {
  const shape = Array.from({ length: ndim }, () => 1 + Math.floor(r() * (ndim > 3 ? 9 : 60)));
  let x = flint.arange(0, shape.reduce((a, b) => a * b, 1)).float().reshape(shape);
  const order = shape.map((_, i) => i).sort(() => r() - 0.5);
  x = x.permute(order);
  const d = Math.floor(r() * ndim);
  if (x.shape[d] > 2 && r() < 0.5) x = x.narrow(d, 1, x.shape[d] - 2);
  if (r() < 0.3) x = x.flip([Math.floor(r() * ndim)]);
  if (r() < 0.3) x = x.unsqueeze(0).expand([3, ...x.shape]);
  return x;
}

test("wasm strided copy matches the JS copy on random views", () => {
  const r = rng(23);
  let strided = 0;
  for (let trial = 0; trial < 100; trial++) {
    const x = randomView(r, pick(r, [1, 2, 3, 4, 5, 6]));
    if (!x.isContiguous() && x.numel() >= 4096) strided++;
    flint.setBackend("js");
    const want = Array.from(x.contiguous().data() as Float32Array);
    flint.setBackend("wasm");
    try {
      const got = x.contiguous();
      assert.ok(got.isContiguous());
      assert.deepEqual(Array.from(got.data() as Float32Array), want, `trial ${trial}: shape [${x.shape}] strides [${x.layout.strides}]`);
    } finally {
      flint.setBackend("js");
    }
  }
  assert.ok(strided >= 10, `only ${strided} views were large and strided enough for the wasm kernel`);
});

test("wasm assign of a strided view into a contiguous region matches the JS assign, overlapping source included", async () => {
  const { wasmBackend } = await import("../../src/backend/wasm/index.js");
  const { jsBackend } = await import("../../src/backend/js/index.js");
  const { Layout } = await import("../../src/core/layout.js");
  const r = rng(29);
  let viaKernel = 0;
  for (let trial = 0; trial < 60; trial++) {
    const x = randomView(r, pick(r, [2, 3, 4, 5]));
    const size = x.numel();
    if (!x.isContiguous() && size >= 4096) viaKernel++;
    // dst: a larger buffer, the region a contiguous run inside it.
    const before = 1 + Math.floor(r() * 50);
    const fill = Float32Array.from({ length: before + size + 7 }, (_, i) => -i);
    const region = new Layout(x.shape, Layout.contiguous(x.shape).strides, before);
    const want = fill.slice();
    jsBackend.assign(want, region, x.storage, x.layout);
    const got = fill.slice();
    wasmBackend.assign(got, region, x.storage, x.layout);
    assert.deepEqual(Array.from(got), Array.from(want), `trial ${trial}: shape [${x.shape}] strides [${x.layout.strides}]`);
  }
  assert.ok(viaKernel >= 10, `only ${viaKernel} sources were large and strided enough for the wasm kernel`);
  // The source a transposed view of the very buffer being written.
  const base = Float32Array.from({ length: 130 * 70 }, (_, i) => i);
  const transposed = new Layout([70, 130], [1, 70], 0);
  const want = base.slice();
  jsBackend.assign(want, Layout.contiguous([70, 130]), want.slice(), transposed);
  const got = base.slice();
  wasmBackend.assign(got, Layout.contiguous([70, 130]), got, transposed);
  assert.deepEqual(Array.from(got), Array.from(want), "overlapping transposed source");
});

test("copyOut: a fresh array of the view's type and elements, in memory of its own, small or large", () => {
  const rt = new WasmRuntime({ threads: 1 });
  for (const length of [5, 16 * 1024 - 1, 16 * 1024, 300_001]) {
    rt.reset();
    const ptr = rt.alloc(length * 4);
    const views = [rt.f32(ptr, length), rt.i32(ptr, length), rt.u8(ptr, length)];
    views[1].forEach((_, i) => (views[1][i] = (i * 2654435761) | 0));
    for (const view of views) {
      const copy = copyOut(view);
      assert.equal(copy.constructor, view.constructor);
      assert.equal(copy.length, length);
      assert.ok(copy.buffer instanceof ArrayBuffer && copy.byteOffset === 0 && copy.buffer.byteLength === view.byteLength, "its own buffer, exactly its size");
      assert.ok(copy.every((v, i) => Object.is(v, view[i])), `${view.constructor.name} of ${length}: the same elements`);
      view.fill(0); // the copy does not see later writes to wasm memory
      assert.ok(copy.some((v) => v !== 0));
      views[1].forEach((_, i) => (views[1][i] = (i * 2654435761) | 0));
    }
  }
});
