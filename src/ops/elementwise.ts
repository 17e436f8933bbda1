import type { BinaryOp, UnaryOp } from "../backend/backend.js";
import { backend } from "../backend/registry.js";
import { promoteTypes, scalarResultType, type DType } from "../core/dtype.js";
import { fail, fmtShape } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import { broadcastShapes } from "../core/shape.js";
import { Tensor, type TensorOrScalar } from "../tensor/tensor.js";
import { isReluFolded } from "../autograd/relu-fold.js";
import { canDeferRelu, deferRelu } from "./deferred-relu.js";
import { fromStorage, record, sumToShape } from "./util.js";

// ---- helpers ------------------------------------------------------------------------------

/** A 0-d tensor holding `value`, of the dtype it takes next to a tensor of `like` (PyTorch's scalar rule). */
export function scalarTensor(value: number | boolean, dtype: DType): Tensor {
  const storage = dtype === "float32" ? new Float32Array(1) : dtype === "int32" ? new Int32Array(1) : new Uint8Array(1);
  storage[0] = Number(value);
  return new Tensor(storage, Layout.contiguous([]), dtype);
}

function asTensor(op: string, value: TensorOrScalar, like: Tensor): Tensor {
  if (value instanceof Tensor) return value;
  if (typeof value !== "number" && typeof value !== "boolean") fail(op, `expected a Tensor or a number, got ${typeof value}`);
  return scalarTensor(value, scalarResultType(like.dtype, value));
}

export function onesLikeTensor(t: Tensor): Tensor {
  const storage = new Float32Array(t.numel()).fill(1);
  return fromStorage(storage, t.shape, t.dtype === "float32" ? "float32" : t.dtype);
}

/** Runs a binary kernel with broadcasting (no autograd). */
function binaryKernel(op: BinaryOp, name: string, a: Tensor, b: Tensor, outDtype: DType): Tensor {
  const shape = broadcastShapes(name, a.shape, b.shape);
  const storage = backend().binary(op, a.storage, a.layout.expand(shape), b.storage, b.layout.expand(shape), outDtype);
  return fromStorage(storage, shape, outDtype);
}

function unaryKernel(op: UnaryOp, x: Tensor, outDtype: DType): Tensor {
  return fromStorage(backend().unary(op, x.storage, x.layout, outDtype), x.shape, outDtype);
}

/** Float ops (exp, log, ...) give float32 for every input dtype, as PyTorch does for integers. */
const floatDtype = (_x: Tensor): DType => "float32";

// ---- arithmetic ---------------------------------------------------------------------------

/** Arithmetic on two bools is done in int32 and mapped back to bool (True + True is True). */
function arithmetic(op: BinaryOp, name: string, a: Tensor, b: Tensor): Tensor {
  const dtype = op === "div" ? "float32" : promoteTypes(a.dtype, b.dtype);
  if (dtype === "bool") return binaryKernel(op, name, a, b, "int32").ne(0);
  return binaryKernel(op, name, a, b, dtype);
}

export function add(a: Tensor, other: TensorOrScalar, options?: { alpha?: number }): Tensor {
  let b = asTensor("add", other, a);
  if (options?.alpha !== undefined && options.alpha !== 1) b = mul(b, options.alpha);
  const out = arithmetic("add", "add", a, b);
  return record("add", out, [a, b], (g) => [a.requiresGrad ? sumToShape(g, a.shape) : null, b.requiresGrad ? sumToShape(g, b.shape) : null]);
}

export function sub(a: Tensor, other: TensorOrScalar, options?: { alpha?: number }): Tensor {
  let b = asTensor("sub", other, a);
  if (a.dtype === "bool" && b.dtype === "bool") fail("sub", "subtracting two bool tensors is not supported; use logicalXor");
  if (options?.alpha !== undefined && options.alpha !== 1) b = mul(b, options.alpha);
  const out = arithmetic("sub", "sub", a, b);
  return record("sub", out, [a, b], (g) => [a.requiresGrad ? sumToShape(g, a.shape) : null, b.requiresGrad ? sumToShape(g.neg(), b.shape) : null]);
}

