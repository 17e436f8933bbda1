// Elementwise float32 kernels over up to 4 broadcast dims (the caller coalesces layouts first).
// Each thread takes a contiguous range of output elements; the innermost dim runs in 128-bit
// SIMD when the operands are contiguous or broadcast along it (stride 1 or 0); strided rows gather
// four lanes, and row tails run the vector code on one lane, so every element of a float op goes
// through the same arithmetic.
import { erfv, expm1v, expv, log1pv, logv, sigmoidv, tanhv } from "./math";

// Op codes, shared with src/backend/wasm/elementwise.ts.
const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAXIMUM = 4, MINIMUM = 5;
const EQ = 6, NE = 7, LT = 8, LE = 9, GT = 10, GE = 11;
// Fused backward ops: binary(grad, x) for GELU, binary(grad, out) for sigmoid and tanh.
const GELU_BACKWARD = 12, GELU_TANH_BACKWARD = 13, SIGMOID_BACKWARD = 14, TANH_BACKWARD = 15, RELU_BACKWARD = 16;
const NEG = 0, ABS = 1, RELU = 2, SQRT = 3, SQUARE = 4, RECIPROCAL = 5;
const EXP = 6, LOG = 7, TANH = 8, SIGMOID = 9, ERF = 10, EXPM1 = 11, LOG1P = 12, RSQRT = 13, GELU = 14, GELU_TANH = 15;

// GELU's constants, as PyTorch's kernels use them.
const SQRT1_2: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268; // 1 / sqrt(2 pi)
const GELU_BETA: f32 = 0.79788456080286536; // sqrt(2 / pi)
const GELU_KAPPA: f32 = 0.044715;

// @ts-ignore: decorator
@inline function k(v: f32): v128 {
  return f32x4.splat(v);
}

/** 0.5 x (1 + erf(x / sqrt 2)). */
// @ts-ignore: decorator
@inline function geluVec(x: v128): v128 {
  const half = f32x4.mul(x, k(0.5));
  return f32x4.mul(half, f32x4.add(erfv(f32x4.mul(x, k(SQRT1_2))), k(1)));
}

/** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
// @ts-ignore: decorator
@inline function geluTanhVec(x: v128): v128 {
  const x3 = f32x4.mul(f32x4.mul(x, x), x);
  const inner = f32x4.mul(f32x4.add(x, f32x4.mul(x3, k(GELU_KAPPA))), k(GELU_BETA));
  return f32x4.mul(f32x4.mul(x, k(0.5)), f32x4.add(tanhv(inner), k(1)));
}

/** g * (Phi(x) + x phi(x)), PyTorch's GeluBackward. */
// @ts-ignore: decorator
@inline function geluBackwardVec(g: v128, x: v128): v128 {
  const cdf = f32x4.mul(f32x4.add(erfv(f32x4.mul(x, k(SQRT1_2))), k(1)), k(0.5));
  const pdf = f32x4.mul(expv(f32x4.mul(f32x4.mul(x, x), k(-0.5))), k(INV_SQRT_2PI));
  return f32x4.mul(g, f32x4.add(cdf, f32x4.mul(x, pdf)));
}

/** The derivative of the tanh approximation, term by term as PyTorch's GeluBackward computes it. */
// @ts-ignore: decorator
@inline function geluTanhBackwardVec(g: v128, x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const inner = f32x4.mul(f32x4.add(x, f32x4.mul(f32x4.mul(x2, x), k(GELU_KAPPA))), k(GELU_BETA));
  const t = tanhv(inner);
  const right = f32x4.add(t, k(1));
  const leftDerivative = f32x4.mul(right, k(0.5));
  const innerDerivative = f32x4.mul(f32x4.add(f32x4.mul(x2, k(3 * GELU_KAPPA)), k(1)), k(GELU_BETA));
  const rightDerivative = f32x4.mul(f32x4.mul(f32x4.mul(x, k(0.5)), f32x4.sub(k(1), f32x4.mul(t, t))), innerDerivative);
  return f32x4.mul(g, f32x4.add(leftDerivative, rightDerivative));
}

// @ts-ignore: decorator
@inline function binaryVec(op: i32, x: v128, y: v128): v128 {
  if (op == ADD) return f32x4.add(x, y);
  if (op == SUB) return f32x4.sub(x, y);
  if (op == MUL) return f32x4.mul(x, y);
  if (op == DIV) return f32x4.div(x, y);
  // PyTorch's maximum/minimum propagate NaN, as wasm's f32x4.max/min do.
  if (op == MAXIMUM) return f32x4.max(x, y);
  if (op == MINIMUM) return f32x4.min(x, y);
  if (op == GELU_BACKWARD) return geluBackwardVec(x, y);
  if (op == GELU_TANH_BACKWARD) return geluTanhBackwardVec(x, y);
  // g * out * (1 - out) and g * (1 - out^2), as PyTorch's SigmoidBackward and TanhBackward.
  if (op == SIGMOID_BACKWARD) return f32x4.mul(x, f32x4.mul(f32x4.sub(k(1), y), y));
  // PyTorch's threshold_backward: out <= 0 ? 0 : g (a NaN output passes the gradient through).
  if (op == RELU_BACKWARD) return v128.andnot(x, f32x4.le(y, k(0)));
  return f32x4.mul(x, f32x4.sub(k(1), f32x4.mul(y, y)));
}

