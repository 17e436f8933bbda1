// Shared by the recurrent / attention / Transformer tests: decoding the goldens written by
// test/fixtures/gen_nn_seq.py and checking a module's outputs and gradients against them.
import assert from "node:assert/strict";
import * as flint from "../../src/index.js";
import { assertClose, loadJsonFixture } from "../helpers.js";

type Tensor = flint.Tensor;

export interface Encoded {
  shape: number[];
  /** Non-finite floats are the strings "inf", "-inf", "nan" (JSON has no infinities). */
  data: (number | boolean | string)[];
  dtype?: "int32" | "bool";
}

export interface SeqCase {
  name: string;
  module?: string;
  options: Record<string, unknown>;
  state: Record<string, Encoded>;
  inputs: Encoded[];
  outputs: Encoded[];
  upstream: Encoded[];
  inputGrads: (Encoded | null)[];
  paramGrads: Record<string, Encoded>;
  [extra: string]: unknown;
}

export function decode(e: Encoded, requiresGrad = false): Tensor {
  if (e.dtype === "bool") return flint.tensor(Uint8Array.from(e.data as boolean[], (v) => (v ? 1 : 0)), { dtype: "bool" }).reshape(e.shape);
  if (e.dtype === "int32") return flint.tensor(Int32Array.from(e.data as number[])).reshape(e.shape);
  const t = flint.tensor(Float32Array.from(e.data, (v) => (typeof v === "string" ? Number(v.replace("inf", "Infinity")) : Number(v)))).reshape(e.shape);
  return requiresGrad ? t.detach().requiresGrad_() : t;
}

export function loadCases(file: string): Map<string, SeqCase> {
  const cases = loadJsonFixture<SeqCase[]>(`nn_seq/${file}`);
  return new Map(cases.map((c) => [c.name, c]));
}

export function stateOf(c: SeqCase): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, decode(v)]));
}

export interface CheckOptions {
  atol?: number;
  rtol?: number;
  /** Which inputs get gradients checked (default: every float input). */
  gradInputs?: boolean[];
}

/**
 * Loads the case's state dict into `module` (strict, so the keys are PyTorch's), runs `call` on
 * the decoded inputs, backpropagates sum(output_i * upstream_i) and compares outputs, input
 * gradients and parameter gradients with PyTorch's.
 */
export function checkAgainstGolden(module: flint.nn.Module, c: SeqCase, call: (inputs: Tensor[]) => (Tensor | null)[], options: CheckOptions = {}): void {
  const tol = { atol: options.atol ?? 1e-4, rtol: options.rtol ?? 1e-4 };
  module.loadStateDict(stateOf(c));
  module.zeroGrad();
  const inputs = c.inputs.map((e) => decode(e, e.dtype === undefined));
  const outputs = call(inputs).filter((o): o is Tensor => o !== null);
  assert.equal(outputs.length, c.outputs.length, `${c.name}: number of outputs`);
  outputs.forEach((o, i) => assertClose(o, decode(c.outputs[i]), { ...tol, message: `${c.name} output ${i}` }));
  let loss: Tensor | null = null;
  outputs.forEach((o, i) => {
    const term = o.mul(decode(c.upstream[i])).sum();
    loss = loss === null ? term : loss.add(term);
  });
  (loss as unknown as Tensor).backward();
  c.inputGrads.forEach((g, i) => {
    if (g === null || (options.gradInputs && !options.gradInputs[i])) return;
    const grad = inputs[i].grad;
    assert.ok(grad !== null, `${c.name}: input ${i} has no gradient`);
    assertClose(grad, g as { shape: number[]; data: number[] }, { ...tol, message: `${c.name} grad of input ${i}` });
  });
  const params = new Map(module.namedParameters());
  for (const [name, g] of Object.entries(c.paramGrads)) {
    const p = params.get(name);
    assert.ok(p !== undefined, `${c.name}: no parameter ${name}`);
    assert.ok(p.grad !== null, `${c.name}: parameter ${name} has no gradient`);
    assertClose(p.grad, g as { shape: number[]; data: number[] }, { ...tol, message: `${c.name} grad of ${name}` });
  }
  for (const [name, p] of params) if (!(name in c.paramGrads)) assert.ok(p.grad === null || p.grad.abs().max().item() === 0, `${c.name}: unexpected gradient for ${name}`);
}
