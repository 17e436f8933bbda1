// Winograd F(2x2, 5x5) convolution (5x5 kernel, stride 1, dilation 1, one group, zero padding):
// each 2x2 block of outputs (a "tile") comes from a 6x6 input patch (tiles overlap by 4) with
// 36 multiplies per input channel instead of 100 (Lavin & Gray's construction; interpolation
// points below):
//   Y = A^T [ sum_c (G g G^T) .* (B^T d B) ] A,
// so at each of the 36 positions xi of the 6x6 transform domain the channel sum is a GEMM,
// M[xi] = U[xi] [O, C] @ V[xi] [C, tiles]. The backward pass runs the adjoints of the same maps:
// dM = A dY A^T; the input gradient dV[xi] = U[xi]^T @ dM[xi], then B dV B^T added into the
// (overlapping) patches; the weight gradient dU[xi] = dM[xi] @ V[xi]^T summed over the tiles,
// then G^T dU G. The GEMMs run on gemm.ts's register tile over panels that the transforms write
// directly. src/backend/wasm/winograd.ts stages the operands and sizes every buffer.
//
// The transforms work on 4-lane vectors: 4 tiles at once for the input and output sides (4
// neighbouring tiles read 12 neighbouring input values per patch row), 4 kernels at once for the
// weight side. Tiles are numbered (sample, tile row, tile column) within a task of whole samples,
// which goes through them in chunks that fit its share's buffers.
import { gemmTile, gemmTileAdd, gemmTranspose4 } from "./gemm";
import { madd } from "./simd";

// @ts-ignore: decorator
@inline const VEC: usize = 16;
/** Positions of the 6x6 transform domain. */
// @ts-ignore: decorator
@inline const XI: i32 = 36;
/** Bytes of 36 vectors: one 6x6 block of a transform. */
// @ts-ignore: decorator
@inline const BLOCK: usize = 576;

// A share's transform scratch (bytes from its start): gathered values, a transform's first-pass
// results, four transformed blocks to transpose, and a Tile.
// @ts-ignore: decorator
@inline const GATHERED: usize = 0;
// @ts-ignore: decorator
@inline const MID: usize = BLOCK;
// @ts-ignore: decorator
@inline const STAGED: usize = 2 * BLOCK;
// @ts-ignore: decorator
@inline const TILE: usize = 6 * BLOCK;

/** Bytes of transform scratch one share needs (at the start of its buffer). */
export function winogradScratchBytes(): i32 {
  return <i32>(TILE + 64);
}

// @ts-ignore: decorator
@inline function k(value: f32): v128 {
  return f32x4.splat(value);
}

// The 1-D transforms, written out to share subexpressions; each stores its outputs at dst + i *
// stride (bytes). The points 0, 1, -1, 2, -1/2, inf keep the transform domain's values smaller
// than 0, +-1, +-2, inf do, and with them the float32 GEMM's rounding: a third of the error (in
// forward outputs and both gradients; Barabasz et al., "Error analysis and improving the accuracy
// of Winograd convolution"). With each row of B^T scaled to small integers or halves:
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -1/2 1]
//   G   = [1 0 0 0 0; -1/6 (x5); 1/6 -1/6 1/6 -1/6 1/6; 1 2 4 8 16 /15; -16 8 -4 2 -1 /15; 0 0 0 0 1]
//   B^T = [1 3/2 -2 -3/2 1 0; 0 -2 -5 -1 2 0; 0 2 1 -5 2 0; 0 -1/2 -1 1/2 1 0; 0 2 -1 -2 1 0; 0 1 3/2 -2 -3/2 1]

/** B^T d: 6 input values to 6 transformed. */
// @ts-ignore: decorator
@inline function inputTransform(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, dst: usize, stride: usize): void {
  const c = f32x4.sub(d4, d2), e = f32x4.sub(d3, d1);
  const s = madd(k(-3), d3, f32x4.add(c, c)), t = madd(k(-3), d2, f32x4.add(e, e));
  v128.store(dst, madd(k(-1.5), e, madd(k(-2), d2, f32x4.add(d0, d4))));
  v128.store(dst + stride, f32x4.add(s, t));
  v128.store(dst + 2 * stride, f32x4.sub(s, t));
  v128.store(dst + 3 * stride, madd(k(0.5), e, c));
  v128.store(dst + 4 * stride, madd(k(-2), e, c));
  v128.store(dst + 5 * stride, madd(k(-1.5), c, madd(k(-2), d3, f32x4.add(d1, d5))));
}

/** B v, the adjoint of inputTransform (its steps in reverse): 6 transformed gradients to 6 input gradients. */
// @ts-ignore: decorator
@inline function inputAdjoint(v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, dst: usize, stride: usize): void {
  const s = f32x4.add(v1, v2), t = f32x4.sub(v1, v2);
  const c = madd(k(2), s, madd(k(-1.5), v5, f32x4.add(v3, v4)));
  const e = madd(k(2), t, madd(k(-2), v4, madd(k(0.5), v3, f32x4.mul(k(-1.5), v0))));
  v128.store(dst, v0);
  v128.store(dst + stride, f32x4.sub(v5, e));
  v128.store(dst + 2 * stride, f32x4.sub(madd(k(-2), v0, f32x4.mul(k(-3), t)), c));
  v128.store(dst + 3 * stride, madd(k(-2), v5, madd(k(-3), s, e)));
  v128.store(dst + 4 * stride, f32x4.add(v0, c));
  v128.store(dst + 5 * stride, v5);
}

/** A^T m: 6 products to the tile's 2 outputs. */
// @ts-ignore: decorator
@inline function outputTransform(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, dst: usize, stride: usize): void {
  const p = f32x4.add(m1, m2), q = f32x4.sub(m1, m2);
  v128.store(dst, f32x4.add(f32x4.add(m0, p), f32x4.add(m3, m4)));
  v128.store(dst + stride, f32x4.add(q, madd(k(2), m3, madd(k(-0.5), m4, m5))));
}