// @ts-ignore: decorator
@inline function compareScalar(op: i32, x: f32, y: f32): f32 {
  if (op == EQ) return x == y ? 1 : 0;
  if (op == NE) return x != y ? 1 : 0;
  if (op == LT) return x < y ? 1 : 0;
  if (op == LE) return x <= y ? 1 : 0;
  if (op == GT) return x > y ? 1 : 0;
  return x >= y ? 1 : 0;
}

// @ts-ignore: decorator
@inline function unaryVec(op: i32, x: v128): v128 {
  if (op == NEG) return f32x4.neg(x);
  if (op == ABS) return f32x4.abs(x);
  // x < 0 ? 0 : x, keeping NaN and -0 as the JS kernel does.
  if (op == RELU) return v128.andnot(x, f32x4.lt(x, f32x4.splat(0)));
  if (op == SQRT) return f32x4.sqrt(x);
  if (op == SQUARE) return f32x4.mul(x, x);
  if (op == RECIPROCAL) return f32x4.div(f32x4.splat(1), x);
  if (op == EXP) return expv(x);
  if (op == LOG) return logv(x);
  if (op == TANH) return tanhv(x);
  if (op == SIGMOID) return sigmoidv(x);
  if (op == ERF) return erfv(x);
  if (op == EXPM1) return expm1v(x);
  if (op == LOG1P) return log1pv(x);
  if (op == RSQRT) return f32x4.div(f32x4.splat(1), f32x4.sqrt(x));
  if (op == GELU) return geluVec(x);
  return geluTanhVec(x);
}

/** Four floats `stride` elements apart. */
// @ts-ignore: decorator
@inline function gather(p: usize, stride: i32): v128 {
  const step = <usize>stride << 2;
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(p + step));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * step));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * step));
}

/** Row `count` elements of a binary op, output float32 (comparisons give 1/0 floats here). */
// @ts-ignore: decorator
@inline function binaryRow(op: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, count: i32, boolOut: bool): void {
  let i = 0;
  if (boolOut) {
    for (; i < count; i++) store<u8>(out + <usize>i, <u8>compareScalar(op, load<f32>(a + <usize>(i * sa) * 4), load<f32>(b + <usize>(i * sb) * 4)));
    return;
  }
  if (sa == 1 && sb == 1) {
    for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), binaryVec(op, v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
  } else if (sa == 1 && sb == 0) {
    const y = v128.load32_splat(b);
    for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), binaryVec(op, v128.load(a + (<usize>i << 2)), y));
  } else if (sa == 0 && sb == 1) {
    const x = v128.load32_splat(a);
    for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), binaryVec(op, x, v128.load(b + (<usize>i << 2))));
  } else {
    for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), binaryVec(op, gather(a + <usize>(i * sa) * 4, sa), gather(b + <usize>(i * sb) * 4, sb)));
  }
  for (; i < count; i++) {
    const x = v128.load32_splat(a + <usize>(i * sa) * 4), y = v128.load32_splat(b + <usize>(i * sb) * 4);
    store<f32>(out + (<usize>i << 2), f32x4.extract_lane(binaryVec(op, x, y), 0));
  }
}

// @ts-ignore: decorator
@inline function unaryRow(op: i32, a: usize, sa: i32, out: usize, count: i32): void {
  let i = 0;
  if (sa == 1) for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), unaryVec(op, v128.load(a + (<usize>i << 2))));
  else for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), unaryVec(op, gather(a + <usize>(i * sa) * 4, sa)));
  for (; i < count; i++) store<f32>(out + (<usize>i << 2), f32x4.extract_lane(unaryVec(op, v128.load32_splat(a + <usize>(i * sa) * 4)), 0));
}

/**
 * Walks this thread's share of the output, row by row of the innermost dim. args (i32):
 * [op, boolOut, a, b, out, shape0..3, aStride0..3, bStride0..3]; unary ops ignore b.
 */