export function mul(a: Tensor, other: TensorOrScalar): Tensor {
  const b = asTensor("mul", other, a);
  const out = arithmetic("mul", "mul", a, b);
  return record("mul", out, [a, b], (g) => [
    a.requiresGrad ? sumToShape(g.mul(b), a.shape) : null,
    b.requiresGrad ? sumToShape(g.mul(a), b.shape) : null,
  ]);
}

export function div(a: Tensor, other: TensorOrScalar): Tensor {
  const b = asTensor("div", other, a);
  const out = arithmetic("div", "div", a, b);
  return record("div", out, [a, b], (g) => [
    a.requiresGrad ? sumToShape(g.div(b), a.shape) : null,
    b.requiresGrad ? sumToShape(g.mul(out).div(b).neg(), b.shape) : null,
  ]);
}

export function pow(a: Tensor, exponent: TensorOrScalar): Tensor {
  const b = asTensor("pow", exponent, a);
  if (typeof exponent === "number" && exponent < 0 && a.dtype !== "float32" && b.dtype !== "float32") {
    fail("pow", `integers to negative integer powers are not allowed (exponent ${exponent} on a ${a.dtype} tensor); convert with .float()`);
  }
  const out = arithmetic("pow", "pow", a, b);
  return record("pow", out, [a, b], (g) => [
    // d/da a^b = b * a^(b-1), taken as 0 where b == 0 (so 0^0 has no infinite slope);
    // d/db a^b = a^b * log(a), taken as 0 where a == 0 (PyTorch's choices).
    a.requiresGrad ? sumToShape(where(b.eq(0), 0, g.mul(b).mul(pow(a, sub(b, 1)))), a.shape) : null,
    b.requiresGrad ? sumToShape(where(a.eq(0), 0, g.mul(out).mul(a.log())), b.shape) : null,
  ]);
}

/** Elementwise max; at ties the gradient is split evenly, as in PyTorch. */
export function maximum(a: Tensor, other: TensorOrScalar): Tensor {
  return minMax("maximum", a, asTensor("maximum", other, a));
}

export function minimum(a: Tensor, other: TensorOrScalar): Tensor {
  return minMax("minimum", a, asTensor("minimum", other, a));
}

function minMax(op: "maximum" | "minimum", a: Tensor, b: Tensor): Tensor {
  const out = binaryKernel(op, op, a, b, promoteTypes(a.dtype, b.dtype));
  return record(op, out, [a, b], (g) => {
    const aWins = (op === "maximum" ? a.gt(b) : a.lt(b)).float().add(a.eq(b).float().mul(0.5));
    return [
      a.requiresGrad ? sumToShape(g.mul(aWins), a.shape) : null,
      b.requiresGrad ? sumToShape(g.mul(aWins.neg().add(1)), b.shape) : null,
    ];
  });
}

// ---- unary math ---------------------------------------------------------------------------

type UnaryGrad = (g: Tensor, x: Tensor, out: Tensor) => Tensor;

function unaryOp(op: UnaryOp, x: Tensor, outDtype: DType, grad: UnaryGrad | null): Tensor {
  const out = unaryKernel(op, x, outDtype);
  if (grad === null) return out;
  return record(op, out, [x], (g) => [grad(g, x, out)]);
}

const keep = (x: Tensor) => (x.dtype === "bool" ? "int32" : x.dtype);