/** A y, the adjoint of outputTransform: 2 output gradients to 6 product gradients. */
// @ts-ignore: decorator
@inline function outputAdjoint(y0: v128, y1: v128, dst: usize, stride: usize): void {
  v128.store(dst, y0);
  v128.store(dst + stride, f32x4.add(y0, y1));
  v128.store(dst + 2 * stride, f32x4.sub(y0, y1));
  v128.store(dst + 3 * stride, madd(k(2), y1, y0));
  v128.store(dst + 4 * stride, madd(k(-0.5), y1, y0));
  v128.store(dst + 5 * stride, y1);
}

/** G g: 5 kernel values to 6 transformed. */
// @ts-ignore: decorator
@inline function weightTransform(g0: v128, g1: v128, g2: v128, g3: v128, g4: v128, dst: usize, stride: usize): void {
  const even = f32x4.add(f32x4.add(g0, g2), g4), odd = f32x4.add(g1, g3);
  // The kernel polynomial at 2 (times 16) and at -1/2 (times -16), over 15.
  const atTwo = madd(k(2), madd(k(2), madd(k(2), madd(k(2), g4, g3), g2), g1), g0);
  const atMinusHalf = madd(k(-2), madd(k(-2), madd(k(-2), madd(k(-2), g0, g1), g2), g3), g4);
  v128.store(dst, g0);
  v128.store(dst + stride, f32x4.mul(k(-1.0 / 6), f32x4.add(even, odd)));
  v128.store(dst + 2 * stride, f32x4.mul(k(1.0 / 6), f32x4.sub(even, odd)));
  v128.store(dst + 3 * stride, f32x4.mul(k(1.0 / 15), atTwo));
  v128.store(dst + 4 * stride, f32x4.mul(k(-1.0 / 15), atMinusHalf));
  v128.store(dst + 5 * stride, g4);
}

/** G^T u, the adjoint of weightTransform: 6 transformed gradients to 5 kernel gradients. */
// @ts-ignore: decorator
@inline function weightAdjoint(u0: v128, u1: v128, u2: v128, u3: v128, u4: v128, u5: v128, dst: usize, stride: usize): void {
  const p = f32x4.mul(k(-1.0 / 6), f32x4.add(u1, u2)), q = f32x4.mul(k(1.0 / 6), f32x4.sub(u2, u1));
  const a = f32x4.mul(k(1.0 / 15), u3), b = f32x4.mul(k(1.0 / 15), u4);
  v128.store(dst, madd(k(-16), b, f32x4.add(f32x4.add(u0, q), a)));
  v128.store(dst + stride, madd(k(8), b, madd(k(2), a, p)));
  v128.store(dst + 2 * stride, madd(k(4), f32x4.sub(a, b), q));
  v128.store(dst + 3 * stride, madd(k(2), b, madd(k(8), a, p)));
  v128.store(dst + 4 * stride, f32x4.add(madd(k(16), a, f32x4.sub(q, b)), u5));
}

// @ts-ignore: decorator
@inline function at(base: usize, i: i32, stride: usize): v128 {
  return v128.load(base + <usize>i * stride);
}

/**
 * The args block of winogradForward and winogradBackward (i32 fields; pointers, offsets and the
 * buffers' strides in bytes, the operands' strides in elements), read in place.
 */
class Problem {
  x: usize; xsN: i32; xsC: i32; xsH: i32; xsW: i32; // 0-4: the input [N, C, H, W]
  y: usize; ysN: i32; ysO: i32; ysH: i32; ysW: i32; // 5-9: the output (forward) or its gradient (backward) [N, O, outH, outW]
  batch: i32; channels: i32; h: i32; w: i32; padH: i32; padW: i32; outHeight: i32; outWidth: i32; outChannels: i32; // 10-18
  weight: usize; // 19: the transformed weight's GEMM panels (winogradWeights): U forward, U^T backward (0: no input gradient)
  bias: usize; // 20: forward: the bias [O] or 0
  inputGrad: usize; // 21: backward: the input gradient [N, C, H, W] contiguous, or 0
  partials: usize; // 22: backward: per-share weight and bias gradient partials (partialFloats each), or 0
  partialFloats: i32; // 23
  wantWeight: i32; // 24: backward: 1 when the weight gradient is wanted (else the partials hold only bias sums)
  samples: i32; // 25: samples per task
  buffers: usize; // 26: the shares' buffers, bufferBytes each (transform scratch first)
  bufferBytes: i32; // 27
  vAt: i32; // 28: offsets in a share's buffer: the transformed input's panels,
  tilesAt: i32; // 29: one channel group's GEMM tiles (forward M, backward dV),
  dmAt: i32; // 30: backward: dM as the input gradient GEMM's panels,
  dmtAt: i32; // 31: backward: dM^T as the weight gradient GEMM's panels,
  quadsAt: i32; // 32: the chunk's quad table (describeQuads)
  chunkTiles: i32; // 33: tiles per chunk (a multiple of 8; the buffers hold one chunk)
  vStride: i32; // 34: bytes between positions xi in the transformed input's panels,
  tileStride: i32; // 35: in the GEMM tiles,
  dmStride: i32; // 36: in dM's panels,
  dmtStride: i32; // 37: in dM^T's panels (each an odd number of cache lines, so that a position's 36 lines spread over the cache's sets)
}

/**
 * Where tile j of a task is: its sample, first output row and column; and, in a task's quad table
 * (one entry per 4 tiles, describeQuads), whether tiles j..j+3 all exist and lie in one tile row.
 */
class Tile {
  sample: i32; oy: i32; ox: i32; oneRow: i32;
}

// @ts-ignore: decorator
@inline function tileColumns(p: Problem): i32 {
  return (p.outWidth + 1) >> 1;
}

// @ts-ignore: decorator
@inline function tilesPerSample(p: Problem): i32 {
  return ((p.outHeight + 1) >> 1) * tileColumns(p);
}

/** Tile j's coordinates, written to `tile`; whether it and the next 3 lie in one tile row. */
// @ts-ignore: decorator
@inline function locate(p: Problem, j: i32, tile: Tile): bool {
  const columns = tileColumns(p), perSample = tilesPerSample(p);
  const s = j / perSample, within = j - s * perSample;
  const ty = within / columns, tx = within - ty * columns;
  tile.sample = s;
  tile.oy = 2 * ty;
  tile.ox = 2 * tx;
  return tx + 4 <= columns;
}