// @ts-ignore: decorator
@inline function walk(args: usize, tid: i32, nthreads: i32, unary: bool): void {
  const op = load<i32>(args);
  const boolOut = load<i32>(args, 4) != 0;
  const a = <usize>load<u32>(args, 8), b = <usize>load<u32>(args, 12), out = <usize>load<u32>(args, 16);
  const n0 = load<i32>(args, 20), n1 = load<i32>(args, 24), n2 = load<i32>(args, 28), n3 = load<i32>(args, 32);
  const a0 = load<i32>(args, 36), a1 = load<i32>(args, 40), a2 = load<i32>(args, 44), a3 = load<i32>(args, 48);
  const b0 = load<i32>(args, 52), b1 = load<i32>(args, 56), b2 = load<i32>(args, 60), b3 = load<i32>(args, 64);
  const total = n0 * n1 * n2 * n3;
  // Shares are multiples of 16 elements so no two threads write the same cache line's vector.
  const per = ((total + nthreads - 1) / nthreads + 15) & ~15;
  let e = tid * per;
  const end = min(total, e + per);
  const outSize: usize = boolOut ? 1 : 4;
  while (e < end) {
    const row = e / n3, col = e % n3;
    const i2 = row % n2, r1 = row / n2, i1 = r1 % n1, i0 = r1 / n1;
    const count = min(n3 - col, end - e);
    const pa = a + <usize>(i0 * a0 + i1 * a1 + i2 * a2 + col * a3) * 4;
    const po = out + <usize>e * outSize;
    if (unary) {
      switch (op) {
        case NEG: unaryRow(NEG, pa, a3, po, count); break;
        case ABS: unaryRow(ABS, pa, a3, po, count); break;
        case RELU: unaryRow(RELU, pa, a3, po, count); break;
        case SQRT: unaryRow(SQRT, pa, a3, po, count); break;
        case SQUARE: unaryRow(SQUARE, pa, a3, po, count); break;
        case RECIPROCAL: unaryRow(RECIPROCAL, pa, a3, po, count); break;
        case EXP: unaryRow(EXP, pa, a3, po, count); break;
        case LOG: unaryRow(LOG, pa, a3, po, count); break;
        case TANH: unaryRow(TANH, pa, a3, po, count); break;
        case SIGMOID: unaryRow(SIGMOID, pa, a3, po, count); break;
        case ERF: unaryRow(ERF, pa, a3, po, count); break;
        case EXPM1: unaryRow(EXPM1, pa, a3, po, count); break;
        case LOG1P: unaryRow(LOG1P, pa, a3, po, count); break;
        case RSQRT: unaryRow(RSQRT, pa, a3, po, count); break;
        case GELU: unaryRow(GELU, pa, a3, po, count); break;
        default: unaryRow(GELU_TANH, pa, a3, po, count);
      }
    } else {
      const pb = b + <usize>(i0 * b0 + i1 * b1 + i2 * b2 + col * b3) * 4;
      switch (op) {
        case ADD: binaryRow(ADD, pa, a3, pb, b3, po, count, false); break;
        case SUB: binaryRow(SUB, pa, a3, pb, b3, po, count, false); break;
        case MUL: binaryRow(MUL, pa, a3, pb, b3, po, count, false); break;
        case DIV: binaryRow(DIV, pa, a3, pb, b3, po, count, false); break;
        case MAXIMUM: binaryRow(MAXIMUM, pa, a3, pb, b3, po, count, false); break;
        case MINIMUM: binaryRow(MINIMUM, pa, a3, pb, b3, po, count, false); break;
        case EQ: binaryRow(EQ, pa, a3, pb, b3, po, count, true); break;
        case NE: binaryRow(NE, pa, a3, pb, b3, po, count, true); break;
        case LT: binaryRow(LT, pa, a3, pb, b3, po, count, true); break;
        case LE: binaryRow(LE, pa, a3, pb, b3, po, count, true); break;
        case GT: binaryRow(GT, pa, a3, pb, b3, po, count, true); break;
        case GE: binaryRow(GE, pa, a3, pb, b3, po, count, true); break;
        case GELU_BACKWARD: binaryRow(GELU_BACKWARD, pa, a3, pb, b3, po, count, false); break;
        case GELU_TANH_BACKWARD: binaryRow(GELU_TANH_BACKWARD, pa, a3, pb, b3, po, count, false); break;
        case SIGMOID_BACKWARD: binaryRow(SIGMOID_BACKWARD, pa, a3, pb, b3, po, count, false); break;
        case RELU_BACKWARD: binaryRow(RELU_BACKWARD, pa, a3, pb, b3, po, count, false); break;
        default: binaryRow(TANH_BACKWARD, pa, a3, pb, b3, po, count, false);
      }
    }
    e += count;
  }
}

export function binary(args: usize, tid: i32, nthreads: i32): void {
  walk(args, tid, nthreads, false);
}

export function unary(args: usize, tid: i32, nthreads: i32): void {
  walk(args, tid, nthreads, true);
}
