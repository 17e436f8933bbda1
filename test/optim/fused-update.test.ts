// The fused optimizer updates (src/backend/js/optim.ts and the wasm kernels in kernels/optim.ts)
// against the split loops the optimizers ran before them, which match PyTorch 1.13 bit for bit
// (test/optim/optimizers.test.ts): every element must agree to the bit, on odd lengths (SIMD and
// chunk tails), awkward values (zeros, tiny, huge gradients) and both wasm builds; then Adam,
// AdamW and SGD end to end on both backends with strided parameters.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AdamUpdate, SgdMomentumUpdate } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import { adamUpdateOn, sgdMomentumUpdateOn, STREAM_CHUNK } from "../../src/backend/wasm/optim.js";
import { wasmRuntime } from "../../src/backend/wasm/runtime.js";
import * as flint from "../../src/index.js";
import { rng } from "../helpers.js";
import { wasmRuntimes } from "../wasm-helpers.js";

const f = Math.fround;

/** Values over many magnitudes, with exact zeros, so rounding differences would show. */
function randomArray(r: () => number, n: number, scale: number, positive = false): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.02) continue;
    const magnitude = scale * 10 ** (r() * 8 - 6);
    out[i] = positive || r() < 0.5 ? magnitude : -magnitude;
  }
  return out;
}

