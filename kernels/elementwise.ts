// Elementwise float32 kernels over up to 4 broadcast dims (the caller coalesces layouts first).
// Each thread takes a contiguous range of output elements; the innermost dim runs in 128-bit
// SIMD when the operands are contiguous or broadcast along it (stride 1 or 0), scalar otherwise.

// Op codes, shared with src/backend/wasm/elementwise.ts.
const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAXIMUM = 4, MINIMUM = 5;
const EQ = 6, NE = 7, LT = 8, LE = 9, GT = 10, GE = 11;
const NEG = 0, ABS = 1, RELU = 2, SQRT = 3, SQUARE = 4, RECIPROCAL = 5;

// @ts-ignore: decorator
@inline function binaryVec(op: i32, x: v128, y: v128): v128 {
  if (op == ADD) return f32x4.add(x, y);
  if (op == SUB) return f32x4.sub(x, y);
  if (op == MUL) return f32x4.mul(x, y);
  if (op == DIV) return f32x4.div(x, y);
  // PyTorch's maximum/minimum propagate NaN, as wasm's f32x4.max/min do.
  if (op == MAXIMUM) return f32x4.max(x, y);
  return f32x4.min(x, y);
}

// @ts-ignore: decorator
@inline function binaryScalar(op: i32, x: f32, y: f32): f32 {
  if (op == ADD) return x + y;
  if (op == SUB) return x - y;
  if (op == MUL) return x * y;
  if (op == DIV) return x / y;
  if (op == MAXIMUM) return x > y || x != x ? x : y;
  if (op == MINIMUM) return x < y || x != x ? x : y;
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
  return f32x4.div(f32x4.splat(1), x);
}

// @ts-ignore: decorator
@inline function unaryScalar(op: i32, x: f32): f32 {
  if (op == NEG) return -x;
  if (op == ABS) return abs<f32>(x);
  if (op == RELU) return x < 0 ? 0 : x;
  if (op == SQRT) return sqrt<f32>(x);
  if (op == SQUARE) return x * x;
  return 1 / x;
}

/** Row `count` elements of a binary op, output float32 (comparisons give 1/0 floats here). */
// @ts-ignore: decorator
@inline function binaryRow(op: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, count: i32, boolOut: bool): void {
  let i = 0;
  if (!boolOut && op <= MINIMUM) {
    if (sa == 1 && sb == 1) {
      for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), binaryVec(op, v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
    } else if (sa == 1 && sb == 0) {
      const y = v128.load32_splat(b);
      for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), binaryVec(op, v128.load(a + (<usize>i << 2)), y));
    } else if (sa == 0 && sb == 1) {
      const x = v128.load32_splat(a);
      for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), binaryVec(op, x, v128.load(b + (<usize>i << 2))));
    }
  }
  for (; i < count; i++) {
    const v = binaryScalar(op, load<f32>(a + <usize>(i * sa) * 4), load<f32>(b + <usize>(i * sb) * 4));
    if (boolOut) store<u8>(out + <usize>i, <u8>v);
    else store<f32>(out + (<usize>i << 2), v);
  }
}

// @ts-ignore: decorator
@inline function unaryRow(op: i32, a: usize, sa: i32, out: usize, count: i32): void {
  let i = 0;
  if (sa == 1) for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), unaryVec(op, v128.load(a + (<usize>i << 2))));
  for (; i < count; i++) store<f32>(out + (<usize>i << 2), unaryScalar(op, load<f32>(a + <usize>(i * sa) * 4)));
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
        default: unaryRow(RECIPROCAL, pa, a3, po, count);
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
        default: binaryRow(GE, pa, a3, pb, b3, po, count, true);
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
