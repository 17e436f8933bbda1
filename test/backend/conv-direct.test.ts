// The direct convolution forward (kernels/conv-direct.ts) for short windows against the JS
// reference: random geometries it takes (1-3 input channels, windows up to 32 taps, output rows
// shorter than, equal to and past its 8-pixel blocks, output channels not a multiple of its
// 4-channel blocks), with and without bias, in every build and thread count; and which
// convolutions go to it.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConvGeometry } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { directApplies } from "../../src/backend/wasm/conv-direct.js";
import { conv2dOn } from "../../src/backend/wasm/conv.js";
import { Layout } from "../../src/core/layout.js";
import { pick, rng } from "../helpers.js";
import { assertAllClose, wasmRuntimes, withKernelLog } from "../wasm-helpers.js";

function randomValues(r: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

function directConv(r: () => number): ConvGeometry {
  for (;;) {
    const channels = pick(r, [1, 1, 2, 3]);
    const [kh, kw] = [pick(r, [1, 2, 3, 5]), pick(r, [1, 3, 4, 5])];
    if (channels * kh * kw > 32) continue;
    const [h, w] = [kh - 1 + pick(r, [1, 2, 7, 24]), kw - 1 + pick(r, [1, 5, 8, 9, 17, 24])];
    return {
      batch: pick(r, [1, 2, 5]), channels, inHeight: h, inWidth: w, kernelHeight: kh, kernelWidth: kw,
      strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, outHeight: h - kh + 1, outWidth: w - kw + 1,
      padValue: 0, groups: 1, outChannels: pick(r, [1, 3, 4, 6, 9, 20]),
    };
  }
}

test("the direct convolution matches the JS backend on the geometries it takes", () => {
  const r = rng(77);
  for (const { label, rt } of wasmRuntimes()) {
    withKernelLog(rt, (kernels) => {
      for (let trial = 0; trial < 30; trial++) {
        const g = directConv(r);
        assert.ok(directApplies(g));
        const xl = Layout.contiguous([g.batch, g.channels, g.inHeight, g.inWidth]);
        const wl = Layout.contiguous([g.outChannels, g.channels, g.kernelHeight, g.kernelWidth]);
        const x = randomValues(r, xl.size), w = randomValues(r, wl.size);
        const bias = r() < 0.7 ? randomValues(r, g.outChannels) : null;
        const bl = bias === null ? null : Layout.contiguous([g.outChannels]);
        const want = jsBackend.conv2d(x, xl, w, wl, bias, bl, g);
        kernels.length = 0;
        const got = conv2dOn(rt, x, xl, w, wl, bias, bl, g);
        assert.deepEqual(kernels, ["convDirectForward"], `${label}: the direct kernel ran, ${JSON.stringify(g)}`);
        assertAllClose(got, want, 1e-5 * g.channels * g.kernelHeight * g.kernelWidth, `${label}, ${JSON.stringify(g)}, bias ${bias !== null}`);
      }
    });
  }
});

test("only stride 1, no dilation or padding, one group and at most 32 taps go to the direct convolution", () => {
  const lenetConv1: ConvGeometry = {
    batch: 64, channels: 1, inHeight: 28, inWidth: 28, kernelHeight: 5, kernelWidth: 5, strideH: 1, strideW: 1,
    padH: 0, padW: 0, dilationH: 1, dilationW: 1, outHeight: 24, outWidth: 24, padValue: 0, groups: 1, outChannels: 20,
  };
  assert.ok(directApplies(lenetConv1));
  assert.ok(!directApplies({ ...lenetConv1, strideW: 2, outWidth: 12 }));
  assert.ok(!directApplies({ ...lenetConv1, padH: 1, outHeight: 26 }));
  assert.ok(!directApplies({ ...lenetConv1, dilationW: 2, outWidth: 20 }));
  assert.ok(!directApplies({ ...lenetConv1, channels: 2, groups: 2, outChannels: 20 }));
  assert.ok(!directApplies({ ...lenetConv1, channels: 2 }), "50 taps");
});
