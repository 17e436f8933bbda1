// Float32 reductions (sum, max, min) of an inner block for each output element. The caller
// splits the dims into kept (outer) and reduced (inner) groups of at most 4 coalesced dims each;
// threads take ranges of output elements. Sums accumulate in f64 (as the JS kernels do), two
// SIMD lanes at a time when the innermost reduced dim is contiguous.

const SUM = 0, MAX = 1, MIN = 2, ARGMAX = 3, ARGMIN = 4;

// @ts-ignore: decorator
@inline function foldRow(op: i32, p: usize, n: i32, stride: i32, acc: f64): f64 {
  if (op == SUM) {
    let i = 0;
    if (stride == 1 && n >= 8) {
      let lo = f64x2.splat(0), hi = f64x2.splat(0);
      for (; i + 4 <= n; i += 4) {
        const v = v128.load(p + (<usize>i << 2));
        lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
        hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<u32>(v, v, 2, 3, 0, 1)));
      }
      const s = f64x2.add(lo, hi);
      acc += f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
    }
    for (; i < n; i++) acc += <f64>load<f32>(p + <usize>(i * stride) * 4);
    return acc;
  }
  // max (op 1) or min (op 2); NaN wins and ends the scan, as in the JS kernels.
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(p + <usize>(i * stride) * 4);
    if (v != v) return v;
    if (op == MAX ? v > acc : v < acc) acc = v;
  }
  return acc;
}

/**
 * op: 0 sum, 1 max, 2 min (float32 out), 3 argmax, 4 argmin (int32 out, one reduced dim).
 * args (i32): [op, x, out, outer shape 0..3, outer strides 0..3, inner shape 0..3, inner strides 0..3].
 * Shapes are padded with leading 1s (stride 0).
 */
export function reduce(args: usize, tid: i32, nthreads: i32): void {
  const op = load<i32>(args);
  const x = <usize>load<u32>(args, 4), out = <usize>load<u32>(args, 8);
  const o0 = load<i32>(args, 12), o1 = load<i32>(args, 16), o2 = load<i32>(args, 20), o3 = load<i32>(args, 24);
  const os0 = load<i32>(args, 28), os1 = load<i32>(args, 32), os2 = load<i32>(args, 36), os3 = load<i32>(args, 40);
  const n0 = load<i32>(args, 44), n1 = load<i32>(args, 48), n2 = load<i32>(args, 52), n3 = load<i32>(args, 56);
  const s0 = load<i32>(args, 60), s1 = load<i32>(args, 64), s2 = load<i32>(args, 68), s3 = load<i32>(args, 72);
  if ((op == MAX || op == MIN) && os3 == 1 && s3 != 1 && o3 >= 4) {
    // Windows along a strided dim next to a contiguous kept dim (max pooling's layout): take
    // the max of whole rows, four outputs per instruction.
    const rows = o0 * o1 * o2;
    const perRow = (rows + nthreads - 1) / nthreads;
    const rowEnd = min(rows, (tid + 1) * perRow);
    for (let r = tid * perRow; r < rowEnd; r++) {
      const i2 = r % o2, r1 = r / o2, i1 = r1 % o1, i0 = r1 / o1;
      reduceRows(op, x + <usize>(i0 * os0 + i1 * os1 + i2 * os2) * 4, out + <usize>(r * o3) * 4, o3, n0, n1, n2, n3, s0, s1, s2, s3);
    }
    return;
  }
  if (op == SUM && os3 == 1 && s3 != 1 && o3 >= 4) {
    // Column sums (a bias gradient, g.sum(0)): read the reduced rows in order and add each into
    // a block of up to 16 neighbouring outputs at once, so every read uses a whole cache line;
    // one output per column would walk memory with the row stride. Each output's sum keeps the
    // scalar walk's order, in f64. Shares take interleaved (row, block) tasks.
    const blocks = (o3 + 15) >> 4;
    const tasks = o0 * o1 * o2 * blocks;
    for (let t = tid; t < tasks; t += nthreads) {
      const r = t / blocks, first = (t % blocks) << 4;
      const i2 = r % o2, r1 = r / o2, i1 = r1 % o1, i0 = r1 / o1;
      const base = x + <usize>(i0 * os0 + i1 * os1 + i2 * os2 + first) * 4;
      sumColumns(base, out + <usize>(r * o3 + first) * 4, min(16, o3 - first), n0, n1, n2, n3, s0, s1, s2, s3);
    }
    return;
  }
  const total = o0 * o1 * o2 * o3;
  const per = ((total + nthreads - 1) / nthreads + 15) & ~15;
  const start = tid * per;
  const end = min(total, start + per);
  const init: f64 = op == SUM ? 0 : op == MAX ? -Infinity : Infinity;
  for (let e = start; e < end; e++) {
    const i3 = e % o3, r2 = e / o3, i2 = r2 % o2, r1 = r2 / o2, i1 = r1 % o1, i0 = r1 / o1;
    const base = x + <usize>(i0 * os0 + i1 * os1 + i2 * os2 + i3 * os3) * 4;
    if (op >= ARGMAX) {
      // Arg-ops reduce one dim (the innermost group slot).
      store<i32>(out + (<usize>e << 2), op == ARGMAX ? argRow(ARGMAX, base, n3, s3) : argRow(ARGMIN, base, n3, s3));
      continue;
    }
    let acc = init;
    for (let j0 = 0; j0 < n0; j0++) {
      for (let j1 = 0; j1 < n1; j1++) {
        for (let j2 = 0; j2 < n2; j2++) {
          const p = base + <usize>(j0 * s0 + j1 * s1 + j2 * s2) * 4;
          if (op == SUM) acc = foldRow(SUM, p, n3, s3, acc);
          else if (op == MAX) acc = foldRow(MAX, p, n3, s3, acc);
          else acc = foldRow(2, p, n3, s3, acc);
          if (acc != acc) break;
        }
      }
    }
    store<f32>(out + (<usize>e << 2), <f32>acc);
  }
}

