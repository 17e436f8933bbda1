// The Winograd F(2x2, 5x5) convolution (kernels/winograd.ts) against the JS reference: forward,
// input, weight and bias gradients on shapes chosen to take each path: LeNet's conv2 (whole rows
// of 4 tiles inside the input), odd output sizes (tiles past the output's edge), rows of tiles
// not a multiple of 4 (quads over two tile rows or two samples), padding (patches reaching into
// it), channel counts that fill no whole 4- or 8-channel panel, batches that do not divide into
// the shares, samples cut into chunks (large images), strided and broadcast views (sliced ones
// are compacted when staged; channels-last ones keep their strides), and every
// subset of wanted gradients; in every build (SIMD / relaxed FMA) on 1 and 2 threads. Also which
// convolutions conv2d sends here.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import type { ConvGeometry, ConvGradsWanted } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { conv2dOn } from "../../src/backend/wasm/conv.js";
import { winogradApplies, winogradConv2dBackwardOn, winogradConv2dOn } from "../../src/backend/wasm/winograd.js";
import { Layout } from "../../src/core/layout.js";
import { repoRoot, rng } from "../helpers.js";
import { assertAllClose, wasmRuntimes } from "../wasm-helpers.js";

const RUNTIMES = wasmRuntimes([1, 2]);

type View = "contiguous" | "channels-last" | "sliced" | "broadcast";

interface Case {
  what: string;
  batch: number;
  channels: number;
  size: [number, number];
  outChannels: number;
  padding?: [number, number];
  bias?: boolean;
  input?: View;
  grad?: View;
}

const CASES: Case[] = [
  { what: "LeNet conv2, 9 samples (not a multiple of the shares)", batch: 9, channels: 20, size: [12, 12], outChannels: 50 },
  { what: "odd output 7x9, 6 channels, 7 output channels, no bias", batch: 3, channels: 6, size: [11, 13], outChannels: 7, bias: false },
  { what: "one sample, output 5x5 (quads over tile rows)", batch: 1, channels: 9, size: [9, 9], outChannels: 17 },
  { what: "padding (2, 1), 5 tiles per row, channels-last input", batch: 4, channels: 5, size: [10, 12], outChannels: 13, padding: [2, 1], input: "channels-last" },
  { what: "two quads per tile row (overlapping patches), channels-last gradient", batch: 2, channels: 8, size: [20, 20], outChannels: 16, grad: "channels-last" },
  { what: "same-size output (padding 2), odd tile rows, sliced input", batch: 5, channels: 7, size: [14, 13], outChannels: 11, padding: [2, 2], input: "sliced" },
  { what: "one output row (half-empty tiles), broadcast gradient (sum().backward())", batch: 6, channels: 8, size: [5, 30], outChannels: 5, grad: "broadcast" },
  // 19x19 = 361 tiles per sample: with 256 KiB (forward) and 640 KiB (backward) of buffers per
  // share, chunks of 144 and 96 tiles, each ending inside a tile row.
  { what: "samples in chunks (output 37x37)", batch: 2, channels: 8, size: [41, 41], outChannels: 16 },
];

const WANTED: ConvGradsWanted[] = [
  { input: true, weight: true, bias: true },
  { input: true, weight: false, bias: false },
  { input: false, weight: true, bias: false },
  { input: false, weight: false, bias: true },
  { input: false, weight: true, bias: true },
];

function geometryOf(c: Case): ConvGeometry {
  const [h, w] = c.size;
  const [ph, pw] = c.padding ?? [0, 0];
  return {
    batch: c.batch, channels: c.channels, inHeight: h, inWidth: w, kernelHeight: 5, kernelWidth: 5,
    strideH: 1, strideW: 1, padH: ph, padW: pw, dilationH: 1, dilationW: 1,
    outHeight: h + 2 * ph - 4, outWidth: w + 2 * pw - 4, padValue: 0, groups: 1, outChannels: c.outChannels,
  };
}

/** Random values in [-1, 1) seen as `shape` through the given kind of view. */
function randomTensor(r: () => number, shape: number[], view: View): { data: Float32Array; layout: Layout } {
  let layout = Layout.contiguous(shape);
  if (view === "channels-last") layout = Layout.contiguous([shape[0], shape[2], shape[3], shape[1]]).permute([0, 3, 1, 2]);
  if (view === "sliced") {
    layout = Layout.contiguous(shape.map((d) => 2 * d));
    shape.forEach((d, i) => (layout = layout.slice(i, 1, d, 2)));
  }
  if (view === "broadcast") layout = Layout.contiguous([1, 1, 1, 1]).expand(shape);
  let span = 1;
  layout.shape.forEach((d, i) => (span += (d - 1) * layout.strides[i]));
  const data = Float32Array.from({ length: layout.offset + span }, () => r() * 2 - 1);
  return { data, layout };
}

