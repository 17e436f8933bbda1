// The fused layer norm: the wasm kernels against the JS reference on random odd row sizes, with
// and without weight and bias, every subset of wanted gradients, in every build (SIMD / relaxed
// FMA, 1 to 3 threads); and F.layerNorm's gradients against a numerical gradcheck and the
// composite formula on both backends.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LayerNormProblem } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { layerNormBackwardOn, layerNormOn } from "../../src/backend/wasm/normalization.js";
import * as flint from "../../src/index.js";
import { pick, rng } from "../helpers.js";
import { assertAllClose, wasmRuntimes } from "../wasm-helpers.js";

const RUNTIMES = wasmRuntimes();

function randomFloats(r: () => number, n: number, scale = 1, shift = 0): Float32Array {
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale + shift);
}

test("wasm layer norm forward and backward match the JS reference on random row sizes, threads and builds", () => {
  const r = rng(11);
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 12; trial++) {
      const size = pick(r, [1, 3, 4, 7, 128, 129, 500]);
      const rows = pick(r, [1, 2, 5, 33, 300]);
      // Rows with an offset and scale, so the mean and variance are not trivial.
      const problem: LayerNormProblem = {
        x: randomFloats(r, rows * size, 3, 2),
        rows,
        size,
        eps: pick(r, [1e-5, 1e-3]),
        weight: r() < 0.7 ? randomFloats(r, size) : null,
        bias: r() < 0.7 ? randomFloats(r, size) : null,
      };
      const what = `${label}, [${rows}, ${size}], weight ${problem.weight !== null}, bias ${problem.bias !== null}`;
      const want = jsBackend.layerNorm(problem);
      const got = layerNormOn(rt, problem);
      assertAllClose(got.output, want.output, 1e-5, `output, ${what}`);
      assertAllClose(got.stats.mean, want.stats.mean, 1e-5, `mean, ${what}`);
      assertAllClose(got.stats.rstd, want.stats.rstd, 1e-5, `rstd, ${what}`);
      const grad = randomFloats(r, rows * size);
      const wanted = { input: r() < 0.8, weight: problem.weight !== null && r() < 0.8, bias: problem.bias !== null && r() < 0.8 };
      const gotGrads = layerNormBackwardOn(rt, problem, want.stats, grad, wanted);
      const wantGrads = jsBackend.layerNormBackward(problem, want.stats, grad, wanted);
      for (const key of ["input", "weight", "bias"] as const) {
        if (!wanted[key]) {
          assert.equal(gotGrads[key], null, `${key} gradient not wanted, ${what}`);
          continue;
        }
        assertAllClose(gotGrads[key], wantGrads[key], 1e-5 * (key === "input" ? size : rows), `${key} gradient, ${what}`);
      }
    }
  }
});

test("F.layerNorm is one node whose gradients pass gradcheck and match the composite formula on both backends", () => {
  const F = flint.nn.functional;
  const previous = flint.getBackend();
  try {
    for (const name of ["js", "wasm"] as const) {
      flint.setBackend(name);
      flint.manualSeed(3);
      // [6, 3, 40, 37] = 26,640 elements: above the wasm kernel's size threshold; normalized over the last two dims.
      const x = flint.randn([6, 3, 40, 37]).mul(2).add(1).requiresGrad_();
      const w = flint.randn([40, 37]).requiresGrad_();
      const b = flint.randn([40, 37]).requiresGrad_();
      const y = F.layerNorm(x, [40, 37], { weight: w, bias: b });
      assert.equal(y.gradFn?.name, "layerNorm", `${name}: one node`);
      const g = flint.randn([...y.shape]);
      y.backward(g);
      // The same quantities from plain tensor ops, differentiated by the tape.
      const xc = x.detach().requiresGrad_(), wc = w.detach().requiresGrad_(), bc = b.detach().requiresGrad_();
      const centered = xc.sub(xc.mean([2, 3], { keepdim: true }));
      const composite = centered.mul(centered.square().mean([2, 3], { keepdim: true }).add(1e-5).rsqrt()).mul(wc).add(bc);
      composite.backward(g);
      assert.ok(y.detach().sub(composite.detach()).abs().max().item() < 1e-4, `${name}: output`);
      for (const [got, want, what] of [[x, xc, "input"], [w, wc, "weight"], [b, bc, "bias"]] as const) {
        const err = got.grad!.sub(want.grad!).abs().max().item();
        assert.ok(err < 2e-3, `${name}: ${what} gradient differs by ${err}`);
      }
      const small = [flint.randn([3, 5]).requiresGrad_(), flint.randn([5]).requiresGrad_(), flint.randn([5]).requiresGrad_()];
      assert.ok(flint.autograd.gradcheck((xi: flint.Tensor, wi: flint.Tensor, bi: flint.Tensor) => F.layerNorm(xi, 5, { weight: wi, bias: bi }), small), `${name}: gradcheck`);
    }
  } finally {
    flint.setBackend(previous);
  }
});

test("F.layerNorm rejects integer inputs with a clear error", () => {
  assert.throws(() => flint.nn.functional.layerNorm(flint.tensor([[1, 2, 3]], { dtype: "int32" }), 3), /layerNorm: expected float32/);
});
