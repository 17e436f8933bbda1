// The wasm convolution (im2col + one blocked-output GEMM per call, bias in the epilogue) and
// its backward (gradient rows + bias sums, weight GEMM over transposed columns, input GEMM +
// col2im) against the JS reference, on random odd geometries, groups and views, in every build
// (SIMD / relaxed FMA, 1 to 3 threads); and the GEMM's bias epilogue on its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConvGeometry } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { conv2dBackwardOn, conv2dOn, im2colConv2dBackwardOn, im2colConv2dOn } from "../../src/backend/wasm/conv.js";
import { gemmOn, matmulOn } from "../../src/backend/wasm/matmul.js";
import { Layout } from "../../src/core/layout.js";
import * as flint from "../../src/index.js";
import { pick, rng } from "../helpers.js";
import { assertAllClose, wasmRuntimes } from "../wasm-helpers.js";

const RUNTIMES = wasmRuntimes();

/** Random values seen through `shape` as a contiguous tensor, a permuted view, or a strided slice. */
function randomTensor(r: () => number, shape: number[], kind: "contiguous" | "permuted" | "sliced"): { data: Float32Array; layout: Layout } {
  let layout: Layout;
  if (kind === "permuted") {
    // Stored channels-last ([N, H, W, C]) and viewed as [N, C, H, W] (or the 3-D/1-D analogue).
    const order = shape.length === 4 ? [0, 2, 3, 1] : shape.map((_, i) => shape.length - 1 - i);
    const inverse = order.map((_, i) => order.indexOf(i));
    layout = Layout.contiguous(order.map((d) => shape[d])).permute(inverse);
  } else if (kind === "sliced") {
    layout = Layout.contiguous(shape.map((d) => 2 * d));
    shape.forEach((d, i) => (layout = layout.slice(i, 1, d, 2)));
  } else {
    layout = Layout.contiguous(shape);
  }
  let span = 1;
  layout.shape.forEach((d, i) => (span += (d - 1) * layout.strides[i]));
  const data = new Float32Array(layout.offset + span);
  for (let i = 0; i < data.length; i++) data[i] = r() * 2 - 1;
  return { data, layout };
}

function randomConv(r: () => number): ConvGeometry {
  for (;;) {
    const groups = pick(r, [1, 1, 1, 2, 3]);
    const inPerGroup = pick(r, [1, 2, 3, 5]);
    const outPerGroup = pick(r, [1, 3, 4, 7, 9]);
    const [kh, kw] = [pick(r, [1, 2, 3, 5]), pick(r, [1, 2, 3, 5])];
    const [sh, sw] = [pick(r, [1, 1, 2, 3]), pick(r, [1, 1, 2])];
    const [ph, pw] = [pick(r, [0, 0, 1, 2]), pick(r, [0, 1, 3])];
    const [dh, dw] = [pick(r, [1, 1, 2]), pick(r, [1, 1, 3])];
    const [h, w] = [pick(r, [1, 4, 7, 11, 16]), pick(r, [3, 6, 9, 13, 20])];
    const outHeight = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
    const outWidth = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
    if (outHeight <= 0 || outWidth <= 0) continue;
    return {
      batch: pick(r, [1, 2, 3, 5]), channels: groups * inPerGroup, inHeight: h, inWidth: w, kernelHeight: kh, kernelWidth: kw,
      strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw, outHeight, outWidth, padValue: 0,
      groups, outChannels: groups * outPerGroup,
    };
  }
}

const KINDS = ["contiguous", "permuted", "sliced"] as const;

test("conv2d forward and every gradient match the JS backend on random geometries, groups and views", () => {
  const r = rng(4242);
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 25; trial++) {
      const g = randomConv(r);
      const x = randomTensor(r, [g.batch, g.channels, g.inHeight, g.inWidth], pick(r, KINDS));
      const w = randomTensor(r, [g.outChannels, g.channels / g.groups, g.kernelHeight, g.kernelWidth], pick(r, KINDS));
      const bias = r() < 0.7 ? randomTensor(r, [g.outChannels], pick(r, ["contiguous", "sliced"] as const)) : null;
      const grad = randomTensor(r, [g.batch, g.outChannels, g.outHeight, g.outWidth], pick(r, KINDS));
      const k = (g.channels / g.groups) * g.kernelHeight * g.kernelWidth;
      const what = `${label}, ${JSON.stringify(g)}, x ${x.layout.strides}, w ${w.layout.strides}, grad ${grad.layout.strides}`;
      const want = jsBackend.conv2d(x.data, x.layout, w.data, w.layout, bias?.data ?? null, bias?.layout ?? null, g);
      assertAllClose(conv2dOn(rt, x.data, x.layout, w.data, w.layout, bias?.data ?? null, bias?.layout ?? null, g), want, 1e-5 * k, `forward, ${what}`);
      const wanted = { input: r() < 0.8, weight: r() < 0.8, bias: bias !== null };
      const gotGrads = conv2dBackwardOn(rt, grad.data, grad.layout, x.data, x.layout, w.data, w.layout, g, wanted);
      const wantGrads = jsBackend.conv2dBackward(grad.data, grad.layout, x.data, x.layout, w.data, w.layout, g, wanted);
      const length = g.batch * g.outHeight * g.outWidth;
      for (const key of ["input", "weight", "bias"] as const) {
        if (!wanted[key]) {
          assert.equal(gotGrads[key], null, `${key} gradient not asked for, ${what}`);
          continue;
        }
        assertAllClose(gotGrads[key], wantGrads[key], 1e-5 * (key === "input" ? g.outChannels : length), `${key} gradient, ${what}`);
      }
    }
  }
});

