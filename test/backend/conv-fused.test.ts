// The fused convolution's packing paths (kernels/window.ts: im2col straight into the GEMM's
// panels, col2im straight from its tiles) against the JS reference, on shapes chosen to take
// each path: whole output rows of 8 inside the input (LeNet's layers), rows that reach into the
// padding, panels that span two output rows, 4-channel tiles added from registers and partial
// tiles added through the tile buffer, and strided views that take the scalar paths.
import { test } from "node:test";
import type { ConvGeometry } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { im2colConv2dBackwardOn, im2colConv2dOn } from "../../src/backend/wasm/conv.js";
import { Layout } from "../../src/core/layout.js";
import { rng } from "../helpers.js";
import { assertAllClose, wasmRuntimes } from "../wasm-helpers.js";

const RUNTIMES = wasmRuntimes();

interface Shape {
  what: string;
  batch: number;
  channels: number;
  size: [number, number];
  outChannels: number;
  kernel: [number, number];
  stride?: [number, number];
  padding?: [number, number];
  dilation?: [number, number];
  groups?: number;
}

const SHAPES: Shape[] = [
  { what: "LeNet conv2 (8 output columns per row, no padding)", batch: 5, channels: 20, size: [12, 12], outChannels: 50, kernel: [5, 5] },
  { what: "LeNet conv1 (one input channel, rows of 24)", batch: 3, channels: 1, size: [28, 28], outChannels: 20, kernel: [5, 5] },
  { what: "3x3 with padding (rows of 16 reaching into the padding)", batch: 3, channels: 8, size: [16, 16], outChannels: 7, kernel: [3, 3], padding: [1, 1] },
  { what: "6 channels (partial 4-channel tiles), rows of 11 (panels over two rows)", batch: 4, channels: 6, size: [9, 13], outChannels: 5, kernel: [3, 3] },
  { what: "dilated, asymmetric padding, 9 output rows of 8", batch: 2, channels: 4, size: [13, 12], outChannels: 9, kernel: [3, 2], padding: [2, 1], dilation: [2, 3] },
  { what: "groups of 4 channels, padded", batch: 3, channels: 8, size: [10, 10], outChannels: 6, kernel: [3, 3], padding: [1, 1], groups: 2 },
  { what: "vertical stride only (row stride 2, column stride 1)", batch: 2, channels: 5, size: [15, 18], outChannels: 4, kernel: [4, 3], stride: [2, 1], padding: [0, 2] },
  { what: "horizontal stride (scalar paths)", batch: 2, channels: 4, size: [11, 20], outChannels: 3, kernel: [3, 3], stride: [1, 2], padding: [1, 1] },
];

function geometryOf(s: Shape): ConvGeometry {
  const [kh, kw] = s.kernel;
  const [sh, sw] = s.stride ?? [1, 1];
  const [ph, pw] = s.padding ?? [0, 0];
  const [dh, dw] = s.dilation ?? [1, 1];
  const [h, w] = s.size;
  return {
    batch: s.batch, channels: s.channels, inHeight: h, inWidth: w, kernelHeight: kh, kernelWidth: kw,
    strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw,
    outHeight: Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1, outWidth: Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1,
    padValue: 0, groups: s.groups ?? 1, outChannels: s.outChannels,
  };
}

/** Random values as a contiguous [N, C, H, W] tensor, or the same shape viewed from channels-last storage (input columns 1 apart no longer). */
function randomInput(r: () => number, shape: number[], channelsLast: boolean): { data: Float32Array; layout: Layout } {
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
  const layout = channelsLast ? Layout.contiguous([shape[0], shape[2], shape[3], shape[1]]).permute([0, 3, 1, 2]) : Layout.contiguous(shape);
  return { data, layout };
}

for (const channelsLast of [false, true]) {
  test(`the fused convolution's packing paths match the JS backend (${channelsLast ? "channels-last input" : "contiguous input"})`, () => {
    const r = rng(channelsLast ? 91 : 90);
    for (const shape of SHAPES) {
      const g = geometryOf(shape);
      const x = randomInput(r, [g.batch, g.channels, g.inHeight, g.inWidth], channelsLast);
      const w = randomInput(r, [g.outChannels, g.channels / g.groups, g.kernelHeight, g.kernelWidth], false);
      const bias = randomInput(r, [g.outChannels], false);
      const grad = randomInput(r, [g.batch, g.outChannels, g.outHeight, g.outWidth], false);
      const k = (g.channels / g.groups) * g.kernelHeight * g.kernelWidth;
      const length = g.batch * g.outHeight * g.outWidth;
      const all = { input: true, weight: true, bias: true };
      const wantOut = jsBackend.conv2d(x.data, x.layout, w.data, w.layout, bias.data, bias.layout, g);
      const want = jsBackend.conv2dBackward(grad.data, grad.layout, x.data, x.layout, w.data, w.layout, g, all);
      for (const { label, rt } of RUNTIMES) {
        const what = `${shape.what}, ${label}`;
        assertAllClose(im2colConv2dOn(rt, x.data, x.layout, w.data, w.layout, bias.data, bias.layout, g), wantOut, 1e-5 * k, `forward, ${what}`);
        const got = im2colConv2dBackwardOn(rt, grad.data, grad.layout, x.data, x.layout, w.data, w.layout, g, all);
        assertAllClose(got.input, want.input, 1e-5 * g.outChannels, `input gradient, ${what}`);
        assertAllClose(got.weight, want.weight, 1e-5 * length, `weight gradient, ${what}`);
        assertAllClose(got.bias, want.bias, 1e-5 * length, `bias gradient, ${what}`);
      }
    }
  });
}