/** The quad table of a chunk's tiles [first, end) (16 bytes per 4 tiles), so that no quad divides to find its tiles. */
function describeQuads(p: Problem, first: i32, end: i32, table: usize): void {
  for (let j = first; j < end; j += 4) {
    const quad = changetype<Tile>(table + <usize>(j - first) * 4);
    quad.oneRow = locate(p, j, quad) && j + 4 <= end ? 1 : 0;
  }
}

/**
 * Channel c's input transform for tiles [j, j + 4) of a task (samples from n0; tiles from `end`
 * on read zeros; `quad`: their quad table entry): V[xi] as a vector of the 4 tiles at dst + xi * xiStride.
 */
function inputQuad(p: Problem, n0: i32, j: i32, end: i32, quad: Tile, c: i32, work: usize, dst: usize, xiStride: usize): void {
  const mid = work + MID;
  const iy0 = quad.oy - p.padH, ix0 = quad.ox - p.padW;
  if (quad.oneRow != 0 && p.xsW == 1 && iy0 >= 0 && iy0 + 6 <= p.h && ix0 >= 0 && ix0 + 12 <= p.w) {
    // The 4 patches' rows are 12 neighbouring values: lane t of d[k] is value 2t + k.
    let row = p.x + <usize>((n0 + quad.sample) * p.xsN + c * p.xsC + iy0 * p.xsH + ix0) * 4;
    const rowStep = <usize>p.xsH * 4;
    for (let r = 0; r < 6; r++) {
      const l0 = v128.load(row), l2 = v128.load(row, 8), l4 = v128.load(row, 16), l6 = v128.load(row, 24), l8 = v128.load(row, 32);
      inputTransform(
        i32x4.shuffle(l0, l4, 0, 2, 4, 6), i32x4.shuffle(l0, l4, 1, 3, 5, 7),
        i32x4.shuffle(l2, l6, 0, 2, 4, 6), i32x4.shuffle(l2, l6, 1, 3, 5, 7),
        i32x4.shuffle(l4, l8, 0, 2, 4, 6), i32x4.shuffle(l4, l8, 1, 3, 5, 7),
        mid + <usize>r * 6 * VEC, VEC);
      row += rowStep;
    }
  } else {
    const gathered = work + GATHERED, tile = changetype<Tile>(work + TILE);
    for (let t = 0; t < 4; t++) {
      const valid = j + t < end;
      if (valid) locate(p, j + t, tile);
      const y0 = tile.oy - p.padH, x0 = tile.ox - p.padW;
      const plane = p.x + <usize>((n0 + tile.sample) * p.xsN + c * p.xsC) * 4;
      for (let r = 0; r < 6; r++) {
        const iy = y0 + r;
        for (let kk = 0; kk < 6; kk++) {
          const ix = x0 + kk;
          const inside = valid && iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
          store<f32>(gathered + <usize>(r * 6 + kk) * VEC + <usize>t * 4, inside ? load<f32>(plane + <usize>(iy * p.xsH + ix * p.xsW) * 4) : 0);
        }
      }
    }
    for (let r = 0; r < 6; r++) {
      const g = gathered + <usize>r * 6 * VEC;
      inputTransform(at(g, 0, VEC), at(g, 1, VEC), at(g, 2, VEC), at(g, 3, VEC), at(g, 4, VEC), at(g, 5, VEC), mid + <usize>r * 6 * VEC, VEC);
    }
  }
  // Columns: V[i][kk] = (B^T column kk)[i], at position xi = 6 i + kk.
  const rowStride = 6 * VEC;
  for (let kk = 0; kk < 6; kk++) {
    const col = mid + <usize>kk * VEC;
    inputTransform(at(col, 0, rowStride), at(col, 1, rowStride), at(col, 2, rowStride), at(col, 3, rowStride), at(col, 4, rowStride), at(col, 5, rowStride), dst + <usize>kk * xiStride, 6 * xiStride);
  }
}

/**
 * Output channel o of tiles [j, j + 4) from their products M[xi] (vectors of the 4 tiles at src
 * + xi * xiStride): A^T M A plus the bias, into the output (outputs past its edge dropped).
 */
function outputQuad(p: Problem, n0: i32, j: i32, end: i32, quad: Tile, o: i32, src: usize, xiStride: usize, work: usize): void {
  const mid = work + MID, y = work + GATHERED;
  for (let i = 0; i < 6; i++) {
    const row = src + <usize>(6 * i) * xiStride;
    outputTransform(at(row, 0, xiStride), at(row, 1, xiStride), at(row, 2, xiStride), at(row, 3, xiStride), at(row, 4, xiStride), at(row, 5, xiStride), mid + <usize>i * VEC, 6 * VEC);
  }
  const bias = p.bias != 0 ? v128.load32_splat(p.bias + <usize>o * 4) : k(0);
  // y[a][b] at y + (2 a + b) * VEC.
  for (let b = 0; b < 2; b++) {
    const col = mid + <usize>b * 6 * VEC;
    outputTransform(at(col, 0, VEC), at(col, 1, VEC), at(col, 2, VEC), at(col, 3, VEC), at(col, 4, VEC), at(col, 5, VEC), y + <usize>b * VEC, 2 * VEC);
  }
  const y00 = f32x4.add(v128.load(y), bias), y01 = f32x4.add(v128.load(y, 16), bias);
  const y10 = f32x4.add(v128.load(y, 32), bias), y11 = f32x4.add(v128.load(y, 48), bias);
  if (quad.oneRow != 0 && p.ysW == 1 && quad.oy + 2 <= p.outHeight && quad.ox + 8 <= p.outWidth) {
    // The 4 tiles' rows are 8 neighbouring outputs: interleave the tiles' two columns.
    const row = p.y + <usize>((n0 + quad.sample) * p.ysN + o * p.ysO + quad.oy * p.ysH + quad.ox) * 4;
    const next = row + <usize>p.ysH * 4;
    v128.store(row, i32x4.shuffle(y00, y01, 0, 4, 1, 5));
    v128.store(row, i32x4.shuffle(y00, y01, 2, 6, 3, 7), 16);
    v128.store(next, i32x4.shuffle(y10, y11, 0, 4, 1, 5));
    v128.store(next, i32x4.shuffle(y10, y11, 2, 6, 3, 7), 16);
    return;
  }
  v128.store(y, y00);
  v128.store(y, y01, 16);
  v128.store(y, y10, 32);
  v128.store(y, y11, 48);
  const tile = changetype<Tile>(work + TILE);
  for (let t = 0; t < 4 && j + t < end; t++) {
    locate(p, j + t, tile);
    const plane = p.y + <usize>((n0 + tile.sample) * p.ysN + o * p.ysO) * 4;
    for (let a = 0; a < 2; a++) {
      const oy = tile.oy + a;
      for (let b = 0; b < 2; b++) {
        const ox = tile.ox + b;
        if (oy < p.outHeight && ox < p.outWidth) store<f32>(plane + <usize>(oy * p.ysH + ox * p.ysW) * 4, load<f32>(y + <usize>(2 * a + b) * VEC + <usize>t * 4));
      }
    }
  }
}

