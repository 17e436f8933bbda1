// Layer normalization over contiguous rows, forward and backward, one range of rows per share.
// Sums run in four f32x4 lanes (as the reduce kernels do); the JS reference is
// src/backend/js/normalization.ts.
import { laneSum } from "./simd";

/** Sum of `count` floats at p. */
// @ts-ignore: decorator
@inline function rowSum(p: usize, count: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) acc = f32x4.add(acc, v128.load(p + <usize>i * 4));
  let s = laneSum(acc);
  for (; i < count; i++) s += load<f32>(p + <usize>i * 4);
  return s;
}

/** Rows [r0, r1) of share `tid` when `rows` rows are split over `nthreads` shares. */
// @ts-ignore: decorator
@inline function firstRow(rows: i32, tid: i32, nthreads: i32): i32 {
  return min(rows, tid * ((rows + nthreads - 1) / nthreads));
}

/**
 * out = (x - mean) * rstd * weight + bias per row, with mean and rstd = 1 / sqrt(var + eps)
 * (biased variance) saved per row. args: [x, out, mean, rstd, weight (0 = none), bias (0 = none),
 * rows, size, eps (f32)].
 */
export function layerNormForward(args: usize, tid: i32, nthreads: i32): void {
  const x = <usize>load<u32>(args), out = <usize>load<u32>(args, 4);
  const meanOut = <usize>load<u32>(args, 8), rstdOut = <usize>load<u32>(args, 12);
  const weight = <usize>load<u32>(args, 16), bias = <usize>load<u32>(args, 20);
  const rows = load<i32>(args, 24), size = load<i32>(args, 28);
  const eps = load<f32>(args, 32);
  const r0 = firstRow(rows, tid, nthreads), r1 = firstRow(rows, tid + 1, nthreads);
  const inverseSize = <f32>1 / <f32>size;
  for (let r = r0; r < r1; r++) {
    const row = x + <usize>r * <usize>size * 4;
    const dst = out + <usize>r * <usize>size * 4;
    const mean = rowSum(row, size) * inverseSize;
    const meanV = f32x4.splat(mean);
    let acc = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= size; i += 4) {
      const d = f32x4.sub(v128.load(row + <usize>i * 4), meanV);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    let squares = laneSum(acc);
    for (; i < size; i++) {
      const d = load<f32>(row + <usize>i * 4) - mean;
      squares += d * d;
    }
    const rstd = <f32>1 / sqrt<f32>(squares * inverseSize + eps);
    store<f32>(meanOut + <usize>r * 4, mean);
    store<f32>(rstdOut + <usize>r * 4, rstd);
    const rstdV = f32x4.splat(rstd);
    i = 0;
    for (; i + 4 <= size; i += 4) {
      let v = f32x4.mul(f32x4.sub(v128.load(row + <usize>i * 4), meanV), rstdV);
      if (weight != 0) v = f32x4.mul(v, v128.load(weight + <usize>i * 4));
      if (bias != 0) v = f32x4.add(v, v128.load(bias + <usize>i * 4));
      v128.store(dst + <usize>i * 4, v);
    }
    for (; i < size; i++) {
      let v = (load<f32>(row + <usize>i * 4) - mean) * rstd;
      if (weight != 0) v *= load<f32>(weight + <usize>i * 4);
      if (bias != 0) v += load<f32>(bias + <usize>i * 4);
      store<f32>(dst + <usize>i * 4, v);
    }
  }
}

/**
 * Layer norm backward for rows [r0, r1) of this share. With xhat = (x - mean) * rstd and
 * gy = g * weight: dx = rstd * (gy - mean(gy) - xhat * mean(gy * xhat)); this share's partial
 * sums of g * xhat (weight gradient) and g (bias gradient) go to its own `size` floats of each
 * partials buffer. args: [g, x, mean, rstd, weight (0 = none), dx (0 = not wanted),
 * weight partials (0 = not wanted), bias partials (0 = not wanted), rows, size].
 */
