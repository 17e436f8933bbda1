// Every core op against PyTorch: forward values and input gradients (for a fixed upstream
// gradient), one table-driven check, run on every registered backend (the JS reference first).
// The goldens come from test/fixtures/gen_core.py; each case there has a twin of the same name
// in OPS below. A numerical gradcheck runs over the same table.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import type { DType, Tensor } from "../../src/index.js";
import { fold, unfold } from "../../src/ops/window.js";
import { assertClose, loadJsonFixture, withBackend } from "../helpers.js";

type Op = (...inputs: Tensor[]) => Tensor | Tensor[] | { values: Tensor; indices: Tensor };
const t = flint.tensor;

const OPS: Record<string, Op> = {
  // elementwise binary, broadcasting and scalars
  add: (a, b) => a.add(b),
  add_broadcast: (a, b) => a.add(b),
  add_broadcast_rank: (a, b) => flint.add(a, b),
  add_scalar: (a) => a.add(2.5),
  add_alpha: (a, b) => a.add(b, { alpha: 2 }),
  sub: (a, b) => a.sub(b),
  sub_broadcast: (a, b) => flint.sub(a, b),
  sub_scalar: (a) => a.sub(1.5),
  sub_alpha: (a, b) => a.sub(b, { alpha: 0.5 }),
  mul: (a, b) => a.mul(b),
  mul_broadcast: (a, b) => flint.mul(a, b),
  mul_scalar: (a) => a.mul(3),
  div: (a, b) => a.div(b),
  div_broadcast: (a, b) => flint.div(a, b),
  div_scalar: (a) => a.div(4),
  pow_square: (a) => a.pow(2),
  pow_cube: (a) => a.pow(3),
  pow_half: (a) => a.pow(0.5),
  pow_negative: (a) => flint.pow(a, -1.5),
  pow_tensor: (a, b) => a.pow(b),
  pow_zero_exponent: (a) => a.pow(0),
  pow_zero_base: (a, b) => a.pow(b),
  maximum: (a, b) => flint.maximum(a, b),
  maximum_broadcast: (a, b) => a.maximum(b),
  maximum_ties: (a, b) => a.maximum(b),
  minimum: (a, b) => flint.minimum(a, b),
  minimum_broadcast: (a, b) => a.minimum(b),
  // elementwise unary
  neg: (a) => a.neg(),
  abs: (a) => a.abs(),
  abs_zero: (a) => flint.abs(a),
  exp: (a) => flint.exp(a),
  log: (a) => a.log(),
  sqrt: (a) => a.sqrt(),
  rsqrt: (a) => flint.rsqrt(a),
  sin: (a) => a.sin(),
  cos: (a) => flint.cos(a),
  tanh: (a) => a.tanh(),
  sigmoid: (a) => flint.sigmoid(a),
  relu: (a) => a.relu(),
  relu_zero: (a) => flint.relu(a),
  sign: (a) => a.sign(),
  sign_nan: (a) => a.sign(),
  floor: (a) => a.floor(),
  ceil: (a) => a.ceil(),
  round: (a) => a.mul(3).round(),
  round_half_even: (a) => a.round(),
  reciprocal: (a) => a.reciprocal(),
  square: (a) => a.square(),
  expm1: (a) => a.expm1(),
  log1p: (a) => a.log1p(),
  erf: (a) => a.erf(),
  clamp: (a) => a.clamp(-0.5, 0.5),
  clamp_min: (a) => a.clamp(0.2),
  clamp_max: (a) => a.clamp(null, -0.1),
  clamp_inverted: (a) => flint.clamp(a, 1, -1),
  clamp_boundary: (a) => a.clamp(0, 1),
  clamp_nan: (a) => a.clamp(0, 1),
  clamp_int: (a) => a.clamp(-2, 3),
  clamp_int_float_bound: (a) => a.clamp(-1.5, 2.5),
  // non-contiguous operands
  add_transposed: (a, b) => a.t().add(b),
  mul_step_slice: (a, b) => a.slice(null, [null, null, 2]).mul(b),
  exp_narrow: (a) => a.narrow(1, 1, 2).exp(),
  add_expanded: (a, b) => a.expand([3, 4]).add(b),
  mul_expanded_transposed: (a, b) => a.expand([4, 3]).mul(b.t()),
  tanh_permuted: (a) => a.permute([2, 0, 1]).tanh(),
  sub_flipped: (a, b) => a.flip([1]).sub(b),
  where_transposed: (c, a, b) => flint.where(c, a.t(), b.slice([null, null, 2])),
  sum_transposed: (a) => a.t().sum(0),
  max_dim_step_slice: (a) => a.slice([null, null, 2]).max(1),
  var_permuted: (a) => a.permute([1, 0, 2]).var(1),
  matmul_transposed_both: (a, b) => a.t().matmul(b.t()),
  matmul_expanded: (a, b) => a.expand([2, 3, 4]).matmul(b),
  matmul_sliced: (a, b) => a.slice(null, [1, 5]).matmul(b.slice([null, null, 2])),
  gather_transposed: (a, i) => a.t().gather(1, i),
  reshape_transposed: (a) => a.t().reshape([-1]),
  // comparison and where
  eq: (a, b) => a.eq(b),
  ne: (a, b) => flint.ne(a, b),
  lt: (a, b) => a.lt(b),
  le: (a, b) => flint.le(a, b),
  gt: (a, b) => a.gt(b),
  ge: (a, b) => flint.ge(a, b),
  eq_scalar: (a) => a.eq(2),
  gt_scalar: (a) => a.gt(2.5),
  lt_int_float_scalar: (a) => a.lt(1.5),
  ne_nan: (a) => a.ne(a),
  isnan: (a) => a.isnan(),
  isinf: (a) => flint.isinf(a),
  isfinite: (a) => a.isfinite(),
  isinf_int: (a) => a.isinf(),
  where: (c, a, b) => flint.where(c, a, b),
  where_scalar_other: (c, a) => flint.where(c, a, 0),
  where_int_scalars: (c) => flint.where(c, 1, 0),
  where_float_scalars: (c) => flint.where(c, 1.5, 0),
  where_int_tensors: (c, a, b) => flint.where(c, a, b),
  // integer and bool arithmetic, promotion
  int_add: (a, b) => a.add(b),
  int_add_int_scalar: (a) => a.add(3),
  int_mul_float_scalar: (a) => a.mul(2.5),
  int_div: (a, b) => a.div(b),
  int_sub: (a, b) => a.sub(b),
  int_pow: (a) => a.pow(2),
  int_neg_abs: (a) => a.neg().abs(),
  int_relu: (a) => a.relu(),
  int_plus_float: (a, b) => a.add(b),
  int_maximum: (a, b) => a.maximum(b),
  int_exp: (a) => a.exp(),
  bool_add: (a, b) => a.add(b),
  bool_mul: (a, b) => a.mul(b),
  bool_add_int_scalar: (a) => a.add(1),
  bool_mul_int: (a, b) => a.mul(b),
  bool_mul_float: (a, b) => a.mul(b),
  logical_and: (a, b) => a.logicalAnd(b),
  logical_or: (a, b) => flint.logicalOr(a, b),
  logical_xor: (a, b) => a.logicalXor(b),
  logical_not: (a) => a.logicalNot(),
  // reductions
  sum: (a) => a.sum(),
  sum_dim: (a) => a.sum(0),
  sum_dim_keepdim: (a) => a.sum(-1, { keepdim: true }),
  sum_dims: (a) => flint.sum(a, [0, 2]),
  sum_int: (a) => a.sum(1),
  sum_bool: (a) => a.sum(),
  mean: (a) => a.mean(),
  mean_dim_keepdim: (a) => a.mean(1, { keepdim: true }),
  mean_dims: (a) => flint.mean(a, [-1, 0]),
  var: (a) => a.var(),
  var_dim: (a) => a.var(1),
  var_correction0: (a) => a.var(0, { correction: 0 }),
  var_correction2_keepdim: (a) => flint.var(a, 1, { correction: 2, keepdim: true }),
  var_dims: (a) => a.var([0, 2]),
  std: (a) => a.std(),
  std_dim_keepdim: (a) => a.std(0, { keepdim: true }),
  std_correction0: (a) => flint.std(a, 1, { correction: 0 }),
  prod: (a) => a.prod(),
  prod_dim: (a) => a.prod(1),
  prod_dim_keepdim: (a) => flint.prod(a, 0, { keepdim: true }),
  prod_one_zero: (a) => a.prod(1),
  prod_two_zeros: (a) => a.prod(1),
  prod_int: (a) => a.prod(),
  max: (a) => a.max(),
  max_ties: (a) => flint.max(a),
  min: (a) => a.min(),
  max_dim: (a) => a.max(1),
  max_dim_keepdim: (a) => flint.max(a, 0, { keepdim: true }),
  min_dim: (a) => a.min(-1),
  max_dim_ties: (a) => a.max(1),
  max_nan: (a) => a.max(),
  max_dim_nan: (a) => a.max(1),
  min_dim_nan: (a) => flint.min(a, 1),
  argmax_nan: (a) => a.argmax(),
  maximum_nan: (a, b) => a.maximum(b),
  amax: (a) => a.amax([0, 2]),
  amin_keepdim: (a) => a.amin(1, { keepdim: true }),
  argmax: (a) => a.argmax(),
  argmax_dim: (a) => a.argmax(1),
  argmax_keepdim: (a) => flint.argmax(a, 0, { keepdim: true }),
  argmax_all_keepdim: (a) => a.argmax(null, { keepdim: true }),
  argmin_dim: (a) => a.argmin(-1),
  argmax_ties: (a) => a.argmax(1),
  logsumexp: (a) => a.logsumexp(1),
  logsumexp_keepdim: (a) => a.logsumexp(0, { keepdim: true }),
  logsumexp_dims: (a) => flint.logsumexp(a, [0, 2]),
  logsumexp_large: (a) => a.logsumexp(1),
  logsumexp_neg_inf: (a) => a.logsumexp(1),
  norm: (a) => a.norm(),
  norm_p1_dim: (a) => a.norm(1, 1),
  norm_dim_keepdim: (a) => a.norm(2, 0, { keepdim: true }),
  norm_zero: (a) => flint.norm(a),
  cumsum: (a) => a.cumsum(1),
  all_dim: (a) => a.all(1),
  any_dim: (a) => a.any(0),
  all_float: (a) => a.all(),
  sum_0d: (a) => a.sum(),
  max_0d_dim: (a) => a.max(0),
  argmax_0d: (a) => a.argmax(0),
  mean_0d_dim: (a) => a.mean(0),
  sum_empty: (a) => a.sum(),
  sum_empty_dim: (a) => a.sum(0),
  prod_empty: (a) => a.prod(),
  mean_empty: (a) => a.mean(),
  amax_empty_kept: (a) => a.amax(1),
  logsumexp_empty: (a) => a.logsumexp(0),
  var_0d: (a) => a.var(),
  any_empty_dim: (a) => a.any(0),
  all_empty_dim: (a) => a.all(0),
  // matrix products
  mm: (a, b) => a.mm(b),
  matmul_1d_1d: (a, b) => a.matmul(b),
  matmul_1d_2d: (a, b) => a.matmul(b),
  matmul_2d_1d: (a, b) => flint.matmul(a, b),
  matmul_2d_2d: (a, b) => a.matmul(b),
  matmul_3d_1d: (a, b) => a.matmul(b),
  matmul_1d_3d: (a, b) => a.matmul(b),
  matmul_3d_2d: (a, b) => a.matmul(b),
  matmul_2d_3d: (a, b) => a.matmul(b),
  matmul_broadcast_batch: (a, b) => a.matmul(b),
  matmul_4d_4d: (a, b) => a.matmul(b),
  bmm: (a, b) => flint.bmm(a, b),
  dot: (a, b) => a.dot(b),
  mm_larger: (a, b) => flint.mm(a, b),
  matmul_empty_inner: (a, b) => a.matmul(b),
  matmul_empty_rows: (a, b) => a.matmul(b),
  // shape
  reshape: (a) => a.reshape([4, -1]),
  view: (a) => a.view([6, 4]),
  flatten: (a) => a.flatten(),
  flatten_range: (a) => a.flatten(1, 2),
  squeeze: (a) => a.squeeze(),
  squeeze_dim: (a) => a.squeeze(2),
  unsqueeze: (a) => a.unsqueeze(-1),
  transpose: (a) => a.transpose(0, 2),
  permute: (a) => a.permute([1, 2, 0]),
  t: (a) => a.t(),
  expand: (a) => a.expand([2, -1, 4]),
  contiguous: (a) => a.t().contiguous(),
  narrow: (a) => a.narrow(0, 1, 2),
  narrow_negative_start: (a) => a.narrow(1, -3, 2),
  select: (a) => a.select(1, -1),
  slice_ranges: (a) => a.slice([1, null], [-3, -1], [null, null, 2]),
  slice_index: (a) => a.slice(1, null, 2),
  chunk: (a) => a.chunk(3, 1),
  split_size: (a) => a.split(2, 0),
  split_sections: (a) => a.split([1, 3, 2], 1),
  unbind: (a) => a.unbind(1),
  cat: (a, b, c) => flint.cat([a, b, c], 1),
  cat_dim0: (a, b) => flint.cat([a, b], 0),
  cat_negative_dim: (a, b) => flint.cat([a, b], -1),
  stack: (a, b) => flint.stack([a, b], 1),
  stack_last: (a, b, c) => flint.stack([a, b, c], -1),
  repeat: (a) => a.repeat([2, 1, 3]),
  repeat_same_rank: (a) => a.repeat([2, 2]),
  flip: (a) => a.flip([0, 1]),
  flip_last: (a) => a.flip([-1]),
  // indexing
  index_select: (a, i) => a.indexSelect(1, i),
  index_select_dim0: (a, i) => flint.indexSelect(a, 0, i),
  gather: (a, i) => a.gather(1, i),
  gather_dim0: (a, i) => flint.gather(a, 0, i),
  scatter: (a, i, s) => a.scatter(0, i, s),
  scatter_larger_src: (a, i, s) => a.scatter(1, i, s),
  scatter_value: (a, i) => a.scatter(1, i, 2.5),
  scatter_add: (a, i, s) => a.scatterAdd(0, i, s),
  masked_fill: (a, m) => a.maskedFill(m, -1.5),
  masked_fill_int: (a, m) => a.maskedFill(m, 2.5),
  masked_fill_tensor_value: (a, m, v) => a.maskedFill(m, v),
  // sliding windows
  unfold: (x) => unfold(x, { kernelSize: [2, 3], stride: [1, 2], padding: [1, 0], dilation: [1, 1] }),
  unfold_dilated: (x) => unfold(x, { kernelSize: [2, 2], stride: [1, 1], padding: [1, 1], dilation: [2, 2] }),
  unfold_transposed_input: (x) => unfold(x.transpose(2, 3), { kernelSize: [3, 2], stride: [2, 1], padding: [0, 0], dilation: [1, 1] }),
  fold: (c) => fold(c, [4, 5], { kernelSize: [2, 2], stride: [1, 1], padding: [0, 0], dilation: [1, 1] }),
  fold_strided_padded: (c) => fold(c, [5, 5], { kernelSize: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1] }),
};