/**
 * dM = A dY A^T of output channel o for tiles [j, j + 4) (outputs past the output's edge and
 * tiles from `end` on read zeros): vectors of the 4 tiles at dst + xi * xiStride.
 */
function gradientQuad(p: Problem, n0: i32, j: i32, end: i32, quad: Tile, o: i32, work: usize, dst: usize, xiStride: usize): void {
  const mid = work + MID, y = work + GATHERED;
  let y00: v128, y01: v128, y10: v128, y11: v128;
  const wholeRows = quad.oneRow != 0 && quad.oy + 2 <= p.outHeight && quad.ox + 8 <= p.outWidth;
  // The 4 tiles' rows are 8 neighbouring gradients: lane t of y[a][b] is value 2t + b of row a.
  const row = p.y + <usize>((n0 + quad.sample) * p.ysN + o * p.ysO + quad.oy * p.ysH + quad.ox * p.ysW) * 4;
  const next = row + <usize>p.ysH * 4;
  if (wholeRows && p.ysW == 1) {
    const a0 = v128.load(row), a1 = v128.load(row, 16), b0 = v128.load(next), b1 = v128.load(next, 16);
    y00 = i32x4.shuffle(a0, a1, 0, 2, 4, 6);
    y01 = i32x4.shuffle(a0, a1, 1, 3, 5, 7);
    y10 = i32x4.shuffle(b0, b1, 0, 2, 4, 6);
    y11 = i32x4.shuffle(b0, b1, 1, 3, 5, 7);
  } else {
    // y[a][b] at y + (2 a + b) * VEC, gathered value by value.
    if (wholeRows) {
      // A strided or broadcast gradient (sum().backward()): the same values, one at a time.
      const step = <usize>p.ysW * 4;
      for (let t = 0; t < 4; t++) {
        for (let b = 0; b < 2; b++) {
          const at = <usize>(2 * t + b) * step;
          store<f32>(y + <usize>b * VEC + <usize>t * 4, load<f32>(row + at));
          store<f32>(y + <usize>(2 + b) * VEC + <usize>t * 4, load<f32>(next + at));
        }
      }
    } else {
      gatherGradientTiles(p, n0, j, end, o, work, y);
    }
    y00 = v128.load(y);
    y01 = v128.load(y, 16);
    y10 = v128.load(y, 32);
    y11 = v128.load(y, 48);
  }
  // Rows a: z[a][kk] at mid + (6 a + kk) * VEC; then columns kk: dM[i][kk] at xi = 6 i + kk.
  outputAdjoint(y00, y01, mid, VEC);
  outputAdjoint(y10, y11, mid + 6 * VEC, VEC);
  for (let kk = 0; kk < 6; kk++) {
    outputAdjoint(at(mid, kk, VEC), at(mid, 6 + kk, VEC), dst + <usize>kk * xiStride, 6 * xiStride);
  }
}

/** The output gradients of tiles [j, j + 4) into y[a][b] at y + (2 a + b) * VEC (zeros past the output's edge and from `end` on). */
function gatherGradientTiles(p: Problem, n0: i32, j: i32, end: i32, o: i32, work: usize, y: usize): void {
  const tile = changetype<Tile>(work + TILE);
  for (let t = 0; t < 4; t++) {
    const valid = j + t < end;
    if (valid) locate(p, j + t, tile);
    const plane = p.y + <usize>((n0 + tile.sample) * p.ysN + o * p.ysO) * 4;
    for (let a = 0; a < 2; a++) {
      const oy = tile.oy + a;
      for (let b = 0; b < 2; b++) {
        const ox = tile.ox + b;
        const inside = valid && oy < p.outHeight && ox < p.outWidth;
        store<f32>(y + <usize>(2 * a + b) * VEC + <usize>t * 4, inside ? load<f32>(plane + <usize>(oy * p.ysH + ox * p.ysW) * 4) : 0);
      }
    }
  }
}

/**
 * Channel c's input gradient from tiles [j, j + 4) (dV[xi] as vectors of the 4 tiles at src +
 * xi * xiStride): B dV B^T added into the input gradient's patches (tiles from `end` on skipped,
 * values in the padding dropped).
 */
