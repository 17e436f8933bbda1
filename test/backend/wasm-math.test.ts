// The wasm backend's transcendental and fused elementwise kernels (kernels/math.ts and
// kernels/elementwise.ts) against the JS reference backend, which computes Math.* in double and
// rounds: ulp distance over random bit patterns, wide random ranges and special values; every
// path of the kernel (contiguous rows, strided gathers, broadcasts, row tails, several threads);
// and the fused GELU / sigmoid / tanh gradients through the public API against their composed
// formulas.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import type { BinaryOp, UnaryOp } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { binaryOn, unaryOn } from "../../src/backend/wasm/elementwise.js";
import { WasmRuntime } from "../../src/backend/wasm/runtime.js";
import { Layout } from "../../src/core/layout.js";
import * as flint from "../../src/index.js";
import "../../src/backend/wasm/index.js";
import { assertClose, rng } from "../helpers.js";

// Node 20 validates relaxed SIMD only behind this flag; set before any relaxed module compiles.
setFlagsFromString("--experimental-wasm-relaxed-simd");

const relaxedAvailable = new WasmRuntime({ threads: 1 }).relaxedSimd;
const BUILDS = (relaxedAvailable ? [false, true] : [false]).map((relaxedSimd) => ({
  label: relaxedSimd ? "relaxed" : "simd",
  rt: new WasmRuntime({ relaxedSimd, threads: 1 }),
}));

const TRANSCENDENTAL: readonly UnaryOp[] = ["exp", "log", "tanh", "sigmoid", "erf", "expm1", "log1p", "rsqrt"];
const MAX_ULP = 2;

const bits = new Float32Array(1);
const bitsU = new Uint32Array(bits.buffer);
/** Float32 values between a and b, counting across zero (NaN only matches NaN, -0 only -0). */
function ulpDistance(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === 0 && b === 0) return Object.is(a, b) ? 0 : Infinity;
  const ordered = (x: number) => {
    bits[0] = x;
    const u = bitsU[0];
    return u & 0x80000000 ? -(u & 0x7fffffff) : u;
  };
  return Math.abs(ordered(a) - ordered(b));
}

function assertWithinUlp(got: ArrayLike<number>, want: ArrayLike<number>, input: ArrayLike<number>, maxUlp: number, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    // Infinities must match exactly, not as the neighbour of the largest float.
    const exact = !Number.isFinite(want[i]) || !Number.isFinite(got[i]);
    const d = ulpDistance(got[i], want[i]);
    if (exact ? d !== 0 : d > maxUlp) assert.fail(`${label}: f(${input[i]}) is ${got[i]}, expected ${want[i]} (${d} ulp)`);
  }
}

const SPECIAL = [
  0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e-40, -1e-40, 1.17549435e-38, -1.17549435e-38, 3.4028235e38, -3.4028235e38,
  1, -1, 0.5, -0.5, 2, 1e-8, -1e-8, 2 ** -24, -(2 ** -24), 0.625, -0.625, 0.921875, -0.921875, 3.92, -3.92, 4, -4, 9, -9,
  20, -20, 30, -30, 44, -44, 87.3, -87.3, 88.37, 88.72, 88.73, 89, -100, -103.9, -103.98, -104, -110, -0.99999994, -0.5, 1e30, -1e30,
];

/** Random bit patterns (every exponent, denormals, NaNs and infinities), then uniform draws over ranges. */
function wideInputs(r: () => number): { label: string; x: Float32Array }[] {
  const n = 1 << 15;
  const raw = new Uint32Array(n);
  for (let i = 0; i < n; i++) raw[i] = Math.floor(r() * 2 ** 32);
  const sets = [{ label: "bit patterns", x: new Float32Array(raw.buffer) }, { label: "special values", x: Float32Array.from(SPECIAL) }];
  for (const [lo, hi] of [[-1, 1], [-1e-3, 1e-3], [-6, 6], [-30, 30], [0.5, 2], [80, 95], [-110, -80]]) {
    sets.push({ label: `uniform [${lo}, ${hi}]`, x: Float32Array.from({ length: n }, () => lo + (hi - lo) * r()) });
  }
  return sets;
}

test(`exp, log, tanh, sigmoid, erf, expm1, log1p and rsqrt are within ${MAX_ULP} ulp of the JS backend, special values exact`, () => {
  const r = rng(4242);
  const inputs = wideInputs(r);
  for (const { label, rt } of BUILDS) {
    for (const op of TRANSCENDENTAL) {
      for (const { label: set, x } of inputs) {
        const l = Layout.contiguous([x.length]);
        assertWithinUlp(unaryOn(rt, op, x, l)!, jsBackend.unary(op, x, l, "float32"), x, MAX_ULP, `${label} ${op} on ${set}`);
      }
    }
  }
});

