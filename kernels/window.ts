// im2col (unfold) and col2im (fold) for 2-D sliding windows, one (image, channel) plane per
// task, planes shared out across threads. Column rows are ordered (channel, kernel row,
// kernel col), PyTorch's F.unfold order; the input may have any strides.

// Window geometry fields (i32) follow the 8 operand fields in each args block (here, in pool.ts
// and in conv.ts).
// @ts-ignore: decorator
@inline const GEOMETRY: usize = 32;

/** The 14 geometry fields: batch channels inH inW kernelH kernelW strideH strideW padH padW dilationH dilationW outH outW. */
export class Geometry {
  batch: i32; channels: i32; h: i32; w: i32; kh: i32; kw: i32;
  sh: i32; sw: i32; ph: i32; pw: i32; dh: i32; dw: i32; oh: i32; ow: i32;
}

/** The geometry fields of an args block, read in place. */
// @ts-ignore: decorator
@inline export function geometry(args: usize): Geometry {
  return changetype<Geometry>(args + GEOMETRY);
}

/**
 * args: [x, xsN, xsC, xsH, xsW, out, padValue (f32), unused, then the 14 geometry fields
 * batch channels inH inW kernelH kernelW strideH strideW padH padW dilationH dilationW outH outW,
 * then outSampleStride, outRowStride]. out is [N, C*kh*kw, oh*ow] with those two strides (a
 * row's oh*ow values are contiguous): [N, K, L] contiguous, or [K, N*L] for a batch-folded GEMM.
 */
export function unfold(args: usize, tid: i32, nthreads: i32): void {
  const out = <usize>load<u32>(args, 20);
  const g = geometry(args);
  const planes = g.batch * g.channels;
  const outSample = load<i32>(args, GEOMETRY + 56), outRow = load<i32>(args, GEOMETRY + 60);
  for (let q = tid; q < planes; q += nthreads) unfoldPlane(args, q, out, outSample, outRow, 0);
}

/**
 * im2col of one (sample n, channel c) plane q = n * C + c of unfold's input (`args` as there):
 * column row r = c*kh*kw + ki*kw + kj of sample n goes to out + (n - firstSample) * outSample
 * + r * outRow. Also the first step of a fused convolution (see conv.ts).
 */
export function unfoldPlane(args: usize, q: i32, out: usize, outSample: i32, outRow: i32, firstSample: i32): void {
  const x = <usize>load<u32>(args);
  const sn = load<i32>(args, 4), sc = load<i32>(args, 8), sh = load<i32>(args, 12), sw = load<i32>(args, 16);
  const pad = load<f32>(args, 24);
  const g = geometry(args);
  const kk = g.kh * g.kw;
  {
    const n = q / g.channels, c = q % g.channels;
    const plane = x + <usize>(n * sn + c * sc) * 4;
    for (let ki = 0; ki < g.kh; ki++) {
      for (let kj = 0; kj < g.kw; kj++) {
        let o = out + (<usize>((n - firstSample) * outSample) + <usize>((c * kk + ki * g.kw + kj) * outRow)) * 4;
        // Output columns whose input column lies inside [0, w): xo in [x0, x1).
        const colOffset = kj * g.dw - g.pw;
        const x0 = clampWindow(-colOffset, g.sw, g.ow);
        const x1 = clampWindow(g.w - colOffset, g.sw, g.ow);
        if (x0 == 0 && x1 == g.ow && g.sw == 1 && sw == 1) {
          // Every column inside the input (the common unpadded case): rows [y0, y1) are
          // whole-row copies, the rest padding. Rows here are short, so per-row work is hoisted.
          const rowOffset = ki * g.dh - g.ph;
          const y0 = clampWindow(-rowOffset, g.sh, g.oh);
          const y1 = max(y0, clampWindow(g.h - rowOffset, g.sh, g.oh));
          fill(o, pad, y0 * g.ow);
          let src = plane + <usize>((y0 * g.sh + rowOffset) * sh + colOffset) * 4;
          let dst = o + <usize>(y0 * g.ow) * 4;
          const srcStep = <usize>(g.sh * sh) * 4, dstStep = <usize>g.ow * 4;
          for (let y = y0; y < y1; y++) {
            copyFloats(dst, src, g.ow);
            src += srcStep;
            dst += dstStep;
          }
          fill(dst, pad, (g.oh - y1) * g.ow);
          continue;
        }
        for (let y = 0; y < g.oh; y++) {
          const iy = y * g.sh - g.ph + ki * g.dh;
          if (iy < 0 || iy >= g.h || x0 >= x1) {
            fill(o, pad, g.ow);
          } else {
            fill(o, pad, x0);
            const row = plane + <usize>(iy * sh) * 4;
            if (g.sw == 1 && sw == 1) {
              copyFloats(o + <usize>x0 * 4, row + <usize>(x0 + colOffset) * 4, x1 - x0);
            } else {
              for (let xo = x0; xo < x1; xo++) store<f32>(o + <usize>xo * 4, load<f32>(row + <usize>((xo * g.sw + colOffset) * sw) * 4));
            }
            fill(o + <usize>x1 * 4, pad, g.ow - x1);
          }
          o += <usize>g.ow * 4;
        }
      }
    }
  }
}

