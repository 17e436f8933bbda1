// im2col (unfold) and col2im (fold) for 2-D sliding windows, one (image, channel) plane per
// task, planes shared out across threads. Column rows are ordered (channel, kernel row,
// kernel col), PyTorch's F.unfold order; the input may have any strides.
import { gemmTranspose4 } from "./gemm";

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
  for (let q = tid; q < planes; q += nthreads) unfoldPlane(args, q, out, outSample, outRow);
}

/**
 * im2col of one (sample n, channel c) plane q = n * C + c of unfold's input (`args` as there):
 * column row r = c*kh*kw + ki*kw + kj of sample n goes to out + n * outSample + r * outRow.
 */
function unfoldPlane(args: usize, q: i32, out: usize, outSample: i32, outRow: i32): void {
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
        let o = out + (<usize>(n * outSample) + <usize>((c * kk + ki * g.kw + kj) * outRow)) * 4;
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
  for (let q = tid; q < planes; q += nthreads) foldPlane(args, q, cols, sn);
}

/**
 * col2im of one (sample n, channel c) plane q = n * C + c into fold's output (`args` as there),
 * reading sample n's columns at cols + n * sampleStride (row and column strides from `args`).
 */
function foldPlane(args: usize, q: i32, cols: usize, sn: i32): void {
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
        const rowBase = cols + <usize>(n * sn + (c * kk + ki * g.kw + kj) * sr) * 4;
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

// A fused convolution's im2col and col2im, written straight into (or read straight from) a
// GEMM's packed panels and tiles (see conv.ts), so the columns matrix never exists. A task's
// output columns j = (sample s, row oy, col ox) are described by a table (windowColumns), and
// the columns matrix's rows r = (channel c, kernel row ki, kernel col kj) by `rowInfo` entries
// (windowRows, foldRows): both are read instead of dividing per element.

// Bytes per table and rowInfo entry (3 i32 each).
// @ts-ignore: decorator
@inline const ENTRY: usize = 12;
/** Columns per packed B panel: gemm.ts's NR, which the vector paths below assume is 8. */
// @ts-ignore: decorator
@inline const PANEL: i32 = 8;

/**
 * The table of a task's output columns: for column j of samples [0, samples), the triple
 * [s, oy * strideH - padH, ox * strideW - padW] (where its windows start in the input) at
 * table + 12 j.
 */
export function windowColumns(args: usize, samples: i32, table: usize): void {
  const g = geometry(args);
  let at = table;
  for (let s = 0; s < samples; s++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        store<i32>(at, s);
        store<i32>(at, oy * g.sh - g.ph, 4);
        store<i32>(at, ox * g.sw - g.pw, 8);
        at += ENTRY;
      }
    }
  }
}

/**
 * rowInfo entries of the columns matrix's rows [r0, r0 + count) (count <= 8), rows numbered
 * from channel c0: [c * sc + dy * sh + dx * sw, dy, dx] with dy = ki * dilationH, dx = kj *
 * dilationW, for an image with strides (sc, sh, sw).
 */
function windowRows(args: usize, r0: i32, count: i32, c0: i32, sc: i32, sh: i32, sw: i32, info: usize): void {
  const g = geometry(args);
  const kk = g.kh * g.kw;
  for (let r = 0; r < count; r++) {
    const row = r0 + r;
    const c = row / kk, within = row - c * kk;
    const ki = within / g.kw;
    const dy = ki * g.dh, dx = (within - ki * g.kw) * g.dw;
    const at = info + <usize>r * ENTRY;
    store<i32>(at, (c0 + c) * sc + dy * sh + dx * sw);
    store<i32>(at, dy, 4);
    store<i32>(at, dx, 8);
  }
}

/**
 * rowInfo entries for col2im of the rows (c, ki, kj) for channels [c, c + count) (count <= 8)
 * at one kernel offset (ki, kj) (the order conv.ts's input gradient uses: a tile's rows then land
 * in different planes at one offset, never in overlapping windows of one row, whose
 * read-after-write the CPU cannot forward): [c * H*W + dy * W + dx, dy, dx] for the contiguous
 * input gradient [N, C, H, W].
 */