function inputGradientQuad(p: Problem, n0: i32, j: i32, end: i32, quad: Tile, c: i32, src: usize, xiStride: usize, work: usize): void {
  const mid = work + MID, dd = work + GATHERED;
  // Columns kk: s[r][kk] at mid + (6 r + kk) * VEC.
  for (let kk = 0; kk < 6; kk++) {
    const col = src + <usize>kk * xiStride;
    const step: usize = 6 * xiStride;
    inputAdjoint(at(col, 0, step), at(col, 1, step), at(col, 2, step), at(col, 3, step), at(col, 4, step), at(col, 5, step), mid + <usize>kk * VEC, 6 * VEC);
  }
  const plane = <usize>(p.h * p.w);
  const iy0 = quad.oy - p.padH, ix0 = quad.ox - p.padW;
  if (quad.oneRow != 0 && iy0 >= 0 && iy0 + 6 <= p.h && ix0 >= 0 && ix0 + 12 <= p.w) {
    // Each patch row's 6 gradients per tile sum into 12 neighbouring values: lane t of dd[kk]
    // goes to value 2t + kk; evens and odds summed in registers, then interleaved.
    let row = p.inputGrad + (<usize>((n0 + quad.sample) * p.channels + c) * plane + <usize>(iy0 * p.w + ix0)) * 4;
    const zero = k(0);
    for (let r = 0; r < 6; r++) {
      const s = mid + <usize>r * 6 * VEC;
      inputAdjoint(at(s, 0, VEC), at(s, 1, VEC), at(s, 2, VEC), at(s, 3, VEC), at(s, 4, VEC), at(s, 5, VEC), dd, VEC);
      const d0 = v128.load(dd), d1 = v128.load(dd, 16), d2 = v128.load(dd, 32), d3 = v128.load(dd, 48), d4 = v128.load(dd, 64), d5 = v128.load(dd, 80);
      const evenLo = f32x4.add(f32x4.add(d0, i32x4.shuffle(zero, d2, 0, 4, 5, 6)), i32x4.shuffle(zero, d4, 0, 1, 4, 5));
      const evenHi = f32x4.add(i32x4.shuffle(d2, zero, 3, 4, 4, 4), i32x4.shuffle(d4, zero, 2, 3, 4, 4));
      const oddLo = f32x4.add(f32x4.add(d1, i32x4.shuffle(zero, d3, 0, 4, 5, 6)), i32x4.shuffle(zero, d5, 0, 1, 4, 5));
      const oddHi = f32x4.add(i32x4.shuffle(d3, zero, 3, 4, 4, 4), i32x4.shuffle(d5, zero, 2, 3, 4, 4));
      v128.store(row, f32x4.add(v128.load(row), i32x4.shuffle(evenLo, oddLo, 0, 4, 1, 5)));
      v128.store(row, f32x4.add(v128.load(row, 16), i32x4.shuffle(evenLo, oddLo, 2, 6, 3, 7)), 16);
      v128.store(row, f32x4.add(v128.load(row, 32), i32x4.shuffle(evenHi, oddHi, 0, 4, 1, 5)), 32);
      row += <usize>p.w * 4;
    }
    return;
  }
  // dd[r][kk] at dd + (6 r + kk) * VEC, then added value by value.
  for (let r = 0; r < 6; r++) {
    const s = mid + <usize>r * 6 * VEC;
    inputAdjoint(at(s, 0, VEC), at(s, 1, VEC), at(s, 2, VEC), at(s, 3, VEC), at(s, 4, VEC), at(s, 5, VEC), dd + <usize>r * 6 * VEC, VEC);
  }
  const tile = changetype<Tile>(work + TILE);
  for (let t = 0; t < 4 && j + t < end; t++) {
    locate(p, j + t, tile);
    const y0 = tile.oy - p.padH, x0 = tile.ox - p.padW;
    const out = p.inputGrad + <usize>((n0 + tile.sample) * p.channels + c) * plane * 4;
    for (let r = 0; r < 6; r++) {
      const iy = y0 + r;
      if (iy < 0 || iy >= p.h) continue;
      for (let kk = 0; kk < 6; kk++) {
        const ix = x0 + kk;
        if (ix < 0 || ix >= p.w) continue;
        const to = out + <usize>(iy * p.w + ix) * 4;
        store<f32>(to, load<f32>(to) + load<f32>(dd + <usize>(r * 6 + kk) * VEC + <usize>t * 4));
      }
    }
  }
}

/** The sum of one output-gradient plane (the bias gradient's share of it). */
function planeSum(p: Problem, plane: usize): f32 {
  let sum4 = k(0);
  let sum: f32 = 0;
  for (let oy = 0; oy < p.outHeight; oy++) {
    const row = plane + <usize>(oy * p.ysH) * 4;
    let ox = 0;
    if (p.ysW == 1) {
      for (; ox + 4 <= p.outWidth; ox += 4) sum4 = f32x4.add(sum4, v128.load(row + <usize>ox * 4));
    }
    for (; ox < p.outWidth; ox++) sum += load<f32>(row + <usize>(ox * p.ysW) * 4);
  }
  return sum + f32x4.extract_lane(sum4, 0) + f32x4.extract_lane(sum4, 1) + f32x4.extract_lane(sum4, 2) + f32x4.extract_lane(sum4, 3);
}

/**
 * Transposes 4 rows of transformed blocks (rows: 4 channels, lanes: 4 tiles) position by
 * position: row r's vector at position xi is at src + r * rowStep + xi * xiStride; the 4 vectors
 * of the transpose (one per tile, lanes the 4 rows) go to dst + xi * dstStride + t * step.
 */
function transposeBlocks(src: usize, rowStep: usize, xiStride: usize, dst: usize, dstStride: usize, step: usize): void {
  for (let xi = 0; xi < XI; xi++) {
    const s = src + <usize>xi * xiStride;
    gemmTranspose4(v128.load(s), v128.load(s + rowStep), v128.load(s + 2 * rowStep), v128.load(s + 3 * rowStep), dst + <usize>xi * dstStride, step);
  }
}

/** Zeros for a row of transformed blocks with no channel (padding rows of the GEMM panels). */
// @ts-ignore: decorator
@inline function zeroBlock(dst: usize, xiStride: usize): void {
  for (let xi = 0; xi < XI; xi++) v128.store(dst + <usize>xi * xiStride, k(0));
}

/**
 * The weight transform U = G g G^T as GEMM panels of 4 kernels: for rows (lanes) r and columns
 * (K) q of a [rows, cols] grid of 5x5 kernels, U[xi][r][q] goes to dst + ((xi * rowGroups + r /
 * 4) * cols + q) * 4 + r % 4 floats, the layout of gemm.ts's packed rows (rows past the last
 * zero). Forward the rows are output channels and the columns input channels (U); the input
 * gradient transposes them (U^T). One group of 4 rows per task.
 * args: [weight, rowStride, colStride, kernelRowStride, kernelColStride (elements), rows, cols, dst, scratch (winogradScratchBytes per share)].
 */