/** The low (lowF64) and high (highF64) two lanes of four floats, as f64x2. */
// @ts-ignore: decorator
@inline function lowF64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

// @ts-ignore: decorator
@inline function highF64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<u32>(v, v, 2, 3, 0, 1));
}

/**
 * out[0..count) (count <= 16) = the f64 sums over the inner block of the columns starting at
 * `base`: whole blocks of 16 in eight f64x2 accumulators, then fours, then single columns.
 */
function sumColumns(base: usize, out: usize, count: i32, n0: i32, n1: i32, n2: i32, n3: i32, s0: i32, s1: i32, s2: i32, s3: i32): void {
  let i = 0;
  if (count == 16) {
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
    let a4 = f64x2.splat(0), a5 = f64x2.splat(0), a6 = f64x2.splat(0), a7 = f64x2.splat(0);
    for (let j0 = 0; j0 < n0; j0++) {
      for (let j1 = 0; j1 < n1; j1++) {
        for (let j2 = 0; j2 < n2; j2++) {
          for (let j3 = 0; j3 < n3; j3++) {
            const p = base + <usize>(j0 * s0 + j1 * s1 + j2 * s2 + j3 * s3) * 4;
            const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
            a0 = f64x2.add(a0, lowF64(v0));
            a1 = f64x2.add(a1, highF64(v0));
            a2 = f64x2.add(a2, lowF64(v1));
            a3 = f64x2.add(a3, highF64(v1));
            a4 = f64x2.add(a4, lowF64(v2));
            a5 = f64x2.add(a5, highF64(v2));
            a6 = f64x2.add(a6, lowF64(v3));
            a7 = f64x2.add(a7, highF64(v3));
          }
        }
      }
    }
    v128.store(out, v128.shuffle<f32>(f32x4.demote_f64x2_zero(a0), f32x4.demote_f64x2_zero(a1), 0, 1, 4, 5));
    v128.store(out, v128.shuffle<f32>(f32x4.demote_f64x2_zero(a2), f32x4.demote_f64x2_zero(a3), 0, 1, 4, 5), 16);
    v128.store(out, v128.shuffle<f32>(f32x4.demote_f64x2_zero(a4), f32x4.demote_f64x2_zero(a5), 0, 1, 4, 5), 32);
    v128.store(out, v128.shuffle<f32>(f32x4.demote_f64x2_zero(a6), f32x4.demote_f64x2_zero(a7), 0, 1, 4, 5), 48);
    return;
  }
  for (; i + 4 <= count; i += 4) {
    let lo = f64x2.splat(0), hi = f64x2.splat(0);
    const q = base + (<usize>i << 2);
    for (let j0 = 0; j0 < n0; j0++) {
      for (let j1 = 0; j1 < n1; j1++) {
        for (let j2 = 0; j2 < n2; j2++) {
          for (let j3 = 0; j3 < n3; j3++) {
            const v = v128.load(q + <usize>(j0 * s0 + j1 * s1 + j2 * s2 + j3 * s3) * 4);
            lo = f64x2.add(lo, lowF64(v));
            hi = f64x2.add(hi, highF64(v));
          }
        }
      }
    }
    v128.store(out + (<usize>i << 2), v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
  }
  for (; i < count; i++) {
    let acc: f64 = 0;
    const q = base + (<usize>i << 2);
    for (let j0 = 0; j0 < n0; j0++) {
      for (let j1 = 0; j1 < n1; j1++) {
        for (let j2 = 0; j2 < n2; j2++) acc = foldRow(SUM, q + <usize>(j0 * s0 + j1 * s1 + j2 * s2) * 4, n3, s3, acc);
      }
    }
    store<f32>(out + (<usize>i << 2), <f32>acc);
  }
}

/** out[0..count) = max (or min) over the inner block of the rows starting at `base`, SIMD across outputs. */
function reduceRows(op: i32, base: usize, out: usize, count: i32, n0: i32, n1: i32, n2: i32, n3: i32, s0: i32, s1: i32, s2: i32, s3: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    let acc = f32x4.splat(op == MAX ? -Infinity : Infinity);
    const p = base + (<usize>i << 2);
    for (let j0 = 0; j0 < n0; j0++) {
      for (let j1 = 0; j1 < n1; j1++) {
        for (let j2 = 0; j2 < n2; j2++) {
          for (let j3 = 0; j3 < n3; j3++) {
            const v = v128.load(p + <usize>(j0 * s0 + j1 * s1 + j2 * s2 + j3 * s3) * 4);
            // f32x4.max/min propagate NaN, as the scalar scan does.
            acc = op == MAX ? f32x4.max(acc, v) : f32x4.min(acc, v);
          }
        }
      }
    }
    v128.store(out + (<usize>i << 2), acc);
  }
  for (; i < count; i++) {
    let acc: f64 = op == MAX ? -Infinity : Infinity;
    const p = base + (<usize>i << 2);
    for (let j0 = 0; j0 < n0; j0++) {
      for (let j1 = 0; j1 < n1; j1++) {
        for (let j2 = 0; j2 < n2; j2++) {
          acc = op == MAX ? foldRow(MAX, p + <usize>(j0 * s0 + j1 * s1 + j2 * s2) * 4, n3, s3, acc) : foldRow(2, p + <usize>(j0 * s0 + j1 * s1 + j2 * s2) * 4, n3, s3, acc);
        }
      }
    }
    store<f32>(out + (<usize>i << 2), <f32>acc);
  }
}