/**
 * The adjoint of unfold: sums window values back into an [N, C, H, W] contiguous output.
 * args: [cols, csN, csRow, csL, unused, out, unused, unused, then the 14 geometry fields].
 */
export function fold(args: usize, tid: i32, nthreads: i32): void {
  const cols = <usize>load<u32>(args);
  const sn = load<i32>(args, 4);
  const g = geometry(args);
  const planes = g.batch * g.channels;
  for (let q = tid; q < planes; q += nthreads) foldPlane(args, q, cols, sn, 0);
}

/**
 * col2im of one (sample n, channel c) plane q = n * C + c into fold's output (`args` as there),
 * reading sample n's columns at cols + (n - firstSample) * sampleStride (row and column strides
 * from `args`). Also the last step of a fused convolution input gradient (see conv.ts).
 */
export function foldPlane(args: usize, q: i32, cols: usize, sn: i32, firstSample: i32): void {
  const sr = load<i32>(args, 8), sl = load<i32>(args, 12);
  const out = <usize>load<u32>(args, 20);
  const g = geometry(args);
  const kk = g.kh * g.kw;
  const planeSize = <usize>(g.h * g.w);
  {
    const n = q / g.channels, c = q % g.channels;
    const plane = out + <usize>q * planeSize * 4;
    memory.fill(plane, 0, planeSize * 4);
    for (let ki = 0; ki < g.kh; ki++) {
      for (let kj = 0; kj < g.kw; kj++) {
        const rowBase = cols + <usize>((n - firstSample) * sn + (c * kk + ki * g.kw + kj) * sr) * 4;
        const colOffset = kj * g.dw - g.pw;
        const x0 = clampWindow(-colOffset, g.sw, g.ow);
        const x1 = clampWindow(g.w - colOffset, g.sw, g.ow);
        for (let y = 0; y < g.oh; y++) {
          const iy = y * g.sh - g.ph + ki * g.dh;
          if (iy < 0 || iy >= g.h || x0 >= x1) continue;
          const dst = plane + <usize>(iy * g.w + colOffset) * 4;
          const src = rowBase + <usize>(y * g.ow * sl) * 4;
          let xo = x0;
          if (g.sw == 1 && sl == 1) {
            for (; xo + 4 <= x1; xo += 4) {
              const at = dst + <usize>xo * 4;
              v128.store(at, f32x4.add(v128.load(at), v128.load(src + <usize>xo * 4)));
            }
          }
          for (; xo < x1; xo++) {
            const at = dst + <usize>(xo * g.sw) * 4;
            store<f32>(at, load<f32>(at) + load<f32>(src + <usize>(xo * sl) * 4));
          }
        }
      }
    }
  }
}

/** The first output index xo >= 0 with xo * stride >= bound, at most `count`. */
// @ts-ignore: decorator
@inline function clampWindow(bound: i32, stride: i32, count: i32): i32 {
  if (bound <= 0) return 0;
  return min((bound + stride - 1) / stride, count);
}

// @ts-ignore: decorator
@inline function fill(p: usize, v: f32, count: i32): void {
  for (let i = 0; i < count; i++) store<f32>(p + <usize>i * 4, v);
}

/** Copies `count` floats; inline SIMD, as rows here are short (memory.copy's call costs more). */
// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(dst + <usize>i * 4, v128.load(src + <usize>i * 4));
  for (; i < count; i++) store<f32>(dst + <usize>i * 4, load<f32>(src + <usize>i * 4));
}