export function winogradWeights(args: usize, tid: i32, nthreads: i32): void {
  const weight = <usize>load<u32>(args);
  const rowStride = load<i32>(args, 4), colStride = load<i32>(args, 8), kernelRowStride = load<i32>(args, 12), kernelColStride = load<i32>(args, 16);
  const rows = load<i32>(args, 20), cols = load<i32>(args, 24);
  const dst = <usize>load<u32>(args, 28);
  const work = <usize>load<u32>(args, 32) + <usize>tid * <usize>winogradScratchBytes();
  const gathered = work + GATHERED, mid = work + MID;
  const groups = (rows + 3) >> 2;
  const xiStride = <usize>(groups * cols) * VEC;
  for (let group = tid; group < groups; group += nthreads) {
    for (let q = 0; q < cols; q++) {
      // g[a][b] of the 4 kernels at gathered + (5 a + b) * VEC.
      for (let t = 0; t < 4; t++) {
        const r = 4 * group + t;
        const kernel = weight + <usize>(r * rowStride + q * colStride) * 4;
        for (let a = 0; a < 5; a++) {
          for (let b = 0; b < 5; b++) {
            store<f32>(gathered + <usize>(5 * a + b) * VEC + <usize>t * 4, r < rows ? load<f32>(kernel + <usize>(a * kernelRowStride + b * kernelColStride) * 4) : 0);
          }
        }
      }
      // Rows a: t[a][kk] at mid + (6 a + kk) * VEC; then columns kk: U[i][kk] at xi = 6 i + kk.
      for (let a = 0; a < 5; a++) {
        const g = gathered + <usize>(5 * a) * VEC;
        weightTransform(at(g, 0, VEC), at(g, 1, VEC), at(g, 2, VEC), at(g, 3, VEC), at(g, 4, VEC), mid + <usize>(6 * a) * VEC, VEC);
      }
      const out = dst + <usize>(group * cols + q) * VEC;
      for (let kk = 0; kk < 6; kk++) {
        const col = mid + <usize>kk * VEC;
        weightTransform(at(col, 0, 6 * VEC), at(col, 1, 6 * VEC), at(col, 2, 6 * VEC), at(col, 3, 6 * VEC), at(col, 4, 6 * VEC), out + <usize>kk * xiStride, 6 * xiStride);
      }
    }
  }
}

/**
 * Winograd convolution forward, one share, in tasks of `samples` samples, each in chunks of at
 * most `chunkTiles` tiles. A chunk's input patches are transformed into GEMM panels (V[xi], [C,
 * tiles] in 8-tile panels); then for each group of 4 output channels U[xi] @ V[xi] at every
 * position goes into a few register tiles (in L1), transformed back into the output with the
 * bias. args: Problem.
 */
export function winogradForward(args: usize, tid: i32, nthreads: i32): void {
  const p = changetype<Problem>(args);
  const buffer = p.buffers + <usize>tid * <usize>p.bufferBytes;
  const work = buffer, v = buffer + <usize>p.vAt, m = buffer + <usize>p.tilesAt, quads = buffer + <usize>p.quadsAt;
  const channels = p.channels, outChannels = p.outChannels;
  const groups = (outChannels + 3) >> 2;
  // V(xi, chunk tile j, channel c) at v + xi * vStride + ((j / 8) * C + c) * 8 + j % 8 floats;
  // M(xi, o % 4, j) of one channel group at m + xi * tileStride + (j / 8) * 32 + (o % 4) * 8 + j % 8.
  const vStride = <usize>p.vStride, mStride = <usize>p.tileStride;
  const tasks = (p.batch + p.samples - 1) / p.samples;
  for (let task = tid; task < tasks; task += nthreads) {
    const n0 = task * p.samples;
    const count = min(p.samples, p.batch - n0) * tilesPerSample(p);
    for (let first = 0; first < count; first += p.chunkTiles) {
      const end = min(count, first + p.chunkTiles), size = end - first;
      describeQuads(p, first, end, quads);
      for (let j = 0; j < size; j += 4) {
        const quad = changetype<Tile>(quads + <usize>j * 4);
        const panel = v + <usize>(((j >> 3) * channels) * 8 + (j & 7)) * 4;
        for (let c = 0; c < channels; c++) inputQuad(p, n0, first + j, end, quad, c, work, panel + <usize>c * 32, vStride);
      }
      const panels = (size + 7) >> 3;
      for (let group = 0; group < groups; group++) {
        for (let xi = 0; xi < XI; xi++) {
          const a = p.weight + <usize>((xi * groups + group) * channels) * VEC;
          const b = v + <usize>xi * vStride, tiles = m + <usize>xi * mStride;
          for (let q = 0; q < panels; q++) gemmTile(channels, a, b + <usize>(q * channels) * 32, tiles + <usize>q * 128);
        }
        for (let j = 0; j < size; j += 4) {
          const quad = changetype<Tile>(quads + <usize>j * 4);
          for (let o = 4 * group; o < min(outChannels, 4 * group + 4); o++) {
            outputQuad(p, n0, first + j, end, quad, o, m + <usize>((j >> 3) * 32 + (o & 3) * 8 + (j & 7)) * 4, mStride, work);
          }
        }
      }
    }
  }
}

// The backward pass's chunk buffers (in a share's buffer; j counts the chunk's tiles, maxTiles =
// chunkTiles, paddedOut = O rounded up to 8; each position xi at its region's stride):
//   dM(xi, o, j) at dm + xi * dmStride + ((j / 8) * paddedOut + o) * 8 + j % 8 floats,
//     the input gradient GEMM's panels (8 tiles wide, K = O);
//   dM^T(xi, j, o) at dmt + xi * dmtStride + ((o / 8) * maxTiles + j) * 8 + o % 8,
//     the weight gradient GEMM's panels (8 channels wide, K = tiles);
//   V(xi, c, j) at v + xi * vStride + ((c / 4) * maxTiles + j) * 4 + c % 4,
//     the weight gradient GEMM's row panels (4 channels tall, K = tiles);
//   dV(xi, c % 4, j) of one input channel group at tiles + xi * tileStride + (j / 8) * 32 + (c % 4) * 8 + j % 8.
// A share's partial holds dU^T(xi, c, o) at (xi * inGroups * 4 + c) * paddedOut + o, then the bias sums [paddedOut].