export function layerNormBackward(args: usize, tid: i32, nthreads: i32): void {
  const g = <usize>load<u32>(args), x = <usize>load<u32>(args, 4);
  const meanIn = <usize>load<u32>(args, 8), rstdIn = <usize>load<u32>(args, 12);
  const weight = <usize>load<u32>(args, 16), dx = <usize>load<u32>(args, 20);
  const rows = load<i32>(args, 32), size = load<i32>(args, 36);
  const weightPartials = <usize>load<u32>(args, 24), biasPartials = <usize>load<u32>(args, 28);
  const dw = weightPartials + <usize>tid * <usize>size * 4, db = biasPartials + <usize>tid * <usize>size * 4;
  if (weightPartials != 0) memory.fill(dw, 0, <usize>size * 4);
  if (biasPartials != 0) memory.fill(db, 0, <usize>size * 4);
  const r0 = firstRow(rows, tid, nthreads), r1 = firstRow(rows, tid + 1, nthreads);
  const inverseSize = <f32>1 / <f32>size;
  for (let r = r0; r < r1; r++) {
    const gRow = g + <usize>r * <usize>size * 4, xRow = x + <usize>r * <usize>size * 4;
    const mean = load<f32>(meanIn + <usize>r * 4), rstd = load<f32>(rstdIn + <usize>r * 4);
    const meanV = f32x4.splat(mean), rstdV = f32x4.splat(rstd);
    if (weightPartials != 0 || biasPartials != 0) {
      let i = 0;
      for (; i + 4 <= size; i += 4) {
        const gv = v128.load(gRow + <usize>i * 4);
        if (weightPartials != 0) {
          const xhat = f32x4.mul(f32x4.sub(v128.load(xRow + <usize>i * 4), meanV), rstdV);
          v128.store(dw + <usize>i * 4, f32x4.add(v128.load(dw + <usize>i * 4), f32x4.mul(gv, xhat)));
        }
        if (biasPartials != 0) v128.store(db + <usize>i * 4, f32x4.add(v128.load(db + <usize>i * 4), gv));
      }
      for (; i < size; i++) {
        const gv = load<f32>(gRow + <usize>i * 4);
        if (weightPartials != 0) store<f32>(dw + <usize>i * 4, load<f32>(dw + <usize>i * 4) + gv * (load<f32>(xRow + <usize>i * 4) - mean) * rstd);
        if (biasPartials != 0) store<f32>(db + <usize>i * 4, load<f32>(db + <usize>i * 4) + gv);
      }
    }
    if (dx == 0) continue;
    // mean(gy) and mean(gy * xhat) over the row.
    let sumA = f32x4.splat(0), sumB = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= size; i += 4) {
      let gy = v128.load(gRow + <usize>i * 4);
      if (weight != 0) gy = f32x4.mul(gy, v128.load(weight + <usize>i * 4));
      const xhat = f32x4.mul(f32x4.sub(v128.load(xRow + <usize>i * 4), meanV), rstdV);
      sumA = f32x4.add(sumA, gy);
      sumB = f32x4.add(sumB, f32x4.mul(gy, xhat));
    }
    let a = laneSum(sumA);
    let b = laneSum(sumB);
    for (; i < size; i++) {
      let gy = load<f32>(gRow + <usize>i * 4);
      if (weight != 0) gy *= load<f32>(weight + <usize>i * 4);
      a += gy;
      b += gy * (load<f32>(xRow + <usize>i * 4) - mean) * rstd;
    }
    a *= inverseSize;
    b *= inverseSize;
    const aV = f32x4.splat(a), bV = f32x4.splat(b);
    const dRow = dx + <usize>r * <usize>size * 4;
    i = 0;
    for (; i + 4 <= size; i += 4) {
      let gy = v128.load(gRow + <usize>i * 4);
      if (weight != 0) gy = f32x4.mul(gy, v128.load(weight + <usize>i * 4));
      const xhat = f32x4.mul(f32x4.sub(v128.load(xRow + <usize>i * 4), meanV), rstdV);
      v128.store(dRow + <usize>i * 4, f32x4.mul(rstdV, f32x4.sub(f32x4.sub(gy, aV), f32x4.mul(xhat, bV))));
    }
    for (; i < size; i++) {
      let gy = load<f32>(gRow + <usize>i * 4);
      if (weight != 0) gy *= load<f32>(weight + <usize>i * 4);
      const xhat = (load<f32>(xRow + <usize>i * 4) - mean) * rstd;
      store<f32>(dRow + <usize>i * 4, rstd * (gy - a - xhat * b));
    }
  }
}