export const neg = (x: Tensor) => {
  if (x.dtype === "bool") fail("neg", "negation of a bool tensor is not supported; use logicalNot");
  return unaryOp("neg", x, x.dtype, (g) => g.neg());
};
export const abs = (x: Tensor) => unaryOp("abs", x, keep(x), (g, x) => g.mul(x.sign()));
export const exp = (x: Tensor) => unaryOp("exp", x, floatDtype(x), (g, _x, out) => g.mul(out));
export const log = (x: Tensor) => unaryOp("log", x, floatDtype(x), (g, x) => g.div(x));
export const sqrt = (x: Tensor) => unaryOp("sqrt", x, floatDtype(x), (g, _x, out) => g.div(out.mul(2)));
export const rsqrt = (x: Tensor) => unaryOp("rsqrt", x, floatDtype(x), (g, _x, out) => g.mul(out.pow(3)).mul(-0.5));
export const sin = (x: Tensor) => unaryOp("sin", x, floatDtype(x), (g, x) => g.mul(x.cos()));
export const cos = (x: Tensor) => unaryOp("cos", x, floatDtype(x), (g, x) => g.mul(x.sin()).neg());
// One fused kernel each for these gradients instead of three or four elementwise ops.
export const tanh = (x: Tensor) => unaryOp("tanh", x, floatDtype(x), (g, _x, out) => binaryKernel("tanhBackward", "tanh", g, out, "float32"));
export const sigmoid = (x: Tensor) => unaryOp("sigmoid", x, floatDtype(x), (g, _x, out) => binaryKernel("sigmoidBackward", "sigmoid", g, out, "float32"));
// A gradient an op already masked for this ReLU (autograd/relu-fold.ts) passes through unchanged.
const reluBackward: UnaryGrad = (g, _x, out) => (isReluFolded(g, out) ? g : binaryKernel("reluBackward", "relu", g, out, "float32"));
/** Large outputs of recorded ops are deferred (./deferred-relu.ts): max pooling reads x instead. */
export const relu = (x: Tensor) => {
  if (!canDeferRelu(x)) return unaryOp("relu", x, keep(x), reluBackward);
  const out = deferRelu(x, () => unaryKernel("relu", x, "float32").storage);
  return record("relu", out, [x], (g) => [reluBackward(g, x, out)]);
};
export const reciprocal = (x: Tensor) => unaryOp("reciprocal", x, floatDtype(x), (g, _x, out) => g.mul(out.square()).neg());
export const square = (x: Tensor) => unaryOp("square", x, keep(x), (g, x) => g.mul(x).mul(2));
export const expm1 = (x: Tensor) => unaryOp("expm1", x, floatDtype(x), (g, _x, out) => g.mul(out.add(1)));
export const log1p = (x: Tensor) => unaryOp("log1p", x, floatDtype(x), (g, x) => g.div(x.add(1)));
export const erf = (x: Tensor) => unaryOp("erf", x, floatDtype(x), (g, x) => g.mul(x.square().neg().exp()).mul(2 / Math.sqrt(Math.PI)));
/**
 * GELU, x * Phi(x), with the exact normal CDF or its tanh approximation: one kernel forward and
 * one backward (the composed form costs five elementwise ops and tape nodes each way).
 */
export function gelu(x: Tensor, approximate: "none" | "tanh"): Tensor {
  const tanhForm = approximate === "tanh";
  const out = unaryKernel(tanhForm ? "geluTanh" : "gelu", x, "float32");
  return record("gelu", out, [x], (g) => [binaryKernel(tanhForm ? "geluTanhBackward" : "geluBackward", "gelu", g, x, "float32")]);
}
// Piecewise-constant functions have zero gradient almost everywhere.
const zeroGrad: UnaryGrad = (g) => g.mul(0);
export const sign = (x: Tensor) => unaryOp("sign", x, keep(x), zeroGrad);
export const floor = (x: Tensor) => unaryOp("floor", x, x.dtype, zeroGrad);
export const ceil = (x: Tensor) => unaryOp("ceil", x, x.dtype, zeroGrad);
export const round = (x: Tensor) => unaryOp("round", x, x.dtype, zeroGrad);

/** Clamps into [min, max]; the gradient flows where min <= x <= max (PyTorch's rule). */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const hasMin = min !== undefined && min !== null;
  const hasMax = max !== undefined && max !== null;
  if (!hasMin && !hasMax) fail("clamp", "at least one of min and max must be given");
  let out = x.detach();
  if (hasMin) out = binaryKernel("maximum", "clamp", out, scalarTensor(min, scalarResultType(x.dtype, min)), promoteTypes(x.dtype, scalarResultType(x.dtype, min)));
  if (hasMax) out = binaryKernel("minimum", "clamp", out, scalarTensor(max, scalarResultType(x.dtype, max)), promoteTypes(out.dtype, scalarResultType(x.dtype, max)));
  if (hasMin && hasMax && min > max) out = fullLikeValue(out, max);
  return record("clamp", out, [x], (g) => {
    let inside = g;
    if (hasMin) inside = inside.mul(x.ge(min));
    if (hasMax) inside = inside.mul(x.le(max));
    return [inside];
  });
}