// @ts-ignore: decorator
@inline function paddedOut(p: Problem): i32 {
  return ((p.outChannels + 7) >> 3) * 8;
}

/**
 * dM = A dY A^T for a chunk's tiles [first, end): into the dM panels when the input gradient is
 * wanted, and transposed into the dM^T panels when the weight gradient is; 8 output channels
 * (one dM^T panel) at a time, so that every line written stays in L1 until it is full.
 */
function gradientChunk(p: Problem, buffer: usize, n0: i32, first: i32, end: i32): void {
  const work = buffer, staged = buffer + STAGED, quads = buffer + <usize>p.quadsAt;
  const dm = buffer + <usize>p.dmAt, dmt = buffer + <usize>p.dmtAt;
  const wantInput = p.inputGrad != 0, wantWeight = p.wantWeight != 0;
  const padded = paddedOut(p), maxTiles = p.chunkTiles;
  const dmStride = <usize>p.dmStride, dmtStride = <usize>p.dmtStride;
  // Without the input gradient, dM goes through the staged blocks.
  const rowStep: usize = wantInput ? 32 : BLOCK, xiStride = wantInput ? dmStride : VEC;
  for (let o0 = 0; o0 < padded; o0 += 8) {
    for (let j = 0; j < end - first; j += 4) {
      const quad = changetype<Tile>(quads + <usize>j * 4);
      for (let half = 0; half < 8; half += 4) {
        const rows = wantInput ? dm + <usize>(((j >> 3) * padded + o0 + half) * 8 + (j & 7)) * 4 : staged;
        for (let t = 0; t < 4; t++) {
          const o = o0 + half + t;
          if (o < p.outChannels) gradientQuad(p, n0, first + j, end, quad, o, work, rows + <usize>t * rowStep, xiStride);
          else zeroBlock(rows + <usize>t * rowStep, xiStride);
        }
        if (wantWeight) transposeBlocks(rows, rowStep, xiStride, dmt + <usize>(((o0 >> 3) * maxTiles + j) * 8 + half) * 4, dmtStride, 32);
      }
    }
  }
}

/** The weight gradient of a chunk's tiles [first, end): V[xi] into its row panels, then V[xi] @ dM[xi]^T added into the share's partial. */
function weightChunk(p: Problem, buffer: usize, n0: i32, first: i32, end: i32, partial: usize): void {
  const work = buffer, staged = buffer + STAGED, quads = buffer + <usize>p.quadsAt;
  const v = buffer + <usize>p.vAt, dmt = buffer + <usize>p.dmtAt;
  const inGroups = (p.channels + 3) >> 2, padded = paddedOut(p), maxTiles = p.chunkTiles;
  const vStride = <usize>p.vStride, dmtStride = <usize>p.dmtStride;
  const size = end - first;
  for (let j = 0; j < size; j += 4) {
    const quad = changetype<Tile>(quads + <usize>j * 4);
    for (let group = 0; group < inGroups; group++) {
      for (let t = 0; t < 4; t++) {
        const c = 4 * group + t, block = staged + <usize>t * BLOCK;
        if (c < p.channels) inputQuad(p, n0, first + j, end, quad, c, work, block, VEC);
        else zeroBlock(block, VEC);
      }
      transposeBlocks(staged, BLOCK, VEC, v + <usize>((group * maxTiles + j) * 4) * 4, vStride, 16);
    }
  }
  // K = the chunk's tiles, whole quads (the tiles past `end` are zeros).
  const k = (size + 3) & ~3, ld = <usize>padded * 4;
  for (let xi = 0; xi < XI; xi++) {
    for (let group = 0; group < inGroups; group++) {
      const a = v + <usize>xi * vStride + <usize>(group * maxTiles) * 16;
      const out = partial + <usize>((xi * inGroups + group) * 4) * ld;
      for (let q = 0; q < padded >> 3; q++) gemmTileAdd(k, a, dmt + <usize>xi * dmtStride + <usize>(q * maxTiles) * 32, out + <usize>q * 32, ld);
    }
  }
}

/** The input gradient of a chunk's tiles [first, end): U[xi]^T @ dM[xi] one group of 4 input channels at a time, transformed and added into the input gradient. */
function inputGradientChunk(p: Problem, buffer: usize, n0: i32, first: i32, end: i32): void {
  const work = buffer, quads = buffer + <usize>p.quadsAt;
  const dm = buffer + <usize>p.dmAt, tiles = buffer + <usize>p.tilesAt;
  const inGroups = (p.channels + 3) >> 2, padded = paddedOut(p);
  const dmStride = <usize>p.dmStride, tileStride = <usize>p.tileStride;
  const size = end - first, panels = (size + 7) >> 3;
  for (let group = 0; group < inGroups; group++) {
    for (let xi = 0; xi < XI; xi++) {
      const a = p.weight + <usize>((xi * inGroups + group) * p.outChannels) * VEC;
      const b = dm + <usize>xi * dmStride, out = tiles + <usize>xi * tileStride;
      for (let q = 0; q < panels; q++) gemmTile(p.outChannels, a, b + <usize>(q * padded) * 32, out + <usize>q * 128);
    }
    for (let j = 0; j < size; j += 4) {
      const quad = changetype<Tile>(quads + <usize>j * 4);
      for (let c = 4 * group; c < min(p.channels, 4 * group + 4); c++) {
        inputGradientQuad(p, n0, first + j, end, quad, c, tiles + <usize>((j >> 3) * 32 + (c & 3) * 8 + (j & 7)) * 4, tileStride, work);
      }
    }
  }
}