// ---- fixture decoding ----------------------------------------------------------------------
type JsonValue = number | boolean | "nan" | "inf" | "-inf";
interface JsonTensor {
  shape: number[];
  dtype: DType;
  data: JsonValue[];
  requiresGrad?: boolean;
}
interface Case {
  name: string;
  inputs: JsonTensor[];
  outputs: JsonTensor[];
  upstream?: (JsonTensor | null)[];
  grads?: (JsonTensor | null)[];
}

const decode = (v: JsonValue): number => (v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : Number(v));

/** A contiguous leaf tensor holding the fixture's values. */
function build(spec: JsonTensor): Tensor {
  const values = spec.data.map(decode);
  const typed = spec.dtype === "float32" ? Float32Array.from(values) : Int32Array.from(values);
  const leaf = t(typed, { dtype: spec.dtype }).reshape(spec.shape).detach();
  return spec.requiresGrad ? leaf.requiresGrad_() : leaf;
}

function asList(result: ReturnType<Op>): Tensor[] {
  if (Array.isArray(result)) return result;
  if ("values" in result && "indices" in result) return [result.values, result.indices];
  return [result as Tensor];
}

function check(actual: Tensor, expected: JsonTensor, label: string): void {
  assert.equal(actual.dtype, expected.dtype, `${label}: dtype`);
  const golden = { shape: expected.shape, data: expected.data.map(decode) };
  // Integer and bool results must match exactly; floats to float32 tolerance.
  if (expected.dtype === "float32") assertClose(actual, golden, { atol: 1e-5, rtol: 1e-4, message: label });
  else assertClose(actual, golden, { atol: 0, rtol: 0, message: label });
}