function assertSameBits(actual: Float32Array, expected: Float32Array, message: string): void {
  assert.equal(actual.length, expected.length, message);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${message}: element ${i} of ${a.length} is ${actual[i]}, expected ${expected[i]}`);
  }
}

// The loops the optimizers ran before the fused updates, verbatim in arithmetic.
function splitAdam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, h: AdamHyper): void {
  if (h.decay !== 1) for (let i = 0; i < p.length; i++) p[i] *= f(h.decay);
  const b1 = f(h.beta1), b2 = f(h.beta2), c1 = f(1 - h.beta1), c2 = f(1 - h.beta2);
  for (let i = 0; i < m.length; i++) {
    const gi = g[i];
    m[i] = f(m[i] * b1) + c1 * gi;
    v[i] = f(v[i] * b2) + f(f(c2 * gi) * gi);
  }
  const bc2 = f(h.biasCorrection2Sqrt), e = f(h.eps), negStep = f(-h.stepSize);
  for (let i = 0; i < p.length; i++) {
    const denom = f(f(f(Math.sqrt(v[i])) / bc2) + e);
    p[i] += f(f(negStep * m[i]) / denom);
  }
}

function splitMomentum(p: Float32Array, d: Float32Array, buf: Float32Array, h: SgdHyper): void {
  const keep = f(1 - h.dampening), negLr = f(-h.lr), m = f(h.momentum);
  for (let i = 0; i < p.length; i++) {
    buf[i] = f(buf[i] * m) + keep * d[i];
    p[i] += h.nesterov ? negLr * f(d[i] + m * buf[i]) : negLr * buf[i];
  }
}

interface AdamHyper { beta1: number; beta2: number; stepSize: number; biasCorrection2Sqrt: number; eps: number; decay: number }
interface SgdHyper { lr: number; momentum: number; dampening: number; nesterov: boolean }

function adamUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, h: AdamHyper): AdamUpdate {
  return {
    param: p, grad: g, expAvg: m, expAvgSq: v, beta1: f(h.beta1), beta2: f(h.beta2), oneMinusBeta1: f(1 - h.beta1), oneMinusBeta2: f(1 - h.beta2),
    biasCorrection2Sqrt: f(h.biasCorrection2Sqrt), eps: f(h.eps), negStepSize: f(-h.stepSize), decay: f(h.decay),
  };
}

function momentumUpdate(p: Float32Array, d: Float32Array, buf: Float32Array, h: SgdHyper): SgdMomentumUpdate {
  return { param: p, grad: d, buffer: buf, momentum: f(h.momentum), keep: f(1 - h.dampening), negLr: f(-h.lr), nesterov: h.nesterov };
}

// Two threads: a worker runs each chunk's kernel while the caller stages the next (startDetached).
const RUNTIMES = wasmRuntimes([1, 2]);
// Odd lengths: SIMD tails, one element, exactly one chunk (16K), and several chunks with a tail.
const LENGTHS = [1, 3, 7, 1029, STREAM_CHUNK, STREAM_CHUNK + 1, 3 * STREAM_CHUNK + 13, 50001];

test("fused Adam updates give the split loops' bits, in JS and in wasm", () => {
  const r = rng(7);
  for (const n of LENGTHS) {
    for (let trial = 0; trial < 2; trial++) {
      const step = 1 + Math.floor(r() * 50);
      const beta1 = 0.8 + 0.19 * r(), beta2 = 0.99 + 0.0099 * r(), lr = 10 ** (-1 - 3 * r());
      const h: AdamHyper = {
        beta1, beta2, stepSize: lr / (1 - beta1 ** step), biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** step),
        eps: trial === 0 ? 1e-8 : 1e-3, decay: trial === 0 ? 1 : 1 - lr * 0.05,
      };
      const p0 = randomArray(r, n, 1), g = randomArray(r, n, trial === 0 ? 1 : 1e3);
      const m0 = randomArray(r, n, 0.1), v0 = randomArray(r, n, 0.01, true);
      const label = `n=${n} trial ${trial}`;
      const [p, m, v] = [p0.slice(), m0.slice(), v0.slice()];
      splitAdam(p, g, m, v, h);
      const [pj, mj, vj] = [p0.slice(), m0.slice(), v0.slice()];
      jsBackend.adamUpdate(adamUpdate(pj, g, mj, vj, h));
      assertSameBits(pj, p, `js param ${label}`);
      assertSameBits(mj, m, `js exp_avg ${label}`);
      assertSameBits(vj, v, `js exp_avg_sq ${label}`);
      for (const { label: build, rt } of RUNTIMES) {
        const [pw, mw, vw] = [p0.slice(), m0.slice(), v0.slice()];
        adamUpdateOn(rt, adamUpdate(pw, g, mw, vw, h));
        assertSameBits(pw, p, `wasm (${build}) param ${label}`);
        assertSameBits(mw, m, `wasm (${build}) exp_avg ${label}`);
        assertSameBits(vw, v, `wasm (${build}) exp_avg_sq ${label}`);
      }
    }
  }
});

test("fused SGD momentum updates give the split loop's bits, in JS and in wasm", () => {
  const r = rng(11);
  for (const n of LENGTHS) {
    for (const nesterov of [false, true]) {
      const h: SgdHyper = { lr: 10 ** (-3 * r()), momentum: 0.5 + 0.49 * r(), dampening: nesterov ? 0 : 0.3 * r(), nesterov };
      const p0 = randomArray(r, n, 1), d = randomArray(r, n, 10), b0 = randomArray(r, n, 1);
      const label = `n=${n} nesterov ${nesterov}`;
      const [p, b] = [p0.slice(), b0.slice()];
      splitMomentum(p, d, b, h);
      const [pj, bj] = [p0.slice(), b0.slice()];
      jsBackend.sgdMomentumUpdate(momentumUpdate(pj, d, bj, h));
      assertSameBits(pj, p, `js param ${label}`);
      assertSameBits(bj, b, `js buffer ${label}`);
      for (const { label: build, rt } of RUNTIMES) {
        const [pw, bw] = [p0.slice(), b0.slice()];
        sgdMomentumUpdateOn(rt, momentumUpdate(pw, d, bw, h));
        assertSameBits(pw, p, `wasm (${build}) param ${label}`);
        assertSameBits(bw, b, `wasm (${build}) buffer ${label}`);
      }
    }
  }
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = flint.optim.Optimizer<any>;

/** Runs four optimizer steps from the same start on the named backend and gives the final parameters and state. */
function train(backend: string, make: (params: flint.Tensor[]) => AnyOptimizer, seed: number): Float32Array[] {
  const before = flint.getBackend();
  flint.setBackend(backend);
  try {
    const r = rng(seed);
    // A transposed (strided) parameter goes through the copy-and-write-back path.
    const weight = flint.tensor(Array.from(randomArray(r, 37 * 61, 1))).reshape([61, 37]).transpose(0, 1).requiresGrad_();
    const bias = flint.tensor(Array.from(randomArray(r, 2051, 1))).requiresGrad_();
    const small = flint.tensor(Array.from(randomArray(r, 5, 1))).requiresGrad_();
    const params = [weight, bias, small];
    const opt = make(params);
    for (let step = 0; step < 4; step++) {
      opt.zeroGrad();
      for (const p of params) p.grad = flint.tensor(Array.from(randomArray(r, p.numel(), 1))).reshape([...p.shape]);
      opt.step();
    }
    const state = Object.values(opt.stateDict().state).flatMap((entries) => Object.values(entries).filter((x): x is flint.Tensor => x instanceof flint.Tensor));
    return [...params, ...state].map((t) => t.contiguous().data() as Float32Array);
  } finally {
    flint.setBackend(before);
  }
}

test("Adam, AdamW and SGD end to end: the wasm backend gives the JS backend's bits", { skip: !flint.availableBackends().includes("wasm") }, () => {
  const { optim } = flint;
  const cases: [string, (params: flint.Tensor[]) => AnyOptimizer][] = [
    ["Adam", (ps) => new optim.Adam(ps, { lr: 1e-2 })],
    ["Adam L2 maximize", (ps) => new optim.Adam(ps, { lr: 1e-2, weightDecay: 0.1, maximize: true })],
    ["AdamW", (ps) => new optim.AdamW(ps, { lr: 1e-2, weightDecay: 0.1 })],
    ["SGD momentum dampening L2", (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 })],
    ["SGD Nesterov", (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true })],
  ];
  cases.forEach(([label, make], k) => {
    const js = train("js", make, 100 + k);
    const wasm = train("wasm", make, 100 + k);
    assert.equal(wasm.length, js.length, label);
    js.forEach((expected, i) => assertSameBits(wasm[i], expected, `${label}: tensor ${i}`));
  });
});

const SHARED_RUNTIMES = wasmRuntimes([2]).filter(({ rt }) => rt.shared);

test("with a worker up, a streamed update runs every chunk's kernel on it, and one thread runs them itself", { skip: SHARED_RUNTIMES.length === 0 }, () => {
  const r = rng(17);
  const n = 3 * STREAM_CHUNK + 13;
  const h: AdamHyper = { beta1: 0.9, beta2: 0.999, stepSize: 1e-2, biasCorrection2Sqrt: 0.1, eps: 1e-8, decay: 1 };
  for (const { rt, threads } of [...SHARED_RUNTIMES, ...wasmRuntimes([1])]) {
    const startDetached = rt.startDetached;
    const started: boolean[] = [];
    rt.startDetached = (...args) => {
      const ok = startDetached.apply(rt, args);
      started.push(ok);
      return ok;
    };
    try {
      adamUpdateOn(rt, adamUpdate(randomArray(r, n, 1), randomArray(r, n, 1), randomArray(r, n, 0.1), randomArray(r, n, 0.01, true), h));
    } finally {
      rt.startDetached = startDetached;
    }
    assert.equal(started.length, 4, "one start per chunk");
    assert.ok(started.every((ok) => ok === threads > 1), `${threads} thread(s): ${started}`);
  }
});

test("optimizer state resident in wasm memory is updated in place, with the split loops' bits", { skip: SHARED_RUNTIMES.length === 0 }, () => {
  const r = rng(13);
  for (const { label: build, rt } of SHARED_RUNTIMES) {
    // Several chunks with a tail: each chunk must address its own part of the resident arrays.
    for (const n of [1029, 3 * STREAM_CHUNK + 13]) {
      const h: AdamHyper = { beta1: 0.9, beta2: 0.999, stepSize: 1e-2 / (1 - 0.9 ** 3), biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** 3), eps: 1e-8, decay: 1 - 1e-3 };
      const p0 = randomArray(r, n, 1), g = randomArray(r, n, 1), m0 = randomArray(r, n, 0.1), v0 = randomArray(r, n, 0.01, true);
      const [p, m, v] = [p0.slice(), m0.slice(), v0.slice()];
      splitAdam(p, g, m, v, h);
      const mw = rt.allocateResident(n)!, vw = rt.allocateResident(n)!;
      assert.ok(rt.residentPointer(mw) >= 0 && rt.residentPointer(vw) >= 0, "allocateResident gives arrays in wasm memory");
      mw.set(m0);
      vw.set(v0);
      const pw = p0.slice();
      adamUpdateOn(rt, adamUpdate(pw, g, mw, vw, h));
      assertSameBits(pw, p, `wasm (${build}) param n=${n}`);
      assertSameBits(mw, m, `wasm (${build}) resident exp_avg n=${n}`);
      assertSameBits(vw, v, `wasm (${build}) resident exp_avg_sq n=${n}`);

      const sgd: SgdHyper = { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: false };
      const q0 = randomArray(r, n, 1), d = randomArray(r, n, 1), b0 = randomArray(r, n, 1);
      const [q, b] = [q0.slice(), b0.slice()];
      splitMomentum(q, d, b, sgd);
      const bw = rt.allocateResident(n)!;
      bw.set(b0);
      const qw = q0.slice();
      sgdMomentumUpdateOn(rt, momentumUpdate(qw, d, bw, sgd));
      assertSameBits(qw, q, `wasm (${build}) SGD param n=${n}`);
      assertSameBits(bw, b, `wasm (${build}) resident momentum buffer n=${n}`);
    }
  }
});

test("optimizers on the wasm backend keep their state resident when threads share memory", { skip: !flint.availableBackends().includes("wasm") }, () => {
  const before = flint.getBackend();
  flint.setBackend("wasm");
  try {
    const param = flint.randn([300]).requiresGrad_();
    const opt = new flint.optim.Adam([param], { lr: 1e-2 });
    param.grad = flint.randn([300]);
    opt.step();
    const state = opt.state.get(param)!;
    const rt = wasmRuntime();
    for (const name of ["exp_avg", "exp_avg_sq"]) {
      const resident = rt.residentPointer((state[name] as flint.Tensor).storage as Float32Array) >= 0;
      assert.equal(resident, rt.shared, `${name} resident exactly when the runtime's memory is shared`);
    }
  } finally {
    flint.setBackend(before);
  }
});