/**
 * Winograd convolution backward, one share, in tasks of `samples` samples (whole samples, so no
 * two shares add into one input-gradient patch), each in chunks of at most `chunkTiles` tiles. A
 * task sums its bias gradient into the share's partial; then each chunk transforms its output
 * gradient (gradientChunk), adds its weight gradient into the share's partial (weightChunk;
 * winogradWeightGrad sums the partials and transforms them back) and its input gradient into
 * the task's zeroed samples (inputGradientChunk). args: Problem.
 */
export function winogradBackward(args: usize, tid: i32, nthreads: i32): void {
  const p = changetype<Problem>(args);
  const buffer = p.buffers + <usize>tid * <usize>p.bufferBytes;
  const partial = p.partials != 0 ? p.partials + <usize>tid * <usize>p.partialFloats * 4 : 0;
  const biasSums = partial + <usize>(XI * ((p.channels + 3) >> 2) * 4 * paddedOut(p)) * 4;
  if (partial != 0) memory.fill(partial, 0, <usize>p.partialFloats * 4);
  const tasks = (p.batch + p.samples - 1) / p.samples;
  for (let task = tid; task < tasks; task += nthreads) {
    const n0 = task * p.samples;
    const samples = min(p.samples, p.batch - n0);
    if (partial != 0) {
      for (let s = 0; s < samples; s++) {
        for (let o = 0; o < p.outChannels; o++) {
          const plane = p.y + <usize>((n0 + s) * p.ysN + o * p.ysO) * 4;
          store<f32>(biasSums + <usize>o * 4, load<f32>(biasSums + <usize>o * 4) + planeSum(p, plane));
        }
      }
    }
    if (p.inputGrad != 0) {
      const sampleSize = <usize>(p.channels * p.h * p.w) * 4;
      memory.fill(p.inputGrad + <usize>n0 * sampleSize, 0, <usize>samples * sampleSize);
    }
    if (p.inputGrad == 0 && p.wantWeight == 0) continue;
    const count = samples * tilesPerSample(p);
    for (let first = 0; first < count; first += p.chunkTiles) {
      const end = min(count, first + p.chunkTiles);
      describeQuads(p, first, end, buffer + <usize>p.quadsAt);
      gradientChunk(p, buffer, n0, first, end);
      if (p.wantWeight != 0) weightChunk(p, buffer, n0, first, end, partial);
      if (p.inputGrad != 0) inputGradientChunk(p, buffer, n0, first, end);
    }
  }
}

/**
 * The weight and bias gradients from winogradBackward's per-share partials: the partials summed,
 * then dg = G^T dU G for each kernel, written to weightGrad [O, C, 5, 5] (4 output channels at a
 * time); the bias sums to biasGrad [O]. One input channel per task.
 * args: [partials, parts, partialFloats, channels, outChannels, weightGrad (0: none), biasGrad (0: none), scratch (winogradScratchBytes per share)].
 */
export function winogradWeightGrad(args: usize, tid: i32, nthreads: i32): void {
  const partials = <usize>load<u32>(args), parts = load<i32>(args, 4), partialFloats = load<i32>(args, 8);
  const channels = load<i32>(args, 12), outChannels = load<i32>(args, 16);
  const weightGrad = <usize>load<u32>(args, 20), biasGrad = <usize>load<u32>(args, 24);
  const work = <usize>load<u32>(args, 28) + <usize>tid * <usize>winogradScratchBytes();
  const summed = work + GATHERED, mid = work + MID, dg = work + STAGED;
  const paddedIn = ((channels + 3) >> 2) * 4, paddedOut = ((outChannels + 7) >> 3) * 8;
  const partBytes = <usize>partialFloats * 4;
  if (biasGrad != 0 && tid == 0) {
    const sums = partials + <usize>(XI * paddedIn * paddedOut) * 4;
    for (let o = 0; o < outChannels; o++) {
      let sum: f32 = 0;
      for (let part = 0; part < parts; part++) sum += load<f32>(sums + <usize>part * partBytes + <usize>o * 4);
      store<f32>(biasGrad + <usize>o * 4, sum);
    }
  }
  if (weightGrad == 0) return;
  const kernelSize = <usize>(channels * 25) * 4;
  for (let c = tid; c < channels; c += nthreads) {
    for (let o0 = 0; o0 < outChannels; o0 += 4) {
      // dU[xi] of output channels o0..o0+3 summed over the partials, at summed + xi * VEC.
      for (let xi = 0; xi < XI; xi++) {
        let from = partials + <usize>((xi * paddedIn + c) * paddedOut + o0) * 4;
        let sum = v128.load(from);
        for (let part = 1; part < parts; part++) {
          from += partBytes;
          sum = f32x4.add(sum, v128.load(from));
        }
        v128.store(summed + <usize>xi * VEC, sum);
      }
      // Rows i: s[i][b] at mid + (5 i + b) * VEC; then columns b: dg[a][b] at dg + (5 a + b) * VEC.
      for (let i = 0; i < 6; i++) {
        const row = summed + <usize>(6 * i) * VEC;
        weightAdjoint(at(row, 0, VEC), at(row, 1, VEC), at(row, 2, VEC), at(row, 3, VEC), at(row, 4, VEC), at(row, 5, VEC), mid + <usize>(5 * i) * VEC, VEC);
      }
      for (let b = 0; b < 5; b++) {
        const col = mid + <usize>b * VEC;
        weightAdjoint(at(col, 0, 5 * VEC), at(col, 1, 5 * VEC), at(col, 2, 5 * VEC), at(col, 3, 5 * VEC), at(col, 4, 5 * VEC), at(col, 5, 5 * VEC), dg + <usize>b * VEC, 5 * VEC);
      }
      const kernel = weightGrad + <usize>o0 * kernelSize + <usize>(c * 25) * 4;
      for (let t = 0; t < 4 && o0 + t < outChannels; t++) {
        const to = kernel + <usize>t * kernelSize;
        for (let e = 0; e < 25; e++) store<f32>(to + <usize>e * 4, load<f32>(dg + <usize>e * VEC + <usize>t * 4));
      }
    }
  }
}