const fixture = loadJsonFixture<{ cases: Case[] }>("core/ops.json");

test("every golden case has a flint twin and every twin a golden", () => {
  const golden = new Set(fixture.cases.map((c) => c.name));
  assert.deepEqual(fixture.cases.map((c) => c.name).filter((n) => !(n in OPS)), []);
  assert.deepEqual(Object.keys(OPS).filter((n) => !golden.has(n)), []);
});

/** Runs `body` with `name` as the active backend, restoring the previous one afterwards. */
/** Forward values, then input gradients for the golden upstream gradient(s). */
function checkAgainstGolden(c: Case): void {
  const op = OPS[c.name];
  assert.ok(op, `no flint twin for ${c.name}`);
  const inputs = c.inputs.map(build);
  const outputs = asList(op(...inputs));
  assert.equal(outputs.length, c.outputs.length, "number of outputs");
  outputs.forEach((out, k) => check(out, c.outputs[k], `output ${k}`));
  if (!c.grads || !c.upstream) return;

  // One differentiable output takes its seed directly; several are combined as sum(out * seed).
  const seeds = c.upstream.map((u) => (u ? build(u) : null));
  const weighted = outputs.flatMap((out, k) => (seeds[k] ? [{ out, seed: seeds[k]! }] : []));
  if (weighted.length === 1) weighted[0].out.backward(weighted[0].seed);
  else weighted.map(({ out, seed }) => out.mul(seed).sum()).reduce((a, b) => a.add(b)).backward();
  c.grads.forEach((g, k) => {
    if (g === null) return;
    const grad = inputs[k].grad;
    assert.ok(grad, `input ${k} got no gradient`);
    check(grad, g, `gradient of input ${k}`);
  });
}