const LARGE_CONVS: ConvGeometry[] = [
  // K = 300 > 256, N*L = 1323 > 1024, 133 output rows > 128; one sample per task.
  { batch: 3, channels: 12, inHeight: 23, inWidth: 21, kernelHeight: 5, kernelWidth: 5, strideH: 1, strideW: 1, padH: 1, padW: 2, dilationH: 1, dilationW: 1, outHeight: 21, outWidth: 21, padValue: 0, groups: 1, outChannels: 133 },
  // Groups over several sample tasks, with padding and an output row length (38) not a multiple of 8.
  { batch: 5, channels: 8, inHeight: 40, inWidth: 40, kernelHeight: 3, kernelWidth: 3, strideH: 1, strideW: 1, padH: 1, padW: 0, dilationH: 1, dilationW: 1, outHeight: 40, outWidth: 38, padValue: 0, groups: 2, outChannels: 6 },
];

test("the im2col conv2d crosses the GEMM's cache blocks and the sample tasks (K > 256, N*L > 1024, > 128 rows, groups)", () => {
  const r = rng(7);
  for (const g of LARGE_CONVS) checkLargeConv(r, g);
});

function checkLargeConv(r: () => number, g: ConvGeometry): void {
  const x = randomTensor(r, [g.batch, g.channels, g.inHeight, g.inWidth], "contiguous");
  const w = randomTensor(r, [g.outChannels, g.channels / g.groups, g.kernelHeight, g.kernelWidth], "contiguous");
  const bias = randomTensor(r, [g.outChannels], "contiguous");
  const grad = randomTensor(r, [g.batch, g.outChannels, g.outHeight, g.outWidth], "contiguous");
  const all = { input: true, weight: true, bias: true };
  for (const { label, rt } of RUNTIMES) {
    assertAllClose(im2colConv2dOn(rt, x.data, x.layout, w.data, w.layout, bias.data, bias.layout, g), jsBackend.conv2d(x.data, x.layout, w.data, w.layout, bias.data, bias.layout, g), 3e-3, `forward, ${label}, ${JSON.stringify(g)}`);
    const got = im2colConv2dBackwardOn(rt, grad.data, grad.layout, x.data, x.layout, w.data, w.layout, g, all);
    const want = jsBackend.conv2dBackward(grad.data, grad.layout, x.data, x.layout, w.data, w.layout, g, all);
    assertAllClose(got.input, want.input, 3e-3, `input gradient, ${label}`);
    assertAllClose(got.weight, want.weight, 2e-2, `weight gradient, ${label}`);
    assertAllClose(got.bias, want.bias, 2e-2, `bias gradient, ${label}`);
  }
}

test("matmul's bias epilogue matches matmul + add, over K blocks, edge tiles and an empty K", () => {
  const r = rng(11);
  const cases: [number, number, number, number][] = [[1, 5, 3, 7], [2, 9, 300, 13], [1, 131, 17, 1030], [3, 4, 0, 9], [1, 64, 800, 500]];
  for (const { label, rt } of RUNTIMES) {
    for (const [batch, m, k, n] of cases) {
      const a = randomTensor(r, [batch, m, k], pick(r, KINDS));
      const b = randomTensor(r, [batch, k, n], pick(r, KINDS));
      const bias = randomTensor(r, [n], "sliced");
      const want = jsBackend.matmul(a.data, a.layout, b.data, b.layout) as Float32Array;
      const dense = jsBackend.copy(bias.data, bias.layout, "float32") as Float32Array;
      for (let i = 0; i < want.length; i++) want[i] += dense[i % n];
      assertAllClose(matmulOn(rt, a.data, a.layout, b.data, b.layout, dense), want, 1e-5 * Math.max(k, 1), `wasm, ${label}, [${batch}, ${m}, ${k}] @ [${k}, ${n}]`);
      assertAllClose(jsBackend.matmul(a.data, a.layout, b.data, b.layout, bias.data, bias.layout), want, 1e-5 * Math.max(k, 1), `js, [${batch}, ${m}, ${k}] @ [${k}, ${n}]`);
    }
  }
});