test("special values give what Math.* gives", () => {
  const cases: [UnaryOp, number, number][] = [
    ["exp", 89, Infinity], ["exp", -104, 0], ["exp", -Infinity, 0], ["exp", NaN, NaN], ["exp", -0, 1],
    ["log", 0, -Infinity], ["log", -0, -Infinity], ["log", -1, NaN], ["log", Infinity, Infinity], ["log", 1, 0],
    ["tanh", -0, -0], ["tanh", Infinity, 1], ["tanh", -Infinity, -1], ["tanh", NaN, NaN],
    ["sigmoid", Infinity, 1], ["sigmoid", -Infinity, 0], ["sigmoid", -200, 0],
    ["erf", -0, -0], ["erf", Infinity, 1], ["erf", -Infinity, -1], ["erf", NaN, NaN],
    ["expm1", -0, -0], ["expm1", -Infinity, -1], ["expm1", 100, Infinity], ["expm1", 1e-40, 1e-40],
    ["log1p", -1, -Infinity], ["log1p", -2, NaN], ["log1p", Infinity, Infinity], ["log1p", -0, -0], ["log1p", 1e-40, 1e-40],
  ];
  for (const { label, rt } of BUILDS) {
    for (const [op, x, want] of cases) {
      const got = unaryOn(rt, op, Float32Array.of(x), Layout.contiguous([1]))![0];
      assert.ok(Object.is(got, Math.fround(want)), `${label}: ${op}(${x}) is ${got}, expected ${want}`);
    }
  }
  // Denormal results keep their precision rather than flushing to zero.
  const tiny = unaryOn(BUILDS[0].rt, "exp", Float32Array.of(-100), Layout.contiguous([1]))![0];
  assert.ok(ulpDistance(tiny, Math.fround(Math.exp(-100))) <= 1 && tiny > 0, `exp(-100) is ${tiny}`);
});

type ViewKind = "contiguous" | "offset" | "transposed" | "sliced" | "flipped" | "broadcast" | "scalar";
const VIEW_KINDS: readonly ViewKind[] = ["contiguous", "offset", "transposed", "sliced", "flipped", "broadcast", "scalar"];

/** Storage of values in [lo, hi] seen through a view of `kind` with logical shape [rows, cols]. */
function view(r: () => number, rows: number, cols: number, kind: ViewKind, lo: number, hi: number): { data: Float32Array; layout: Layout } {
  let layout: Layout;
  if (kind === "offset") layout = new Layout([rows, cols], undefined, 3);
  else if (kind === "transposed") layout = Layout.contiguous([cols, rows]).transpose(0, 1);
  else if (kind === "sliced") layout = Layout.contiguous([rows, 2 * cols + 1]).slice(1, 1, cols, 2);
  else if (kind === "flipped") layout = Layout.contiguous([rows, cols]).flip([0, 1]);
  else if (kind === "broadcast") layout = Layout.contiguous([1, cols]).expand([rows, cols]);
  else if (kind === "scalar") layout = Layout.contiguous([]).expand([rows, cols]);
  else layout = Layout.contiguous([rows, cols]);
  let span = layout.offset + 1;
  layout.shape.forEach((d, i) => (span += (d - 1) * Math.abs(layout.strides[i])));
  const data = Float32Array.from({ length: span + 2 }, () => lo + (hi - lo) * r());
  return { data, layout };
}

