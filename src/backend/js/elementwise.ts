import type { DType, Storage } from "../../core/dtype.js";
import { allocate } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { BinaryOp, UnaryOp } from "../backend.js";
import { coalesce } from "./strided.js";

/**
 * Elementwise kernels are generated once per op and per combination of storage types from an
 * expression, so each gets its own monomorphic loop (a shared loop calling a per-op closure, or
 * one loop reading Float32Array, Int32Array and Uint8Array alike, would be megamorphic and
 * several times slower in V8). The generated loop walks any number of operands through their
 * strides.
 */
const UNARY: Record<UnaryOp, string> = {
  neg: "-x",
  abs: "Math.abs(x)",
  exp: "Math.exp(x)",
  log: "Math.log(x)",
  sqrt: "Math.sqrt(x)",
  rsqrt: "1 / Math.sqrt(x)",
  sin: "Math.sin(x)",
  cos: "Math.cos(x)",
  tanh: "Math.tanh(x)",
  sigmoid: "1 / (1 + Math.exp(-x))",
  relu: "(x < 0 ? 0 : x)",
  sign: "(x > 0 ? 1 : x < 0 ? -1 : 0)", // sign(NaN) is 0, as in PyTorch
  floor: "Math.floor(x)",
  ceil: "Math.ceil(x)",
  round: "roundHalfEven(x)",
  reciprocal: "1 / x",
  square: "x * x",
  expm1: "Math.expm1(x)",
  log1p: "Math.log1p(x)",
  erf: "erf(x)",
  logicalNot: "(x ? 0 : 1)",
  gelu: "0.5 * x * (1 + erf(x * Math.SQRT1_2))",
  geluTanh: "0.5 * x * (1 + Math.tanh(GELU_BETA * (x + GELU_KAPPA * x * x * x)))",
};

const BINARY: Record<BinaryOp, string> = {
  add: "x + y",
  sub: "x - y",
  mul: "x * y",
  div: "x / y",
  pow: "Math.pow(x, y)",
  maximum: "(x > y || x !== x ? x : y)",
  minimum: "(x < y || x !== x ? x : y)",
  eq: "(x === y ? 1 : 0)",
  ne: "(x !== y ? 1 : 0)",
  lt: "(x < y ? 1 : 0)",
  le: "(x <= y ? 1 : 0)",
  gt: "(x > y ? 1 : 0)",
  ge: "(x >= y ? 1 : 0)",
  logicalAnd: "(x && y ? 1 : 0)",
  logicalOr: "(x || y ? 1 : 0)",
  logicalXor: "(!x !== !y ? 1 : 0)",
  geluBackward: "x * (0.5 * (1 + erf(y * Math.SQRT1_2)) + y * Math.exp(-0.5 * y * y) * INV_SQRT_2PI)",
  geluTanhBackward: "x * geluTanhDerivative(y)",
  sigmoidBackward: "x * (1 - y) * y",
  tanhBackward: "x * (1 - y * y)",
  reluBackward: "(y <= 0 ? 0 : x)",
};