export function foldRows(args: usize, ki: i32, kj: i32, c: i32, count: i32, info: usize): void {
  const g = geometry(args);
  const dy = ki * g.dh, dx = kj * g.dw;
  for (let r = 0; r < count; r++) {
    const at = info + <usize>r * ENTRY;
    store<i32>(at, ((c + r) * g.h + dy) * g.w + dx);
    store<i32>(at, dy, 4);
    store<i32>(at, dx, 8);
  }
}

/** Whether table columns [j, j + 8) exist and lie in one output row at input stride 1 (a whole vector's worth of neighbours). */
// @ts-ignore: decorator
@inline function inOneRow(g: Geometry, table: usize, j: i32, count: i32): bool {
  if (j + PANEL > count || g.sw != 1) return false;
  const first = table + <usize>j * ENTRY, last = first + 7 * ENTRY;
  return load<i32>(first) == load<i32>(last) && load<i32>(first, 4) == load<i32>(last, 4);
}

/**
 * im2col of a task's columns [0, count) (`table`, samples from n0) straight into a GEMM's packed
 * B [cg*kh*kw, count]: panel j / 8 holds, for each row r = (c, ki, kj) of channels [c0, c0 + cg),
 * the 8 values of columns j..j+7 (zero past the last column). `args` as for unfold.
 */
export function packWindowColumns(args: usize, n0: i32, c0: i32, cg: i32, table: usize, count: i32, dst: usize): void {
  const x = <usize>load<u32>(args);
  const sn = load<i32>(args, 4), sc = load<i32>(args, 8), sh = load<i32>(args, 12), sw = load<i32>(args, 16);
  const pad = load<f32>(args, 24);
  const g = geometry(args);
  for (let j = 0; j < count; j += PANEL) {
    const t = table + <usize>j * ENTRY;
    if (sw == 1 && inOneRow(g, table, j, count)) {
      // Each row's 8 values are neighbours in the input: one vector pair, unless in the padding.
      const iy0 = load<i32>(t, 4), ix0 = load<i32>(t, 8);
      const sample = x + <usize>((n0 + load<i32>(t)) * sn + c0 * sc) * 4;
      const h = g.h, w = g.w, kh = g.kh, kw = g.kw, dh = g.dh, dw = g.dw;
      // Whether every kernel column's 8 values lie inside the input row.
      const inside = ix0 >= 0 && ix0 + (kw - 1) * dw + PANEL <= w;
      const kernelRowBytes = <usize>(PANEL * kw) * 4, dwBytes = <usize>dw * 4;
      for (let c = 0; c < cg; c++) {
        const plane = sample + <usize>(c * sc) * 4;
        for (let ki = 0; ki < kh; ki++) {
          const iy = iy0 + ki * dh;
          if (iy < 0 || iy >= h) {
            fill(dst, pad, PANEL * kw);
            dst += kernelRowBytes;
            continue;
          }
          const row = plane + <usize>(iy * sh) * 4;
          if (inside) {
            let src = row + <usize>ix0 * 4;
            const end = dst + kernelRowBytes;
            for (; dst < end; dst += PANEL * 4) {
              v128.store(dst, v128.load(src));
              v128.store(dst, v128.load(src, 16), 16);
              src += dwBytes;
            }
            continue;
          }
          for (let kj = 0; kj < kw; kj++) {
            const ix = ix0 + kj * dw;
            if (ix >= 0 && ix + PANEL <= w) {
              const src = row + <usize>ix * 4;
              v128.store(dst, v128.load(src));
              v128.store(dst, v128.load(src, 16), 16);
            } else {
              for (let l = 0; l < PANEL; l++) store<f32>(dst + <usize>l * 4, ix + l >= 0 && ix + l < w ? load<f32>(row + <usize>(ix + l) * 4) : pad);
            }
            dst += PANEL * 4;
          }
        }
      }
      continue;
    }
    const cols = min(PANEL, count - j);
    for (let c = c0; c < c0 + cg; c++) {
      for (let ki = 0; ki < g.kh; ki++) {
        for (let kj = 0; kj < g.kw; kj++) {
          const dy = ki * g.dh, dx = kj * g.dw;
          for (let l = 0; l < PANEL; l++) {
            let v: f32 = 0;
            if (l < cols) {
              const e = t + <usize>l * ENTRY;
              const iy = load<i32>(e, 4) + dy, ix = load<i32>(e, 8) + dx;
              v = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? load<f32>(x + <usize>((n0 + load<i32>(e)) * sn + c * sc + iy * sh + ix * sw) * 4) : pad;
            }
            store<f32>(dst + <usize>l * 4, v);
          }
          dst += PANEL * 4;
        }
      }
    }
  }
}