test("Winograd convolution forward and gradients match the JS backend", () => {
  const r = rng(5);
  for (const c of CASES) {
    const g = geometryOf(c);
    const x = randomTensor(r, [g.batch, g.channels, g.inHeight, g.inWidth], c.input ?? "contiguous");
    const w = randomTensor(r, [g.outChannels, g.channels, 5, 5], "contiguous");
    const bias = c.bias === false ? null : randomTensor(r, [g.outChannels], "contiguous");
    const grad = randomTensor(r, [g.batch, g.outChannels, g.outHeight, g.outWidth], c.grad ?? "contiguous");
    // The tolerances of the im2col path's tests (conv-fused.test.ts).
    const k = g.channels * 25;
    const length = g.batch * g.outHeight * g.outWidth;
    const wantOut = jsBackend.conv2d(x.data, x.layout, w.data, w.layout, bias?.data ?? null, bias?.layout ?? null, g);
    const wantGrads = jsBackend.conv2dBackward(grad.data, grad.layout, x.data, x.layout, w.data, w.layout, g, WANTED[0]);
    for (const { label, rt } of RUNTIMES) {
      const what = `${c.what}, ${label}`;
      assertAllClose(winogradConv2dOn(rt, x.data, x.layout, w.data, w.layout, bias?.data ?? null, bias?.layout ?? null, g), wantOut, 1e-5 * k, `forward, ${what}`);
      for (const want of WANTED) {
        const got = winogradConv2dBackwardOn(rt, grad.data, grad.layout, x.data, x.layout, w.data, w.layout, g, want);
        const which = `${what}, wanted ${JSON.stringify(want)}`;
        if (want.input) assertAllClose(got.input, wantGrads.input, 1e-5 * g.outChannels, `input gradient, ${which}`);
        if (want.weight) assertAllClose(got.weight, wantGrads.weight, 1e-5 * length, `weight gradient, ${which}`);
        if (want.bias) assertAllClose(got.bias, wantGrads.bias, 1e-5 * length, `bias gradient, ${which}`);
        assert.deepEqual([got.input !== null, got.weight !== null, got.bias !== null], [want.input, want.weight, want.bias], `gradients returned, ${which}`);
      }
    }
  }
});

test("Winograd results are the same bit for bit on 1 and 2 threads (a resumed training run continues exactly)", () => {
  const r = rng(8);
  for (const c of [CASES[0], CASES[3], CASES[CASES.length - 1]]) {
    const g = geometryOf(c);
    const x = randomTensor(r, [g.batch, g.channels, g.inHeight, g.inWidth], "contiguous");
    const w = randomTensor(r, [g.outChannels, g.channels, 5, 5], "contiguous");
    const bias = randomTensor(r, [g.outChannels], "contiguous");
    const grad = randomTensor(r, [g.batch, g.outChannels, g.outHeight, g.outWidth], "contiguous");
    const results = RUNTIMES.map(({ rt }) => ({
      out: winogradConv2dOn(rt, x.data, x.layout, w.data, w.layout, bias.data, bias.layout, g),
      grads: winogradConv2dBackwardOn(rt, grad.data, grad.layout, x.data, x.layout, w.data, w.layout, g, WANTED[0]),
    }));
    RUNTIMES.forEach(({ label, threads }, i) => {
      const one = RUNTIMES.findIndex((other) => other.threads === 1 && other.label.split(",")[0] === label.split(",")[0]);
      if (threads === 1) return;
      assert.deepEqual(results[i], results[one], `${c.what}: ${label} against 1 thread`);
    });
  }
});

test("conv2d takes the Winograd path for 5x5 stride-1 convolutions of 8 or more input channels only", () => {
  const lenetConv2 = geometryOf(CASES[0]);
  assert.ok(winogradApplies(lenetConv2));
  assert.ok(winogradApplies(geometryOf(CASES[CASES.length - 1])), "8 channels, large image");
  const others: [string, Partial<ConvGeometry>][] = [
    ["LeNet conv1 (one input channel)", { channels: 1 }],
    ["7 input channels", { channels: 7 }],
    ["3x3 kernel", { kernelHeight: 3, kernelWidth: 3, outHeight: 10, outWidth: 10 }],
    ["stride 2", { strideH: 2, strideW: 2, outHeight: 4, outWidth: 4 }],
    ["dilation 2", { dilationH: 2, dilationW: 2, outHeight: 4, outWidth: 4 }],
    ["two groups", { groups: 2 }],
    ["5x3 kernel", { kernelWidth: 3, outWidth: 10 }],
  ];
  for (const [what, change] of others) assert.ok(!winogradApplies({ ...lenetConv2, ...change }), what);

  const r = rng(6);
  const x = randomTensor(r, [lenetConv2.batch, 20, 12, 12], "contiguous");
  const w = randomTensor(r, [50, 20, 5, 5], "contiguous");
  const { rt } = RUNTIMES[0];
  assert.deepEqual(conv2dOn(rt, x.data, x.layout, w.data, w.layout, null, null, lenetConv2), winogradConv2dOn(rt, x.data, x.layout, w.data, w.layout, null, null, lenetConv2));
});

test("FLINT_WINOGRAD=0 turns the Winograd path off", () => {
  const script = `import { winogradApplies } from "./dist/src/backend/wasm/winograd.js"; console.log(winogradApplies(${JSON.stringify(geometryOf(CASES[0]))}));`;
  const run = (value: string) => spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: repoRoot, encoding: "utf8", env: { ...process.env, FLINT_WINOGRAD: value } }).stdout.trim();
  assert.equal(run("0"), "false");
  assert.equal(run("1"), "true");
});