function fullLikeValue(t: Tensor, value: number): Tensor {
  return binaryKernel("mul", "clamp", t, scalarTensor(0, t.dtype), t.dtype).add(value);
}

// ---- logic and comparison -----------------------------------------------------------------

export function compare(op: "eq" | "ne" | "lt" | "le" | "gt" | "ge", a: Tensor, other: TensorOrScalar): Tensor {
  return binaryKernel(op, op, a, asTensor(op, other, a), "bool");
}

export const logicalNot = (x: Tensor) => unaryKernel("logicalNot", x, "bool");
export const logicalAnd = (a: Tensor, b: TensorOrScalar) => binaryKernel("logicalAnd", "logicalAnd", a, asTensor("logicalAnd", b, a), "bool");
export const logicalOr = (a: Tensor, b: TensorOrScalar) => binaryKernel("logicalOr", "logicalOr", a, asTensor("logicalOr", b, a), "bool");
export const logicalXor = (a: Tensor, b: TensorOrScalar) => binaryKernel("logicalXor", "logicalXor", a, asTensor("logicalXor", b, a), "bool");
export const isnan = (x: Tensor) => compare("ne", x, x);
export const isinf = (x: Tensor) => unaryKernel("abs", x, x.dtype === "float32" ? "float32" : "int32").eq(Infinity);
export const isfinite = (x: Tensor) => isnan(x).logicalOr(isinf(x)).logicalNot();

/** The dtype two bare scalars meet in: bool for two booleans, int32 for integers, else float32. */
function scalarOnlyDtype(a: number | boolean, b: TensorOrScalar): DType {
  const values = [a, b as number | boolean];
  if (values.every((v) => typeof v === "boolean")) return "bool";
  return values.every((v) => typeof v === "boolean" || Number.isInteger(v)) ? "int32" : "float32";
}

/** `cond ? a : b` elementwise, broadcasting all three. */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  if (!(cond instanceof Tensor)) fail("where", "condition must be a Tensor");
  const ta = a instanceof Tensor ? a : asTensor("where", a, b instanceof Tensor ? b : scalarTensor(0, scalarOnlyDtype(a, b)));
  const tb = b instanceof Tensor ? b : asTensor("where", b, ta);
  const shape = broadcastShapes("where", cond.shape, ta.shape, tb.shape);
  const dtype = promoteTypes(ta.dtype, tb.dtype);
  const condBool = cond.dtype === "bool" ? cond : cond.ne(0);
  const storage = backend().where(condBool.storage, condBool.layout.expand(shape), ta.storage, ta.layout.expand(shape), tb.storage, tb.layout.expand(shape), dtype);
  const out = fromStorage(storage, shape, dtype);
  return record("where", out, [ta, tb], (g) => [
    ta.requiresGrad ? sumToShape(where(condBool, g, 0), ta.shape) : null,
    tb.requiresGrad ? sumToShape(where(condBool, 0, g), tb.shape) : null,
  ]);
}

// ---- copies -------------------------------------------------------------------------------

export function clone(x: Tensor): Tensor {
  const out = fromStorage(backend().copy(x.storage, x.layout, x.dtype), x.shape, x.dtype);
  return record("clone", out, [x], (g) => [g]);
}

export function cast(x: Tensor, dtype: DType): Tensor {
  if (dtype === x.dtype) return x;
  const out = fromStorage(backend().copy(x.storage, x.layout, dtype), x.shape, dtype);
  // Only float -> float carries a gradient; other casts cut the graph, as in PyTorch.
  return out;
}

export function allclose(a: Tensor, b: Tensor, options?: { rtol?: number; atol?: number }): boolean {
  const rtol = options?.rtol ?? 1e-5;
  const atol = options?.atol ?? 1e-8;
  broadcastShapes("allclose", a.shape, b.shape);
  const close = a.sub(b).abs().le(b.abs().mul(rtol).add(atol)).logicalOr(a.eq(b));
  return close.all().item() === 1;
}

export function equal(a: Tensor, b: Tensor): boolean {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  return a.eq(b).all().item() === 1;
}

export function checkSameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    fail(op, `expected tensors of the same shape, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
}