/**
 * im2col, transposed, of a task's columns [0, count) straight into a GEMM's packed B
 * [count, cg*kh*kw] (the weight gradient's right operand): panel r / 8 holds, for each column j,
 * the values of rows r..r+7 = (c, ki, kj) of channels [c0, c0 + cg) (zero past the last row).
 * `info` is scratch for 8 rowInfo entries. `args` as for unfold.
 */
export function packWindowRows(args: usize, n0: i32, c0: i32, cg: i32, table: usize, count: i32, info: usize, dst: usize): void {
  const x = <usize>load<u32>(args);
  const sn = load<i32>(args, 4), sc = load<i32>(args, 8), sh = load<i32>(args, 12), sw = load<i32>(args, 16);
  const g = geometry(args);
  const rows = cg * g.kh * g.kw;
  for (let r0 = 0; r0 < rows; r0 += PANEL) {
    const valid = min(PANEL, rows - r0);
    windowRows(args, r0, valid, c0, sc, sh, sw, info);
    // Rows past the last repeat row r0 on the vector path: the GEMM's columns for them are
    // computed and dropped, so any finite value will do.
    for (let r = valid; r < PANEL; r++) memory.copy(info + <usize>r * ENTRY, info, ENTRY);
    // The window offsets' extent over the panel's rows: columns whose windows stay inside the
    // input for all 8 rows take the vector path.
    let dyMin = i32.MAX_VALUE, dyMax = i32.MIN_VALUE, dxMin = i32.MAX_VALUE, dxMax = i32.MIN_VALUE;
    for (let r = 0; r < valid; r++) {
      const dy = load<i32>(info + <usize>r * ENTRY, 4), dx = load<i32>(info + <usize>r * ENTRY, 8);
      dyMin = min(dyMin, dy); dyMax = max(dyMax, dy);
      dxMin = min(dxMin, dx); dxMax = max(dxMax, dx);
    }
    const vectors = g.sw == 1 && sw == 1;
    // The rows' element offsets, in locals for the vector path's loads.
    const o0 = rowOffset(info, 0), o1 = rowOffset(info, 1), o2 = rowOffset(info, 2), o3 = rowOffset(info, 3);
    const o4 = rowOffset(info, 4), o5 = rowOffset(info, 5), o6 = rowOffset(info, 6), o7 = rowOffset(info, 7);
    let j = 0;
    while (j < count) {
      const t = table + <usize>j * ENTRY;
      const s = load<i32>(t), iy0 = load<i32>(t, 4), ix0 = load<i32>(t, 8);
      const at = x + <usize>((n0 + s) * sn + iy0 * sh + ix0 * sw) * 4;
      if (vectors && j + 4 <= count) {
        const last = t + 3 * ENTRY;
        if (load<i32>(last) == s && load<i32>(last, 4) == iy0 && iy0 + dyMin >= 0 && iy0 + dyMax < g.h && ix0 + dxMin >= 0 && ix0 + 3 + dxMax < g.w) {
          // 4 neighbouring columns: each row's 4 values are one vector; transpose 4x4 blocks.
          gemmTranspose4(v128.load(at + o0), v128.load(at + o1), v128.load(at + o2), v128.load(at + o3), dst, PANEL * 4);
          gemmTranspose4(v128.load(at + o4), v128.load(at + o5), v128.load(at + o6), v128.load(at + o7), dst + 16, PANEL * 4);
          dst += 4 * PANEL * 4;
          j += 4;
          continue;
        }
      }
      for (let r = 0; r < PANEL; r++) {
        let v: f32 = 0;
        if (r < valid) {
          const e = info + <usize>r * ENTRY;
          const iy = iy0 + load<i32>(e, 4), ix = ix0 + load<i32>(e, 8);
          if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) v = load<f32>(at + <usize>load<i32>(e) * 4);
        }
        store<f32>(dst + <usize>r * 4, v);
      }
      dst += PANEL * 4;
      j++;
    }
  }
}