// The tanh approximation of GELU: 0.5 x (1 + tanh(GELU_BETA (x + GELU_KAPPA x^3))), as in PyTorch.
const GELU_BETA = Math.sqrt(2 / Math.PI);
const GELU_KAPPA = 0.044715;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function geluTanhDerivative(x: number): number {
  const t = Math.tanh(GELU_BETA * (x + GELU_KAPPA * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_BETA * (1 + 3 * GELU_KAPPA * x * x);
}

/** Round half to even, as torch.round does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** erf to double precision: Taylor series near 0, a continued fraction for erfc in the tails. */
export function erf(x: number): number {
  if (x !== x || x === 0) return x; // NaN, and -0 keeps its sign
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const v = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -v : v;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated bottom-up.
  let frac = ax;
  for (let n = 60; n >= 1; n--) frac = ax + n / 2 / frac;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / frac;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

type Kernel = (out: Storage, shape: number[], strides: number[][], offsets: number[], ...inputs: Storage[]) => void;

/** Builds a loop over `arity` strided inputs writing `expr` (in x, y, z) to a contiguous output. */
function buildKernel(arity: number, expr: string): Kernel {
  const names = ["x", "y", "z"].slice(0, arity);
  const src = `
    return function kernel(out, shape, strides, offsets, ${names.map((n) => n + "s").join(", ")}) {
      const nd = shape.length;
      const inner = shape[nd - 1];
      ${names.map((n, k) => `const ${n}Step = strides[${k}][nd - 1]; let ${n}Base = offsets[${k}];`).join("\n")}
      const index = new Array(nd).fill(0);
      const total = out.length;
      let o = 0;
      while (o < total) {
        ${names.map((n) => `let ${n}i = ${n}Base;`).join(" ")}
        for (let j = 0; j < inner; j++) {
          ${names.map((n) => `const ${n} = ${n}s[${n}i]; ${n}i += ${n}Step;`).join(" ")}
          out[o++] = ${expr};
        }
        for (let d = nd - 2; d >= 0; d--) {
          index[d]++;
          ${names.map((n, k) => `${n}Base += strides[${k}][d];`).join(" ")}
          if (index[d] < shape[d]) break;
          ${names.map((n, k) => `${n}Base -= strides[${k}][d] * shape[d];`).join(" ")}
          index[d] = 0;
        }
      }
    };`;
  const helpers = { erf, roundHalfEven, geluTanhDerivative, GELU_BETA, GELU_KAPPA, INV_SQRT_2PI };
  return new Function(...Object.keys(helpers), src)(...Object.values(helpers)) as Kernel;
}

const typeCode = (s: Storage): number => (s instanceof Float32Array ? 0 : s instanceof Int32Array ? 1 : 2);

/** Kernels by expression, then by the storage types of output and inputs (base-3 digits). */
const cache = new Map<string, Kernel[]>();
function kernelFor(expr: string, out: Storage, inputs: Storage[]): Kernel {
  let byTypes = cache.get(expr);
  if (!byTypes) cache.set(expr, (byTypes = []));
  let code = typeCode(out);
  for (let i = 0, place = 3; i < inputs.length; i++, place *= 3) code += typeCode(inputs[i]) * place;
  return (byTypes[code] ??= buildKernel(inputs.length, expr));
}

function run(expr: string, outDtype: DType, layouts: Layout[], inputs: Storage[]): Storage {
  const out = allocate(outDtype, layouts[0].size);
  if (out.length === 0) return out;
  const walk = coalesce(layouts);
  kernelFor(expr, out, inputs)(out, walk.shape, walk.strides, walk.offsets, ...inputs);
  return out;
}

export function unary(op: UnaryOp, x: Storage, xl: Layout, outDtype: DType): Storage {
  return run(UNARY[op], outDtype, [xl], [x]);
}

export function binary(op: BinaryOp, a: Storage, al: Layout, b: Storage, bl: Layout, outDtype: DType): Storage {
  // Integer true division and pow are computed in doubles; the output dtype decides the storage.
  return run(BINARY[op], outDtype, [al, bl], [a, b]);
}

export function where(cond: Storage, cl: Layout, a: Storage, al: Layout, b: Storage, bl: Layout, outDtype: DType): Storage {
  return run("(x ? y : z)", outDtype, [cl, al, bl], [cond, a, b]);
}

export function copy(x: Storage, xl: Layout, outDtype: DType): Storage {
  if (outDtype === "bool") return run("(x ? 1 : 0)", outDtype, [xl], [x]);
  if (xl.isContiguous() && outDtype === dtypeOf(x)) return x.slice(xl.offset, xl.offset + xl.size);
  return run("x", outDtype, [xl], [x]);
}

function dtypeOf(x: Storage): DType {
  return x instanceof Float32Array ? "float32" : x instanceof Int32Array ? "int32" : "bool";
}

/** dst[dstLayout] = src (already broadcast to dstLayout's shape). */
export function assign(dst: Storage, dstLayout: Layout, src: Storage, srcLayout: Layout): void {
  if (dstLayout.size === 0) return;
  // Read src straight from its storage only when it cannot alias the elements being written.
  const direct = srcLayout.isContiguous() && dtypeOf(src) === dtypeOf(dst) && src.buffer !== dst.buffer;
  const values = direct ? src.subarray(srcLayout.offset, srcLayout.offset + srcLayout.size) : copy(src, srcLayout, dtypeOf(dst));
  if (dstLayout.isContiguous()) {
    dst.set(values as never, dstLayout.offset);
    return;
  }
  const walk = coalesce([dstLayout]);
  const shape = walk.shape;
  const strides = walk.strides[0];
  const nd = shape.length;
  const inner = shape[nd - 1];
  const step = strides[nd - 1];
  const index = new Array<number>(nd).fill(0);
  let base = walk.offsets[0];
  let i = 0;
  while (i < values.length) {
    if (step === 1) {
      // Contiguous rows (a narrowed last dim, e.g. one weight of a fused projection): one block copy each.
      dst.set(values.subarray(i, i + inner) as never, base);
      i += inner;
    } else {
      let p = base;
      for (let j = 0; j < inner; j++) {
        dst[p] = values[i++];
        p += step;
      }
    }
    for (let d = nd - 2; d >= 0; d--) {
      index[d]++;
      base += strides[d];
      if (index[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
}