/** |got - want| <= 4 ulp of want + atol: the fused ops round intermediate results in float32. */
function assertClosePerElement(got: ArrayLike<number>, want: ArrayLike<number>, atol: (i: number) => number, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    const tol = 4 * 2 ** (Math.floor(Math.log2(Math.abs(want[i]) || 1e-38)) - 23) + atol(i);
    if (!(Math.abs(got[i] - want[i]) <= tol)) assert.fail(`${label}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

const FUSED_BINARY: readonly BinaryOp[] = ["geluBackward", "geluTanhBackward", "sigmoidBackward", "tanhBackward", "reluBackward"];

test("every kernel path (contiguous, strided, broadcast, scalar, row tails, threads) agrees with the JS backend", () => {
  const r = rng(777);
  const runtimes = [...BUILDS, { label: "3 threads", rt: new WasmRuntime({ threads: 3 }) }];
  for (const { label, rt } of runtimes) {
    for (let trial = 0; trial < 60; trial++) {
      const rows = 1 + Math.floor(r() * 9);
      const cols = 1 + Math.floor(r() * 37);
      const kindA = VIEW_KINDS[trial % VIEW_KINDS.length];
      const kindB = VIEW_KINDS[Math.floor(r() * VIEW_KINDS.length)];
      const a = view(r, rows, cols, kindA, -5, 5);
      const op = TRANSCENDENTAL[trial % TRANSCENDENTAL.length];
      const x = op === "log" || op === "rsqrt" ? view(r, rows, cols, kindA, 0.01, 50) : a;
      const where = `${label}, [${rows}, ${cols}] ${kindA}`;
      assertWithinUlp(unaryOn(rt, op, x.data, x.layout)!, jsBackend.unary(op, x.data, x.layout, "float32"), jsBackend.copy(x.data, x.layout, "float32"), MAX_ULP, `${op} ${where}`);
      const xs = jsBackend.copy(a.data, a.layout, "float32");
      for (const gelu of ["gelu", "geluTanh"] as const) {
        assertClosePerElement(unaryOn(rt, gelu, a.data, a.layout)!, jsBackend.unary(gelu, a.data, a.layout, "float32"), (i) => 1e-7 * Math.abs(xs[i]), `${gelu} ${where}`);
      }
      // (grad, x) for the GELUs; (grad, output) for sigmoid and tanh, whose outputs lie in [0, 1] and [-1, 1],
      // and for relu (any sign exercises both sides of its threshold).
      const g = view(r, rows, cols, kindB, -2, 2);
      const gs = jsBackend.copy(g.data, g.layout, "float32");
      for (const fused of FUSED_BINARY) {
        const y = fused === "sigmoidBackward" ? view(r, rows, cols, kindA, 0, 1) : fused === "tanhBackward" ? view(r, rows, cols, kindA, -1, 1) : a;
        const got = binaryOn(rt, fused, g.data, g.layout, y.data, y.layout)!;
        const want = jsBackend.binary(fused, g.data, g.layout, y.data, y.layout, "float32");
        assertClosePerElement(got, want, (i) => 1e-6 * Math.abs(gs[i]), `${fused} ${where} with grad ${kindB}`);
      }
      const mul = binaryOn(rt, "mul", a.data, a.layout, g.data, g.layout)!;
      assertWithinUlp(mul, jsBackend.binary("mul", a.data, a.layout, g.data, g.layout, "float32"), xs, 0, `mul ${where} by ${kindB}`);
    }
  }
});

test("relu's gradient is PyTorch's threshold_backward on both backends: 0 where the output is <= 0, NaN outputs pass it", () => {
  for (const backend of ["js", "wasm"]) {
    flint.setBackend(backend);
    try {
      // 600 elements so the wasm backend takes its kernel, not the small-size JS path.
      const values = Array.from({ length: 600 }, (_, i) => [-1, 0, 2, NaN, -0][i % 5]);
      const x = flint.tensor(values).requiresGrad_();
      x.relu().mul(flint.full([600], 3)).sum().backward();
      const grad = Array.from(x.grad!.data() as Float32Array);
      assert.deepEqual(grad.slice(0, 5), [0, 0, 3, 3, 0], backend);
      assert.deepEqual(grad.slice(595), [0, 0, 3, 3, 0], backend);
    } finally {
      flint.setBackend("wasm");
    }
  }
});

test("a large transcendental op splits across threads and matches one thread", () => {
  const r = rng(5);
  const n = 600_001;
  const x = Float32Array.from({ length: n }, () => r() * 20 - 10);
  const l = Layout.contiguous([n]);
  for (const { label, rt } of BUILDS) {
    const threaded = new WasmRuntime({ relaxedSimd: rt.relaxedSimd, threads: 3 });
    assert.equal(threaded.waitForThreads(), 3);
    for (const op of ["erf", "gelu", "exp"] as const) assert.deepEqual(unaryOn(threaded, op, x, l), unaryOn(rt, op, x, l), `${label} ${op}`);
  }
});

/** Forward value and input gradient of `fn` under `backend`, with a non-uniform upstream gradient. */
function valueAndGrad(backend: string, x: flint.Tensor, fn: (x: flint.Tensor) => flint.Tensor): [flint.Tensor, flint.Tensor] {
  flint.setBackend(backend);
  try {
    const leaf = x.detach().clone().requiresGrad_();
    const out = fn(leaf);
    out.mul(flint.linspace(-1, 1, out.numel()).reshape(out.shape.slice())).sum().backward();
    return [out.detach(), leaf.grad!];
  } finally {
    flint.setBackend("js");
  }
}

test("fused GELU, sigmoid and tanh match their composed formulas forward and backward on both backends", () => {
  flint.manualSeed(3);
  const F = flint.nn.functional;
  // Large enough for the wasm kernels; odd so row tails run too.
  const x = flint.randn([7, 61]).mul(3);
  const c = Math.sqrt(2 / Math.PI);
  const composed: [string, (x: flint.Tensor) => flint.Tensor, (x: flint.Tensor) => flint.Tensor][] = [
    ["gelu", (t) => F.gelu(t), (t) => t.mul(t.mul(Math.SQRT1_2).erf().add(1)).mul(0.5)],
    ["gelu tanh", (t) => F.gelu(t, { approximate: "tanh" }), (t) => t.mul(t.add(t.pow(3).mul(0.044715)).mul(c).tanh().add(1)).mul(0.5)],
    ["sigmoid", (t) => t.sigmoid(), (t) => t.neg().exp().add(1).reciprocal()],
    ["tanh", (t) => t.tanh(), (t) => t.mul(2).exp().sub(1).div(t.mul(2).exp().add(1))],
  ];
  for (const backend of ["js", "wasm"]) {
    for (const [label, fused, reference] of composed) {
      const [out, grad] = valueAndGrad(backend, x, fused);
      const [refOut, refGrad] = valueAndGrad("js", x.clamp(-15, 15), reference);
      assertClose(out, refOut, { atol: 1e-5, rtol: 1e-5, message: `${backend} ${label} forward` });
      assertClose(grad, refGrad, { atol: 1e-5, rtol: 1e-5, message: `${backend} ${label} backward` });
    }
  }
});