test("F.conv2d records one node and its gradients pass a numerical gradcheck on the wasm backend", () => {
  flint.setBackend("wasm");
  try {
    flint.manualSeed(3);
    const x = flint.randn([2, 4, 9, 8]).requiresGrad_();
    const w = flint.randn([6, 2, 3, 3]).requiresGrad_();
    const b = flint.randn([6]).requiresGrad_();
    const y = flint.nn.functional.conv2d(x, w, b, { stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2 });
    assert.equal(y.gradFn?.name, "conv2d");
    assert.deepEqual(y.gradFn?.inputs, [x, w, b]);
    const ok = flint.autograd.gradcheck((xi: flint.Tensor, wi: flint.Tensor, bi: flint.Tensor) => flint.nn.functional.conv2d(xi, wi, bi, { stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2 }), [x, w, b]);
    assert.ok(ok);
  } finally {
    flint.setBackend("js");
  }
});

test("F.linear is one op with the bias in the GEMM epilogue, equal on both backends, gradients included", () => {
  const F = flint.nn.functional;
  flint.manualSeed(5);
  const cases: [number[], number[], boolean][] = [[[64, 100], [50, 100], true], [[3, 7, 33], [9, 33], true], [[20, 300], [130, 300], false], [[5], [4, 5], true]];
  for (const [xShape, wShape, withBias] of cases) {
    const inputs = [flint.randn(xShape), flint.randn(wShape), flint.randn([wShape[0]])];
    const results = ["js", "wasm"].map((name) => {
      flint.setBackend(name);
      try {
        const [x, w, b] = inputs.map((t) => t.detach().clone().requiresGrad_());
        const y = F.linear(x, w, withBias ? b : null);
        if (xShape.length === 2) assert.equal(y.gradFn?.name, "linear");
        y.mul(flint.linspace(-1, 1, y.numel()).reshape(y.shape.slice())).sum().backward();
        return { y: y.detach(), grads: [x.grad!, w.grad!, withBias ? b.grad! : null] };
      } finally {
        flint.setBackend("js");
      }
    });
    const [js, wasm] = results;
    const label = `linear ${JSON.stringify(xShape)} x ${JSON.stringify(wShape)}${withBias ? " + bias" : ""}`;
    assertAllClose(wasm.y.data() as Float32Array, js.y.data() as Float32Array, 1e-4, `${label} forward`);
    const want = inputs[0].matmul(inputs[1].t());
    assertAllClose(js.y.data() as Float32Array, (withBias ? want.add(inputs[2]) : want).data() as Float32Array, 1e-4, `${label} against matmul + add`);
    wasm.grads.forEach((g, i) => (g === null ? assert.equal(js.grads[i], null) : assertAllClose(g.data() as Float32Array, js.grads[i]!.data() as Float32Array, 1e-3, `${label} grad ${i}`)));
  }
});

test("the GEMM kernel's row bias, ReLU and accumulate flags, with blocked output columns", () => {
  const r = rng(21);
  const [m, k, block, blocks] = [13, 300, 11, 3]; // output [blocks, m, block], columns j = (q, l)
  const n = block * blocks;
  const a = Float32Array.from({ length: m * k }, () => r() * 2 - 1);
  const b = Float32Array.from({ length: k * n }, () => r() * 2 - 1);
  const bias = Float32Array.from({ length: m }, () => r() * 2 - 1);
  const start = Float32Array.from({ length: m * n }, () => r() * 2 - 1);
  for (const { label, rt } of RUNTIMES) {
    for (const accumulate of [false, true]) {
      rt.reset();
      const put = (values: Float32Array, slack = 0) => {
        const ptr = rt.alloc((values.length + slack) * 4);
        rt.f32(ptr, values.length).set(values);
        return ptr;
      };
      const [pa, pb, pbias, pc] = [put(a), put(b), put(bias, 8), put(start)];
      gemmOn(rt, {
        a: { ptr: pa, batch: 0, row: k, col: 1 }, b: { ptr: pb, batch: 0, row: n, col: 1 },
        c: { ptr: pc, batch: 0, row: block, col: 1, block, blockStride: m * block },
        batch: 1, m, n, k, bias: { ptr: pbias, mode: "rows", batch: 0 }, relu: true, accumulate,
      });
      const got = rt.f32(pc, m * n).slice();
      const want = new Float32Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = bias[i];
          for (let p = 0; p < k; p++) sum += a[i * k + p] * b[p * n + j];
          const at = Math.floor(j / block) * m * block + i * block + (j % block);
          want[at] = Math.max(0, (accumulate ? start[at] : 0) + sum);
        }
      }
      assertAllClose(got, want, 1e-4, `${label}, accumulate ${accumulate}`);
    }
  }
});
