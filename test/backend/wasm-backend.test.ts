// The wasm backend through the public API: forward values and gradients of the ops it
// accelerates (matmul in all its forms, conv2d, unfold/fold) agree with the JS backend, it is
// the default once registered, and its worker threads never keep Node alive.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import "../../src/backend/wasm/index.js";
import { fold, unfold } from "../../src/ops/window.js";
import { assertClose, repoRoot } from "../helpers.js";

type Tensor = flint.Tensor;

/** Runs `fn` on fresh leaf copies of `inputs` under each backend; returns output and input grads. */
function onBackend(name: string, inputs: Tensor[], fn: (...xs: Tensor[]) => Tensor): { out: Tensor; grads: Tensor[] } {
  flint.setBackend(name);
  try {
    const leaves = inputs.map((x) => x.detach().clone().requiresGrad_());
    const out = fn(...leaves);
    // A fixed, non-uniform upstream gradient so every output element's gradient path counts.
    out.mul(flint.linspace(-1, 1, out.numel()).reshape(out.shape.slice())).sum().backward();
    return { out: out.detach(), grads: leaves.map((l) => l.grad!) };
  } finally {
    flint.setBackend("js");
  }
}

function assertSameOnBothBackends(label: string, inputs: Tensor[], fn: (...xs: Tensor[]) => Tensor, tol = 1e-4): void {
  const js = onBackend("js", inputs, fn);
  const wasm = onBackend("wasm", inputs, fn);
  assertClose(wasm.out, js.out, { atol: tol, rtol: tol, message: `${label} forward` });
  wasm.grads.forEach((g, i) => assertClose(g, js.grads[i], { atol: tol, rtol: tol, message: `${label} grad ${i}` }));
}

test("wasm is registered and is the default backend", () => {
  assert.ok(flint.availableBackends().includes("wasm"));
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", `import * as f from "./dist/src/index.js"; import "./dist/src/backend/wasm/index.js"; console.log(f.getBackend());`], { cwd: repoRoot, encoding: "utf8", env: { ...process.env, FLINT_BACKEND: "" } });
  assert.equal(child.stdout.trim(), "wasm", child.stderr);
});

test("matmul, mm, bmm and broadcast matmul agree with the JS backend, gradients included", () => {
  flint.manualSeed(1);
  assertSameOnBothBackends("mm", [flint.randn([37, 70]), flint.randn([70, 45])], (a, b) => a.mm(b));
  assertSameOnBothBackends("mm of transposes", [flint.randn([70, 37]), flint.randn([45, 70])], (a, b) => a.t().mm(b.t()));
  assertSameOnBothBackends("bmm", [flint.randn([3, 20, 33]), flint.randn([3, 33, 19])], (a, b) => a.bmm(b));
  assertSameOnBothBackends("broadcast matmul", [flint.randn([4, 1, 9, 40]), flint.randn([3, 40, 21])], (a, b) => a.matmul(b));
  assertSameOnBothBackends("linear layer", [flint.randn([64, 100]), flint.randn([50, 100]), flint.randn([50])], (x, w, b) => x.matmul(w.t()).add(b).relu());
  assertSameOnBothBackends("sliced and flipped", [flint.randn([80, 60])], (a) => a.slice([5, 75, 2], [null, null]).matmul(a.flip([0]).narrow(0, 3, 60)));
});

test("conv2d forward and backward agree with the JS backend", () => {
  flint.manualSeed(2);
  const F = flint.nn.functional;
  // LeNet's conv2 takes the Winograd path (src/backend/wasm/winograd.ts), whose float32 error is
  // about 1e-6 of the output scale (im2col's: 1e-7); with randn weights these outputs reach ~80.
  // Measured up to 1.2e-4 over 12 seeds and both builds, hence 2.5e-4 instead of 1e-4.
  assertSameOnBothBackends("LeNet conv2", [flint.randn([8, 20, 12, 12]), flint.randn([50, 20, 5, 5]), flint.randn([50])], (x, w, b) => F.conv2d(x, w, { bias: b }), 2.5e-4);
  assertSameOnBothBackends("strided padded dilated conv", [flint.randn([3, 4, 17, 15]), flint.randn([6, 4, 3, 3])], (x, w) => F.conv2d(x, w, { stride: 2, padding: 2, dilation: 2 }));
  assertSameOnBothBackends("conv of a channels-last view", [flint.randn([2, 19, 21, 3]), flint.randn([5, 3, 4, 4])], (x, w) => F.conv2d(x.permute([0, 3, 1, 2]), w, { padding: 1 }));
});

test("unfold and fold (max-pool style windows included) agree with the JS backend", () => {
  flint.manualSeed(3);
  const pool = { kernelSize: [2, 2] as [number, number], stride: [2, 2] as [number, number], padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number], padValue: -Infinity };
  assertSameOnBothBackends("max pool via unfold", [flint.randn([16, 20, 24, 24])], (x) => unfold(x, pool).reshape([16, 20, 4, -1]).amax(2));
  const win = { kernelSize: [3, 5] as [number, number], stride: [1, 2] as [number, number], padding: [1, 2] as [number, number], dilation: [2, 1] as [number, number] };
  assertSameOnBothBackends("fold", [flint.randn([4, 45, 28 * 11])], (c) => fold(c, [30, 21], win));
});

test("a threaded wasm process exits on its own (worker threads are unref'd)", () => {
  const script = `import * as f from "./dist/src/index.js"; import "./dist/src/backend/wasm/index.js"; f.setBackend("wasm"); const a = f.randn([300, 300]); for (let i = 0; i < 20; i++) a.mm(a); console.log("done");`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: repoRoot, encoding: "utf8", timeout: 20000, env: { ...process.env, FLINT_NUM_THREADS: "2" } });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), "done");
});