/** Row r's element offset in a rowInfo block, in bytes. */
// @ts-ignore: decorator
@inline function rowOffset(info: usize, r: i32): usize {
  return <usize>load<i32>(info + <usize>r * ENTRY) * 4;
}

/**
 * Where a tile of foldRows rows (one kernel offset) by the task's columns [j, j + 8) can be
 * added straight from registers into fold's output: the address of its row 0 (rows one plane
 * apart) when the 8 columns are neighbours in one output row and their window positions lie
 * inside the input, else 0 (use foldTile).
 */
export function foldTarget(args: usize, info: usize, table: usize, j: i32, count: i32, n0: i32): usize {
  const g = geometry(args);
  if (!inOneRow(g, table, j, count)) return 0;
  const t = table + <usize>j * ENTRY;
  const iy = load<i32>(t, 4) + load<i32>(info, 4), ix = load<i32>(t, 8) + load<i32>(info, 8);
  if (iy < 0 || iy >= g.h || ix < 0 || ix + PANEL > g.w) return 0;
  const out = <usize>load<u32>(args, 20);
  return out + <usize>((n0 + load<i32>(t)) * g.channels * g.h * g.w + load<i32>(t, 4) * g.w + load<i32>(t, 8) + load<i32>(info)) * 4;
}

/**
 * col2im of one GEMM tile (8 floats per row): its rows [0, rows) (rowInfo entries `info`, from
 * foldRows) by the task's columns [j, j + 8) (`table`, samples from
 * n0; those past `count` skipped), added into fold's output [N, C, H, W] contiguous (`args` as for fold).
 */
export function foldTile(args: usize, tile: usize, info: usize, rows: i32, table: usize, j: i32, count: i32, n0: i32): void {
  const out = <usize>load<u32>(args, 20);
  const g = geometry(args);
  const sample = g.channels * g.h * g.w;
  const t = table + <usize>j * ENTRY;
  if (inOneRow(g, table, j, count)) {
    const iy0 = load<i32>(t, 4), ix0 = load<i32>(t, 8);
    const at = out + <usize>((n0 + load<i32>(t)) * sample + iy0 * g.w + ix0) * 4;
    for (let r = 0; r < rows; r++) {
      const e = info + <usize>r * ENTRY;
      const iy = iy0 + load<i32>(e, 4), ix = ix0 + load<i32>(e, 8);
      if (iy < 0 || iy >= g.h) continue;
      const dst = at + <usize>load<i32>(e) * 4, src = tile + <usize>(r * PANEL) * 4;
      if (ix >= 0 && ix + PANEL <= g.w) {
        v128.store(dst, f32x4.add(v128.load(dst), v128.load(src)));
        v128.store(dst, f32x4.add(v128.load(dst, 16), v128.load(src, 16)), 16);
      } else {
        for (let l = 0; l < PANEL; l++) {
          if (ix + l >= 0 && ix + l < g.w) store<f32>(dst + <usize>l * 4, load<f32>(dst + <usize>l * 4) + load<f32>(src + <usize>l * 4));
        }
      }
    }
    return;
  }
  const cols = min(PANEL, count - j);
  for (let l = 0; l < cols; l++) {
    const c = t + <usize>l * ENTRY;
    const iy0 = load<i32>(c, 4), ix0 = load<i32>(c, 8);
    const at = out + <usize>((n0 + load<i32>(c)) * sample + iy0 * g.w + ix0) * 4;
    for (let r = 0; r < rows; r++) {
      const e = info + <usize>r * ENTRY;
      const iy = iy0 + load<i32>(e, 4), ix = ix0 + load<i32>(e, 8);
      if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
      const dst = at + <usize>load<i32>(e) * 4;
      store<f32>(dst, load<f32>(dst) + load<f32>(tile + <usize>(r * PANEL + l) * 4));
    }
  }
}
