// Replays the PyTorch goldens of test/fixtures/gen_nn_conv.py (conv, pooling, normalization and
// locally connected layers): build the flint layer, load PyTorch's state dict, run forward and
// backward with the same upstream gradient, and compare everything the fixture recorded.
import assert from "node:assert/strict";
import * as flint from "../../src/index.js";
import type { Module } from "../../src/nn/module.js";
import { assertClose, loadJsonFixture } from "../helpers.js";

const { nn } = flint;
type Tensor = flint.Tensor;

export interface Encoded {
  shape: number[];
  dtype: "float32" | "int32";
  data: (number | string)[];
}

export interface GoldenCase {
  name: string;
  cls?: string;
  fn?: string;
  args: unknown[];
  options: Record<string, unknown>;
  train?: boolean;
  state?: Record<string, Encoded>;
  input: Encoded;
  gradOut: Encoded;
  out: Encoded;
  gradInput: Encoded;
  grads?: Record<string, Encoded>;
  steps?: Encoded[];
  stateAfter?: Record<string, Encoded>;
  evalOut?: Encoded;
  indices?: Encoded;
  repr?: string;
}

export interface Tolerance {
  atol?: number;
  rtol?: number;
}

export function loadCases(file: string): GoldenCase[] {
  return loadJsonFixture<GoldenCase[]>(`nn_conv/${file}`);
}

/** A fixture tensor as a flint tensor ("nan"/"inf" strings become the IEEE values). */
export function decode(e: Encoded): Tensor {
  const values = e.data.map((v) => (typeof v === "number" ? v : v === "nan" ? NaN : v === "inf" ? Infinity : -Infinity));
  const storage = e.dtype === "int32" ? Int32Array.from(values) : Float32Array.from(values);
  return flint.tensor(storage, { dtype: e.dtype }).reshape(e.shape);
}

function golden(e: Encoded): { shape: number[]; data: number[] } {
  return { shape: e.shape, data: decode(e).data() as unknown as number[] };
}

type AnyModule = Module & { forward(x: Tensor): unknown };

export function buildModule(c: GoldenCase): AnyModule {
  const ctor = (nn as unknown as Record<string, new (...args: unknown[]) => AnyModule>)[c.cls as string];
  assert.ok(ctor, `nn.${c.cls} exists`);
  return new ctor(...c.args, c.options);
}

function outputOf(result: unknown): { values: Tensor; indices: Tensor | null } {
  if (result instanceof flint.Tensor) return { values: result, indices: null };
  const [values, indices] = result as [Tensor, Tensor];
  return { values, indices };
}

/** Runs one golden case end to end. */
export function runCase(c: GoldenCase, tol: Tolerance = {}): void {
  const options = { atol: tol.atol ?? 1e-4, rtol: tol.rtol ?? 1e-4 };
  const input = decode(c.input).requiresGrad_();
  let module: AnyModule | null = null;
  let result: unknown;
  if (c.cls) {
    module = buildModule(c);
    if (c.repr !== undefined) assert.equal(String(module), c.repr, "repr");
    if (c.state) {
      const state = Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, decode(v)]));
      assert.deepEqual(Object.keys(module.stateDict()), Object.keys(state), "state-dict keys");
      module.loadStateDict(state);
    }
    module.train(c.train ?? true);
    result = module.forward(input);
  } else {
    const fn = (nn.functional as unknown as Record<string, (...a: unknown[]) => unknown>)[c.fn as string];
    assert.ok(fn, `F.${c.fn} exists`);
    result = fn(input, ...c.args, c.options);
  }
  const { values, indices } = outputOf(result);
  assertClose(values, golden(c.out), { ...options, message: "forward" });
  if (c.indices) {
    assert.ok(indices, "indices returned");
    assert.equal(indices.dtype, "int32");
    assert.deepEqual(indices.tolist(), decode(c.indices).tolist(), "indices");
  }
  values.mul(decode(c.gradOut)).sum().backward();
  assert.ok(input.grad, "input gradient");
  assertClose(input.grad, golden(c.gradInput), { ...options, message: "input gradient" });
  if (module && c.grads) {
    const params = Object.fromEntries(module.namedParameters());
    assert.deepEqual(Object.keys(params).sort(), Object.keys(c.grads).sort(), "parameter names");
    for (const [key, g] of Object.entries(c.grads)) {
      const grad = params[key].grad;
      assert.ok(grad, `gradient of ${key}`);
      assertClose(grad, golden(g), { ...options, message: `gradient of ${key}` });
    }
  }
  if (!module) return;
  flint.noGrad(() => {
    for (const step of c.steps ?? []) module!.forward(decode(step));
  });
  if (c.stateAfter) {
    const buffers = Object.fromEntries(module.namedBuffers());
    assert.deepEqual(Object.keys(buffers).sort(), Object.keys(c.stateAfter).sort(), "buffer names");
    for (const [key, e] of Object.entries(c.stateAfter)) {
      assert.equal(buffers[key].dtype, e.dtype, `dtype of ${key}`);
      assertClose(buffers[key], golden(e), { ...options, message: `buffer ${key} after training` });
    }
  }
  if (c.evalOut) {
    module.eval();
    const out = flint.noGrad(() => outputOf(module!.forward(decode(c.input))).values);
    assertClose(out, golden(c.evalOut), { ...options, message: "eval-mode forward" });
  }
}