/** Index of the first max (or min) of n values; the first NaN wins, as in the JS kernels. */
// @ts-ignore: decorator
@inline function argRow(op: i32, p: usize, n: i32, stride: i32): i32 {
  let best: f32 = op == ARGMAX ? -Infinity : Infinity;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(p + <usize>(i * stride) * 4);
    if (v != v) return i;
    if (op == ARGMAX ? v > best : v < best) {
      best = v;
      at = i;
    }
  }
  return at;
}

/** dst[i] += src[i] for i < count. */
export function addInto(dst: usize, src: usize, count: usize): void {
  let i: usize = 0;
  for (; i + 4 <= count; i += 4) v128.store(dst + i * 4, f32x4.add(v128.load(dst + i * 4), v128.load(src + i * 4)));
  for (; i < count; i++) store<f32>(dst + i * 4, load<f32>(dst + i * 4) + load<f32>(src + i * 4));
}

/**
 * Sums `parts` per-thread partial results of `size` floats each, stored one after another (the
 * weight gradients of conv.ts's convBackward, layer norm's weight and bias gradients), into
 * `out`, one range of elements per share. args: [partials, parts, size, out].
 */
export function sumPartials(args: usize, tid: i32, nthreads: i32): void {
  const partials = <usize>load<u32>(args), parts = load<i32>(args, 4), size = load<i32>(args, 8);
  const out = <usize>load<u32>(args, 12);
  const per = ((size + 3) / 4 + nthreads - 1) / nthreads * 4;
  const i0 = min(size, tid * per), i1 = min(size, i0 + per);
  if (i1 <= i0) return;
  memory.copy(out + <usize>i0 * 4, partials + <usize>i0 * 4, <usize>(i1 - i0) * 4);
  for (let p = 1; p < parts; p++) addInto(out + <usize>i0 * 4, partials + (<usize>p * <usize>size + <usize>i0) * 4, <usize>(i1 - i0));
}
