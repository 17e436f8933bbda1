// A convolution's weight and bias gradients from max pooling's gradient without scattering it
// (kernels/conv-pool.ts) against the JS reference, which scatters it (maxPoolBackward) and runs
// conv2dBackward: random convolutions the kernel takes (1-3 input channels, kernel rows of 1 to
// 8 taps, strides and row dilations, channels in strided views) under random poolings
// (overlapping and padded windows, with and without a folded ReLU), in every build and thread
// count; the ones it does not take (padding, groups, wide kernel rows, an input gradient) fall
// back to scattering, with the same results.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConvGeometry, WindowGeometry } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { conv2dBackwardFromMaxPoolOn, fromMaxPoolApplies } from "../../src/backend/wasm/conv-pool.js";
import { Layout } from "../../src/core/layout.js";
import { pick, rng } from "../helpers.js";
import { assertAllClose, wasmRuntimes, withKernelLog } from "../wasm-helpers.js";

function randomValues(r: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

const outSize = (size: number, kernel: number, stride: number, padding: number, dilation: number) => Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;

/** A random convolution the kernel takes or, with one of the reasons it does not, one it does not. */
function convolution(r: () => number, takenByKernel: boolean): ConvGeometry {
  const reason = takenByKernel ? null : pick(r, ["padding", "groups", "wide rows"]);
  const channels = reason === "groups" ? pick(r, [2, 3]) : pick(r, [1, 1, 2, 3]);
  const groups = reason === "groups" ? channels : 1;
  const [kh, kw] = [pick(r, [1, 2, 3, 5]), reason === "wide rows" ? pick(r, [9, 11]) : pick(r, [1, 3, 4, 5, 7, 8])];
  const [strideH, strideW] = [pick(r, [1, 1, 2]), pick(r, [1, 2])];
  const dilationH = pick(r, [1, 1, 2]);
  const [padH, padW] = reason === "padding" ? pick(r, [[1, 0], [0, 2], [1, 1]]) : [0, 0];
  const [inHeight, inWidth] = [dilationH * (kh - 1) + pick(r, [4, 9, 14]), kw + pick(r, [3, 8, 15])];
  const outChannels = groups * pick(r, [1, 3, 4]);
  return {
    batch: pick(r, [1, 2, 5]), channels, inHeight, inWidth, kernelHeight: kh, kernelWidth: kw, strideH, strideW, padH, padW,
    dilationH, dilationW: 1, groups, outChannels,
    outHeight: outSize(inHeight, kh, strideH, padH, dilationH), outWidth: outSize(inWidth, kw, strideW, padW, 1), padValue: 0,
  };
}

function pooling(r: () => number, conv: ConvGeometry): WindowGeometry {
  const kernel = pick(r, [2, 2, 3]);
  const stride = pick(r, [kernel, 1]);
  const padding = pick(r, [0, 0, 1]);
  return {
    batch: conv.batch, channels: conv.outChannels, inHeight: conv.outHeight, inWidth: conv.outWidth,
    kernelHeight: kernel, kernelWidth: kernel, strideH: stride, strideW: stride, padH: padding, padW: padding,
    dilationH: 1, dilationW: 1, padValue: 0,
    outHeight: outSize(conv.outHeight, kernel, stride, padding, 1), outWidth: outSize(conv.outWidth, kernel, stride, padding, 1),
  };
}

/** One random case: a pooled convolution's operands, its pooling's indices, values and gradient. */
function randomCase(r: () => number, takenByKernel: boolean) {
  const g = convolution(r, takenByKernel);
  const pool = pooling(r, g);
  // The input, every other channel of a wider tensor half the time (a strided view).
  const strided = r() < 0.5;
  const wide = Layout.contiguous([g.batch, g.channels * (strided ? 2 : 1), g.inHeight, g.inWidth]);
  const xl = strided ? wide.slice(1, 0, g.channels, 2) : wide;
  const x = randomValues(r, wide.size);
  const wl = Layout.contiguous([g.outChannels, g.channels / g.groups, g.kernelHeight, g.kernelWidth]);
  const w = randomValues(r, wl.size);
  const y = jsBackend.conv2d(x, xl, w, wl, null, null, g);
  const reluFirst = r() < 0.5;
  const { values, indices } = jsBackend.maxPool(y, Layout.contiguous([g.batch, g.outChannels, g.outHeight, g.outWidth]), pool, reluFirst);
  const pl = Layout.contiguous([g.batch, g.outChannels, pool.outHeight, pool.outWidth]);
  const poolGrad = randomValues(r, pl.size);
  return { g, pool, x, xl, w, wl, poolGrad, pl, indices, reluPooled: reluFirst ? (values as Float32Array) : null };
}

for (const takenByKernel of [true, false]) {
  test(`${takenByKernel ? "convolutions the kernel takes" : "convolutions it does not take (scattered)"}: weight and bias gradients from max pooling's gradient match the JS backend`, () => {
    const r = rng(takenByKernel ? 91 : 92);
    for (const { label, rt } of wasmRuntimes()) {
      withKernelLog(rt, (kernels) => {
        for (let trial = 0; trial < 25; trial++) {
          const c = randomCase(r, takenByKernel);
          const want = { input: !takenByKernel && r() < 0.5, weight: true, bias: r() < 0.7 };
          assert.equal(fromMaxPoolApplies(c.g), takenByKernel, JSON.stringify(c.g));
          const expected = jsBackend.conv2dBackwardFromMaxPool(c.poolGrad, c.pl, c.indices, c.pool, c.reluPooled, c.x, c.xl, c.w, c.wl, c.g, want);
          kernels.length = 0;
          const got = conv2dBackwardFromMaxPoolOn(rt, c.poolGrad, c.pl, c.indices, c.pool, c.reluPooled, c.x, c.xl, c.w, c.wl, c.g, want);
          const unscattered = kernels.includes("convWeightGradFromMaxPool");
          assert.equal(unscattered, takenByKernel && !want.input, `${label}: which path ran (${kernels.join(", ")})`);
          const context = `${label}, ${JSON.stringify(c.g)}, pool ${JSON.stringify(c.pool)}, relu ${c.reluPooled !== null}`;
          const taps = (c.g.channels / c.g.groups) * c.g.kernelHeight * c.g.kernelWidth;
          assertAllClose(got.weight as Float32Array, expected.weight as Float32Array, 1e-5 * c.g.batch * c.pool.outHeight * c.pool.outWidth, `weight: ${context}`);
          if (want.bias) assertAllClose(got.bias as Float32Array, expected.bias as Float32Array, 1e-5 * c.g.batch * c.pool.outHeight * c.pool.outWidth, `bias: ${context}`);
          else assert.equal(got.bias, null);
          if (want.input) assertAllClose(got.input as Float32Array, expected.input as Float32Array, 1e-5 * taps, `input: ${context}`);
          else assert.equal(got.input, null);
        }
      });
    }
  });
}

test("one thread and several give the same gradients (one output channel per share)", () => {
  const r = rng(93);
  // The plain SIMD build on one thread and on three.
  const runtimes = wasmRuntimes([1, 3]).slice(0, 2);
  for (let trial = 0; trial < 10; trial++) {
    const c = randomCase(r, true);
    const want = { input: false, weight: true, bias: true };
    const [one, three] = runtimes.map(({ rt }) => conv2dBackwardFromMaxPoolOn(rt, c.poolGrad, c.pl, c.indices, c.pool, c.reluPooled, c.x, c.xl, c.w, c.wl, c.g, want));
    assert.deepEqual(one.weight, three.weight);
    assert.deepEqual(one.bias, three.bias);
  }
});