for (const backendName of flint.availableBackends()) {
  for (const c of fixture.cases) test(`op ${c.name} [${backendName}]`, () => withBackend(backendName, () => checkAgainstGolden(c)));
}

// ---- numerical gradcheck over the same table -------------------------------------------------
// Cases whose inputs sit on a kink or a jump on purpose (ties, zeros of abs/relu, clamp bounds),
// or where float32 cannot resolve a finite-difference step, are checked by their goldens only.
const NOT_SMOOTH = new Set([
  "maximum_ties", "abs_zero", "relu_zero", "sign", "sign_nan", "round_half_even", "clamp_boundary", "clamp_nan",
  "pow_zero_exponent", "pow_zero_base", "norm_zero", "var_0d",
  "max_ties", "max_dim_ties", "max_nan", "max_dim_nan", "min_dim_nan", "maximum_nan", "logsumexp_neg_inf",
  "logsumexp_large", // 1000 + 1e-3 is not representable closely enough in float32
  "prod_two_zeros", // the gradient is zero there but a one-sided step makes it non-zero
]);

for (const c of fixture.cases) {
  const floatInputs = c.inputs.map((s, k) => (s.dtype === "float32" ? k : -1)).filter((k) => k >= 0);
  const floatOutputs = c.outputs.some((o) => o.dtype === "float32");
  if (NOT_SMOOTH.has(c.name) || floatInputs.length === 0 || !floatOutputs || c.inputs.every((s) => s.shape.includes(0))) continue;
  test(`gradcheck ${c.name} [js]`, () => withBackend("js", () => {
    const inputs = c.inputs.map((s) => build({ ...s, requiresGrad: s.dtype === "float32" }));
    const fn = (...varying: Tensor[]): Tensor => {
      const all = inputs.slice();
      floatInputs.forEach((k, i) => (all[k] = varying[i]));
      const outs = asList(OPS[c.name](...all)).filter((o) => o.dtype === "float32");
      return outs.length === 1 ? outs[0] : flint.cat(outs.map((o) => o.reshape([-1])));
    };
    assert.equal(flint.autograd.gradcheck(fn, floatInputs.map((k) => inputs[k]), { eps: 1e-3, atol: 2e-3, rtol: 2e-2 }), true);
  }));
}
