// The fused recurrence of one layer-direction of an RNN / GRU / LSTM, forward and
// back-propagation through time, with the state, the gates and the weights in linear memory for
// the whole sequence (src/nn/functional/recurrent.ts describes the math and
// src/backend/js/recurrent.ts is the reference this must match). The host
// (src/backend/wasm/recurrent.ts) stages each direction once and drives the time loop. Without
// projections a step is one threaded job (the *Gates kernels, fused): each share takes a block of
// hidden units and computes their columns of the step's GEMM (with gemm.ts's panels of the
// weight, packed once per call) and then their gates, so a step waits for its threads once. With
// projections, per step the `matmul` kernel computes the one GEMM for all gates and these kernels
// the rest in one SIMD pass over the gates, on the calling thread or split by batch rows across
// threads (rows are independent). Either way the bias gradients' sums over rows run in row
// order, so thread counts agree bit for bit. `args` (i32 fields, pointers in bytes, float32 data)
// is described at the forward and backward field lists.

import { gemmPrepackedColumns, gemmScratchBytes, NR } from "./gemm";

// Cell kinds, shared with src/backend/wasm/recurrent.ts.
const RNN_RELU = 1, GRU = 2, LSTM = 3; // 0: rnn_tanh

// --- 4-lane float32 math ------------------------------------------------------------------------

/** e^x, Cephes' expf: x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r, 2^n in the exponent bits. */
// @ts-ignore: decorator
@inline function vexp(x: v128): v128 {
  // Clamped so that 2^n stays a normal float (e^-87.3 ~ 1.2e-38; e^88.3 ~ 2.1e38).
  x = f32x4.max(f32x4.min(x, f32x4.splat(88.3)), f32x4.splat(-87.3));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

// @ts-ignore: decorator
@inline function vsigmoid(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(x))));
}

/** tanh(x) = 1 - 2 / (1 + e^{2x}): exactly +-1 in the tails, absolute error ~1e-7 near 0. */
// @ts-ignore: decorator
@inline function vtanh(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(one, vexp(f32x4.add(x, x)))));
}

/** Stores the first `n` lanes of v (all four when n >= 4): rows of width H % 4 != 0 end in a partial vector. */
// @ts-ignore: decorator
@inline function storeN(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}


/** dst[i] += src[i] for i < count. */
// @ts-ignore: decorator
@inline function addRow(dst: usize, src: usize, count: i32): void {
  for (let j = 0; j < count; j += 4) storeN(dst + <usize>j * 4, f32x4.add(v128.load(dst + <usize>j * 4), v128.load(src + <usize>j * 4)), count - j);
}

// @ts-ignore: decorator
@inline function zeroRow(dst: usize, count: i32): void {
  memory.fill(dst, 0, <usize>count * 4);
}

// --- forward ------------------------------------------------------------------------------------

/**
 * Forward fields:
 *  0 kind, 1 T, 2 B, 3 H, 4 P, 5 saving, 6 leak (f32),
 *  7 x [T, B, G*H] (input projections incl. b_ih), 8 w_hh [G*H, P] (read by the host's GEMM only;
 *  fused: its rows interleaved, see recurrentForwardFused), 9 b_hh [G*H] (zeros when absent),
 *  10 h [B, P] (h0 on entry, then the running state), 11 c [B, H] (likewise c0; LSTM),
 *  12 w_hr [P, H] or 0 (LSTM projections), 13 lengths (i32 [B]),
 *  14 out [T + S, B, H], 15 hPrev, 16 act, 17 extra, 18 cPrev, 19 hRaw (the reference's saved
 *  tensors, [T or 1, B, *]: without saving only slot 0 is used),
 *  20, 21 unused (the host's GEMMs read w_hh and w_hr as transposed views, packed once),
 *  22 hw [B, G*H] (the step's h W_hh^T, from the host's GEMM), 23 hProj [B, P] (h_raw W_hr^T, likewise),
 *  24 b_ih [G*H] (added to x; zeros when absent or already in x),
 *  25 t (the step recurrentForwardGates / recurrentForwardFused runs; the host writes it),
 *  26 the fused step's GEMM (a `matmul` argument block: see recurrentForwardFused),
 *  27 hIn, 28 hOut, 29 cIn, 30 cOut (fused step: where h_{t-1}, c_{t-1} are read and h_t, c_t written).
 * Every buffer read 4 lanes at a time has 16 bytes of slack after its end.
 */
const F_X = 28, F_BIAS = 36, F_H = 40, F_C = 44, F_WHR = 48, F_LENGTHS = 52, F_OUT = 56;
const F_HPREV = 60, F_ACT = 64, F_EXTRA = 68, F_CPREV = 72, F_HRAW = 76, F_HW = 88, F_HPROJ = 92, F_BIAS_IH = 96, F_STEP = 100;
const F_GEMM = 104, F_HIN = 108, F_HOUT = 112, F_CIN = 116, F_COUT = 120;
// Fields of the `matmul` argument block (kernels/gemm.ts) the fused steps read: thread scratch, pre-packed B.
const GEMM_SCRATCH = 76, GEMM_PACKED_B = 96;

/** Rows [b0, b1) of batch `rows` for share `tid` of `nthreads` (empty when b0 >= b1). */
// @ts-ignore: decorator
@inline function shareStart(rows: i32, tid: i32, nthreads: i32): i32 {
  return min(rows, tid * ((rows + nthreads - 1) / nthreads));
}

/** The first of the `units` hidden units of share `tid` of `nthreads`: whole blocks of NR (one GEMM panel each). */
// @ts-ignore: decorator
@inline function unitStart(units: i32, tid: i32, nthreads: i32): i32 {
  return min(units, tid * (((units + NR - 1) / NR + nthreads - 1) / nthreads) * NR);
}

/**
 * Rows [0, activeRows) of step t hold every row still within its length: rows past the last such
 * row are padding, which the step's GEMMs skip (their results there are never read). A batch
 * sorted by decreasing length (PyTorch's packed sequences) thus does only its valid rows' work.
 */
// @ts-ignore: decorator
@inline function activeRows(lengths: usize, B: i32, t: i32): i32 {
  let rows = B;
  while (rows > 0 && load<i32>(lengths + (<usize>(rows - 1) << 2)) <= t) rows--;
  return rows;
}

/** The calling share's GEMM scratch (one gemmScratchBytes() block per share, from the host's `matmul` block). */
// @ts-ignore: decorator
@inline function gemmScratch(gemmArgs: usize, tid: i32): usize {
  return <usize>load<u32>(gemmArgs, GEMM_SCRATCH) + <usize>tid * <usize>gemmScratchBytes();
}

// @ts-ignore: decorator
@inline function gatesOf(kind: i32): i32 {
  return kind == LSTM ? 4 : kind == GRU ? 3 : 1;
}

/** (x + b_ih) + (h W_hh^T + b_hh), summed in the reference's order. */
// @ts-ignore: decorator
@inline function preActivation(x: usize, biasIh: usize, hw: usize, biasHh: usize): v128 {
  return f32x4.add(f32x4.add(f32x4.add(v128.load(x), v128.load(biasIh)), v128.load(hw)), v128.load(biasHh));
}

/** Saves the state entering step t (the host's GEMM then reads hPrev's slot). */
export function recurrentForwardSave(args: usize, t: i32): void {
  const B = load<i32>(args, 8), H = load<i32>(args, 12), P = load<i32>(args, 16);
  const slot = load<i32>(args, 20) != 0 ? t : 0;
  memory.copy(<usize>load<u32>(args, F_HPREV) + <usize>(slot * B * P) * 4, <usize>load<u32>(args, F_H), <usize>(B * P) * 4);
  if (load<i32>(args) == LSTM) memory.copy(<usize>load<u32>(args, F_CPREV) + <usize>(slot * B * H) * 4, <usize>load<u32>(args, F_C), <usize>(B * H) * 4);
}

/** Step t's gate nonlinearities from hw = h_{t-1} W_hh^T: the new state, the output row, the saved activations. */
export function recurrentForwardStep(args: usize, t: i32): void {
  forwardGates(args, t, 0, load<i32>(args, 8), 0, load<i32>(args, 12), false);
}

/** Share `tid` of step t (field 25): recurrentForwardStep on a share of the batch rows (every row is independent), after the host's GEMM. */
export function recurrentForwardGates(args: usize, tid: i32, nthreads: i32): void {
  const B = load<i32>(args, 8);
  forwardGates(args, load<i32>(args, F_STEP), shareStart(B, tid, nthreads), shareStart(B, tid + 1, nthreads), 0, load<i32>(args, 12), false);
}

/**
 * Share `tid` of the whole step t (field 25), one job with no host GEMM: the share takes a block
 * of hidden units and computes its columns of h_{t-1} W_hh^T for all gates with the GEMM of
 * field 26 (its B holds W_hh's rows interleaved so that those are adjacent panels, and hw
 * [B, blocks * G * NR] likewise), then their gates, for every row. Only the next step needs all
 * of h_t, so the job's end is the step's one barrier.
 */
export function recurrentForwardFused(args: usize, tid: i32, nthreads: i32): void {
  const t = load<i32>(args, F_STEP);
  const gemmArgs = <usize>load<u32>(args, F_GEMM);
  const B = load<i32>(args, 8);
  const H = load<i32>(args, 12), P = load<i32>(args, 16);
  const u0 = unitStart(H, tid, nthreads), u1 = unitStart(H, tid + 1, nthreads);
  if (u0 >= u1) return;
  const G = gatesOf(load<i32>(args));
  const blocks = (H + NR - 1) / NR;
  const columns = G * NR;
  const hIn = <usize>load<u32>(args, F_HIN);
  const j1 = min((u1 + NR - 1) / NR, blocks) * columns;
  const rows = activeRows(<usize>load<u32>(args, F_LENGTHS), B, t);
  gemmPrepackedColumns(hIn, P, 1, <usize>load<u32>(gemmArgs, GEMM_PACKED_B), P, <usize>load<u32>(args, F_HW), blocks * columns, rows, (u0 / NR) * columns, j1, false, gemmScratch(gemmArgs, tid));
  forwardGates(args, t, 0, B, u0, u1, true);
}

/**
 * The gate math of step t on batch rows [b0, b1) and hidden units [u0, u1): the new state, the
 * output rows, the saved activations. Unfused, h_{t-1} and c_{t-1} are read from hPrev's and
 * cPrev's slot (recurrentForwardSave), h_t and c_t written to h and c (padding rows keep theirs)
 * and hw is [B, G*H] in gate order. Fused, they are read at hIn / cIn and written to hOut /
 * cOut (padding rows copy theirs), and hw is interleaved (recurrentForwardFused).
 */
function forwardGates(args: usize, t: i32, b0: i32, b1: i32, u0: i32, u1: i32, fused: bool): void {
  const kind = load<i32>(args), B = load<i32>(args, 8), H = load<i32>(args, 12), P = load<i32>(args, 16);
  const slot = load<i32>(args, 20) != 0 ? t : 0;
  const leak = load<f32>(args, 24);
  const x = <usize>load<u32>(args, F_X), bias = <usize>load<u32>(args, F_BIAS), biasIh = <usize>load<u32>(args, F_BIAS_IH);
  const projecting = load<u32>(args, F_WHR) != 0;
  const lengths = <usize>load<u32>(args, F_LENGTHS), out = <usize>load<u32>(args, F_OUT);
  const hw = <usize>load<u32>(args, F_HW);
  const G = gatesOf(kind);
  const GH = G * H;
  const isLstm = kind == LSTM;
  const hIn = fused ? <usize>load<u32>(args, F_HIN) : <usize>load<u32>(args, F_HPREV) + <usize>(slot * B * P) * 4;
  const cIn = fused ? <usize>load<u32>(args, F_CIN) : <usize>load<u32>(args, F_CPREV) + <usize>(slot * B * H) * 4;
  const h = fused ? <usize>load<u32>(args, F_HOUT) : <usize>load<u32>(args, F_H);
  const c = fused ? <usize>load<u32>(args, F_COUT) : <usize>load<u32>(args, F_C);
  // hw's row width and the distance between a unit's gates in it.
  const hwWidth = fused ? ((H + NR - 1) / NR) * G * NR : GH;
  const hwGateStride = <usize>(fused ? NR : H) * 4;
  const units = <usize>(u1 - u0) * 4;
  const vleak = f32x4.splat(leak), vkeep = f32x4.splat(1 - leak), one = f32x4.splat(1);
  for (let b = b0; b < b1; b++) {
    const outRow = out + <usize>((t * B + b) * H) * 4;
    const hRow = h + <usize>(b * P) * 4;
    const cRow = c + <usize>(b * H) * 4, cPrevRow = cIn + <usize>(b * H) * 4;
    const hPrevRow = hIn + <usize>(b * P) * 4;
    // The new h lands in hRaw (projections: o * tanh(c), projected by the host) or straight in h.
    const rawRow = projecting ? <usize>load<u32>(args, F_HRAW) + <usize>((slot * B + b) * H) * 4 : hRow;
    const actRow = <usize>load<u32>(args, F_ACT) + <usize>((slot * B + b) * GH) * 4;
    const extraRow = <usize>load<u32>(args, F_EXTRA) + <usize>((slot * B + b) * H) * 4;
    const at = <usize>u0 * 4;
    if (t >= load<i32>(lengths + (<usize>b << 2))) {
      // Padding: the state is carried and the output is zero; the saved rows are zeroed as the
      // reference leaves them.
      if (fused) {
        memory.copy(hRow + at, hPrevRow + at, units);
        if (isLstm) memory.copy(cRow + at, cPrevRow + at, units);
      }
      if (projecting) zeroRow(rawRow, H);
      zeroRow(outRow + at, u1 - u0);
      for (let g = 0; g < G; g++) zeroRow(actRow + <usize>(g * H) * 4 + at, u1 - u0);
      if (kind == GRU || isLstm) zeroRow(extraRow + at, u1 - u0);
      continue;
    }
    const xRow = x + <usize>((t * B + b) * GH) * 4;
    const hwRow = hw + <usize>(b * hwWidth) * 4;
    const gateStride = <usize>H * 4;
    for (let j = u0; j < u1; j += 4) {
      const n = u1 - j;
      const o4 = <usize>j * 4;
      const xp = xRow + o4, ip = biasIh + o4, bp = bias + o4, ap = actRow + o4;
      const hp = hwRow + (fused ? <usize>((j / NR) * G * NR + j % NR) * 4 : o4);
      if (isLstm) {
        const ig = vsigmoid(preActivation(xp, ip, hp, bp));
        const fg = vsigmoid(preActivation(xp + gateStride, ip + gateStride, hp + hwGateStride, bp + gateStride));
        const gg = vtanh(preActivation(xp + 2 * gateStride, ip + 2 * gateStride, hp + 2 * hwGateStride, bp + 2 * gateStride));
        const og = vsigmoid(preActivation(xp + 3 * gateStride, ip + 3 * gateStride, hp + 3 * hwGateStride, bp + 3 * gateStride));
        const cv = f32x4.add(f32x4.mul(fg, v128.load(cPrevRow + o4)), f32x4.mul(ig, gg));
        storeN(ap, ig, n);
        storeN(ap + gateStride, fg, n);
        storeN(ap + 2 * gateStride, gg, n);
        storeN(ap + 3 * gateStride, og, n);
        storeN(cRow + o4, cv, n);
        storeN(extraRow + o4, cv, n);
        storeN(rawRow + o4, f32x4.mul(og, vtanh(cv)), n);
      } else if (kind == GRU) {
        const hn = f32x4.add(v128.load(hp + 2 * hwGateStride), v128.load(bp + 2 * gateStride));
        const rg = vsigmoid(preActivation(xp, ip, hp, bp));
        const zg = vsigmoid(preActivation(xp + gateStride, ip + gateStride, hp + hwGateStride, bp + gateStride));
        const ng = vtanh(f32x4.add(f32x4.add(v128.load(xp + 2 * gateStride), v128.load(ip + 2 * gateStride)), f32x4.mul(rg, hn)));
        storeN(ap, rg, n);
        storeN(ap + gateStride, zg, n);
        storeN(ap + 2 * gateStride, ng, n);
        storeN(extraRow + o4, hn, n);
        storeN(rawRow + o4, f32x4.add(f32x4.mul(f32x4.sub(one, zg), ng), f32x4.mul(zg, v128.load(hPrevRow + o4))), n);
      } else {
        const pre = preActivation(xp, ip, hp, bp);
        // relu: x < 0 ? 0 : x, NaN kept (the reference's Math.max(0, x) up to the sign of zero).
        const a = kind == RNN_RELU ? v128.andnot(pre, f32x4.lt(pre, f32x4.splat(0))) : vtanh(pre);
        storeN(ap, a, n);
        const hv = leak == 1 ? a : f32x4.add(f32x4.mul(vkeep, v128.load(hPrevRow + o4)), f32x4.mul(vleak, a));
        storeN(rawRow + o4, hv, n);
      }
    }
    if (!projecting) memory.copy(outRow + at, hRow + at, units);
  }
}

/** Projections: h_t = hProj (= h_raw W_hr^T) for the valid rows, also the output row (P wide, rest zero). */
export function recurrentForwardProjected(args: usize, t: i32): void {
  const B = load<i32>(args, 8), H = load<i32>(args, 12), P = load<i32>(args, 16);
  const h = <usize>load<u32>(args, F_H), lengths = <usize>load<u32>(args, F_LENGTHS), out = <usize>load<u32>(args, F_OUT);
  const hProj = <usize>load<u32>(args, F_HPROJ);
  for (let b = 0; b < B; b++) {
    if (t >= load<i32>(lengths + (<usize>b << 2))) continue;
    const outRow = out + <usize>((t * B + b) * H) * 4;
    memory.copy(h + <usize>(b * P) * 4, hProj + <usize>(b * P) * 4, <usize>P * 4);
    memory.copy(outRow, hProj + <usize>(b * P) * 4, <usize>P * 4);
    zeroRow(outRow + <usize>P * 4, H - P);
  }
}

/** The final state rows of out: h (P wide, rest zero) and, for LSTM, c. */
export function recurrentForwardEnd(args: usize): void {
  const T = load<i32>(args, 4), B = load<i32>(args, 8), H = load<i32>(args, 12), P = load<i32>(args, 16);
  const h = <usize>load<u32>(args, F_H), c = <usize>load<u32>(args, F_C), out = <usize>load<u32>(args, F_OUT);
  for (let b = 0; b < B; b++) {
    const row = out + <usize>((T * B + b) * H) * 4;
    memory.copy(row, h + <usize>(b * P) * 4, <usize>P * 4);
    zeroRow(row + <usize>P * 4, H - P);
  }
  if (load<i32>(args) == LSTM) memory.copy(out + <usize>((T + 1) * B * H) * 4, c, <usize>(B * H) * 4);
}

// --- backward -----------------------------------------------------------------------------------

/**
 * Backward fields:
 *  0 kind, 1 T, 2 B, 3 H, 4 P, 5 (unused), 6 leak (f32),
 *  7 gradOut [T + S, B, H], 8 lengths (i32 [B]), 9 projecting,
 *  10 hPrev [T, B, P], 11 act [T, B, G*H], 12 extra [T, B, H], 13 cPrev [T, B, H] (the forward's saved tensors),
 *  14 dGatesX [T, B, G*H] (d pre-activations seen by the input projection), 15 dGatesH (the same
 *  buffer except for GRU: those seen by h W_hh^T + b_hh), 16 dProj [T, B, P] (projections: d h_t),
 *  17 dh [B, P] and 18 dc [B, H] (the running gradients; those of h0 and c0 at the end),
 *  19 dhStep [B, P] (d h_t), 20 dhRaw [B, H] (projections: dhStep W_hr, from the host's GEMM),
 *  21 dBias [G*H] (d b_hh: dGatesH summed over steps and rows), 22 dBiasIh [G*H] (GRU: dGatesX likewise),
 *  23 and 24 scratch [G*H] each for the step's sums (the totals add T partial sums, not T * B rows),
 *  25 t (the step recurrentBackwardGates / recurrentBackwardFused runs, -1 for none; the host writes it),
 *  26 the fused step's GEMM dh += dGatesH_s W_hh (a `matmul` argument block, B pre-packed:
 *  see recurrentBackwardFused), 27 s (the step whose dGatesH that GEMM reads, -1 for none).
 */
const B_G = 28, B_LENGTHS = 32, B_PROJECTING = 36, B_HPREV = 40, B_ACT = 44, B_EXTRA = 48, B_CPREV = 52;
const B_DGX = 56, B_DGH = 60, B_DPROJ = 64, B_DH = 68, B_DC = 72, B_DHSTEP = 76, B_DHRAW = 80, B_DBIAS = 84, B_DBIAS_IH = 88, B_DBIAS_STEP = 92, B_DBIAS_IH_STEP = 96, B_STEP = 100;
const B_GEMM = 104, B_GEMM_STEP = 108;

/** dh, dc from the final-state rows of gradOut; dBias = 0. */
export function recurrentBackwardBegin(args: usize): void {
  const kind = load<i32>(args), T = load<i32>(args, 4), B = load<i32>(args, 8), H = load<i32>(args, 12), P = load<i32>(args, 16);
  const g = <usize>load<u32>(args, B_G), dh = <usize>load<u32>(args, B_DH);
  for (let b = 0; b < B; b++) memory.copy(dh + <usize>(b * P) * 4, g + <usize>((T * B + b) * H) * 4, <usize>P * 4);
  if (kind == LSTM) memory.copy(<usize>load<u32>(args, B_DC), g + <usize>((T + 1) * B * H) * 4, <usize>(B * H) * 4);
  zeroRow(<usize>load<u32>(args, B_DBIAS), gatesOf(kind) * H);
  if (kind == GRU) zeroRow(<usize>load<u32>(args, B_DBIAS_IH), gatesOf(kind) * H);
}

/** d h_t = the carried dh + the output row's gradient, zero for padding rows (whose dh passes straight through). */
export function recurrentBackwardInput(args: usize, t: i32): void {
  const B = load<i32>(args, 8), P = load<i32>(args, 16);
  stepInput(args, t, 0, P);
  if (load<i32>(args, B_PROJECTING) != 0) memory.copy(<usize>load<u32>(args, B_DPROJ) + <usize>(t * B * P) * 4, <usize>load<u32>(args, B_DHSTEP), <usize>(B * P) * 4);
}

/** recurrentBackwardInput's d h_t on columns [j0, j1) of every row. */
function stepInput(args: usize, t: i32, j0: i32, j1: i32): void {
  const B = load<i32>(args, 8), H = load<i32>(args, 12), P = load<i32>(args, 16);
  const g = <usize>load<u32>(args, B_G), lengths = <usize>load<u32>(args, B_LENGTHS);
  const dh = <usize>load<u32>(args, B_DH), dhStep = <usize>load<u32>(args, B_DHSTEP);
  for (let b = 0; b < B; b++) {
    const row = dhStep + <usize>(b * P) * 4;
    if (t >= load<i32>(lengths + (<usize>b << 2))) {
      zeroRow(row + <usize>j0 * 4, j1 - j0);
      continue;
    }
    const dhRow = dh + <usize>(b * P) * 4, gRow = g + <usize>((t * B + b) * H) * 4;
    for (let j = j0; j < j1; j += 4) storeN(row + <usize>j * 4, f32x4.add(v128.load(dhRow + <usize>j * 4), v128.load(gRow + <usize>j * 4)), j1 - j);
  }
}

/**
 * Step t's gate derivatives from d(o * tanh c) (dhRaw with projections, else dhStep): dGatesX,
 * dGatesH and dBias, dc becomes d c_{t-1}, and the valid rows of dh the part of d h_{t-1} that
 * bypasses W_hh (the host's GEMM then adds dGatesH_t W_hh to all rows; padding rows of
 * dGatesH are zero, so their dh passes through unchanged).
 */
export function recurrentBackwardStep(args: usize, t: i32): void {
  backwardRows(args, t, 0, load<i32>(args, 8), 0, load<i32>(args, 12));
  recurrentBackwardBias(args, t);
}

/** Share `tid` of step t (field 25): recurrentBackwardStep's per-row part on a share of the batch rows; recurrentBackwardBias follows on one thread. */
export function recurrentBackwardGates(args: usize, tid: i32, nthreads: i32): void {
  const B = load<i32>(args, 8);
  backwardRows(args, load<i32>(args, B_STEP), shareStart(B, tid, nthreads), shareStart(B, tid + 1, nthreads), 0, load<i32>(args, 12));
}

/**
 * Share `tid` of a fused backward job (no projections): the share takes a block of hidden units,
 * i.e. of dh's columns, and first ends the previous step s (field 27) with the GEMM of field 26:
 * dh[:, units] += dGatesH_s W_hh[:, units], which needs all of dGatesH_s (hence the barrier
 * between jobs) but makes all of d h_t for its units; then step t's (field 25) d h_t, gate
 * derivatives and bias sums for those units. T + 1 jobs (the last with t = -1) run the whole
 * time loop.
 */
export function recurrentBackwardFused(args: usize, tid: i32, nthreads: i32): void {
  const t = load<i32>(args, B_STEP);
  const gemmArgs = <usize>load<u32>(args, B_GEMM);
  const B = load<i32>(args, 8), H = load<i32>(args, 12);
  const u0 = unitStart(H, tid, nthreads), u1 = unitStart(H, tid + 1, nthreads);
  if (u0 >= u1) return;
  const s = load<i32>(args, B_GEMM_STEP);
  if (s >= 0) {
    const GH = gatesOf(load<i32>(args)) * H;
    const dGates = <usize>load<u32>(args, B_DGH) + <usize>(s * B * GH) * 4;
    // Padding rows of dGatesH are zero: their dh passes through unchanged, so the GEMM skips them.
    const rows = activeRows(<usize>load<u32>(args, B_LENGTHS), B, s);
    gemmPrepackedColumns(dGates, GH, 1, <usize>load<u32>(gemmArgs, GEMM_PACKED_B), GH, <usize>load<u32>(args, B_DH), H, rows, u0, u1, true, gemmScratch(gemmArgs, tid));
  }
  if (t < 0) return;
  stepInput(args, t, u0, u1);
  backwardRows(args, t, 0, B, u0, u1);
  biasSums(args, t, u0, u1);
}

/** The bias gradients of step t: its valid rows of dGatesH (GRU: and dGatesX) summed in row order, then added to the totals. */
export function recurrentBackwardBias(args: usize, t: i32): void {
  biasSums(args, t, 0, load<i32>(args, 12));
}

/** recurrentBackwardBias on the gates of hidden units [u0, u1). */
function biasSums(args: usize, t: i32, u0: i32, u1: i32): void {
  const kind = load<i32>(args), B = load<i32>(args, 8), H = load<i32>(args, 12);
  const G = gatesOf(kind);
  const GH = G * H;
  const isGru = kind == GRU;
  const lengths = <usize>load<u32>(args, B_LENGTHS);
  const dBias = <usize>load<u32>(args, B_DBIAS), dBiasIh = <usize>load<u32>(args, B_DBIAS_IH);
  const dBiasStep = <usize>load<u32>(args, B_DBIAS_STEP), dBiasIhStep = <usize>load<u32>(args, B_DBIAS_IH_STEP);
  const units = u1 - u0;
  for (let g = 0; g < G; g++) {
    const at = <usize>(g * H + u0) * 4;
    const gxStep = <usize>load<u32>(args, B_DGX) + <usize>(t * B * GH) * 4 + at;
    const ghStep = <usize>load<u32>(args, B_DGH) + <usize>(t * B * GH) * 4 + at;
    zeroRow(dBiasStep + at, units);
    if (isGru) zeroRow(dBiasIhStep + at, units);
    for (let b = 0; b < B; b++) {
      if (t >= load<i32>(lengths + (<usize>b << 2))) continue;
      addRow(dBiasStep + at, ghStep + <usize>(b * GH) * 4, units);
      if (isGru) addRow(dBiasIhStep + at, gxStep + <usize>(b * GH) * 4, units);
    }
    addRow(dBias + at, dBiasStep + at, units);
    if (isGru) addRow(dBiasIh + at, dBiasIhStep + at, units);
  }
}

/** recurrentBackwardStep's gate derivatives on batch rows [b0, b1) and hidden units [u0, u1) (no bias sums). */
function backwardRows(args: usize, t: i32, b0: i32, b1: i32, u0: i32, u1: i32): void {
  const kind = load<i32>(args), B = load<i32>(args, 8), H = load<i32>(args, 12), P = load<i32>(args, 16);
  const leak = load<f32>(args, 24);
  const lengths = <usize>load<u32>(args, B_LENGTHS);
  const projecting = load<i32>(args, B_PROJECTING) != 0;
  const hPrevAll = <usize>load<u32>(args, B_HPREV), actAll = <usize>load<u32>(args, B_ACT);
  const extraAll = <usize>load<u32>(args, B_EXTRA), cPrevAll = <usize>load<u32>(args, B_CPREV);
  const dh = <usize>load<u32>(args, B_DH), dc = <usize>load<u32>(args, B_DC);
  const dhRaw = projecting ? <usize>load<u32>(args, B_DHRAW) : <usize>load<u32>(args, B_DHSTEP);
  const GH = gatesOf(kind) * H;
  const isLstm = kind == LSTM;
  const isGru = kind == GRU;
  const gxStep = <usize>load<u32>(args, B_DGX) + <usize>(t * B * GH) * 4;
  const ghStep = <usize>load<u32>(args, B_DGH) + <usize>(t * B * GH) * 4;
  const vleak = f32x4.splat(leak), vkeep = f32x4.splat(1 - leak), one = f32x4.splat(1), zero = f32x4.splat(0);
  for (let b = b0; b < b1; b++) {
    const gxRow = gxStep + <usize>(b * GH) * 4, ghRow = ghStep + <usize>(b * GH) * 4;
    if (t >= load<i32>(lengths + (<usize>b << 2))) {
      for (let g = 0; g < GH; g += H) {
        zeroRow(gxRow + <usize>(g + u0) * 4, u1 - u0);
        if (isGru) zeroRow(ghRow + <usize>(g + u0) * 4, u1 - u0);
      }
      continue;
    }
    const actRow = actAll + <usize>((t * B + b) * GH) * 4;
    const sBase = <usize>((t * B + b) * H) * 4;
    const gateStride = <usize>H * 4;
    const dhRawRow = dhRaw + <usize>(b * (projecting ? H : P)) * 4;
    const dhRow = dh + <usize>(b * P) * 4;
    if (isLstm) zeroRow(dhRow + <usize>u0 * 4, min(u1, P) - u0); // h_{t-1} reaches h_t only through W_hh
    for (let j = u0; j < u1; j += 4) {
      const n = u1 - j;
      const o4 = <usize>j * 4;
      const ap = actRow + o4;
      const dhv = v128.load(dhRawRow + o4);
      if (isLstm) {
        const ig = v128.load(ap), fg = v128.load(ap + gateStride), gg = v128.load(ap + 2 * gateStride), og = v128.load(ap + 3 * gateStride);
        const tc = vtanh(v128.load(extraAll + sBase + o4));
        const dcp = dc + <usize>(b * H) * 4 + o4;
        const dcv = f32x4.add(v128.load(dcp), f32x4.mul(f32x4.mul(dhv, og), f32x4.sub(one, f32x4.mul(tc, tc))));
        storeN(gxRow + o4, f32x4.mul(f32x4.mul(dcv, gg), f32x4.mul(ig, f32x4.sub(one, ig))), n);
        storeN(gxRow + gateStride + o4, f32x4.mul(f32x4.mul(dcv, v128.load(cPrevAll + sBase + o4)), f32x4.mul(fg, f32x4.sub(one, fg))), n);
        storeN(gxRow + 2 * gateStride + o4, f32x4.mul(f32x4.mul(dcv, ig), f32x4.sub(one, f32x4.mul(gg, gg))), n);
        storeN(gxRow + 3 * gateStride + o4, f32x4.mul(f32x4.mul(dhv, tc), f32x4.mul(og, f32x4.sub(one, og))), n);
        storeN(dcp, f32x4.mul(dcv, fg), n);
      } else if (isGru) {
        const rg = v128.load(ap), zg = v128.load(ap + gateStride), ng = v128.load(ap + 2 * gateStride);
        const dn = f32x4.mul(f32x4.mul(dhv, f32x4.sub(one, zg)), f32x4.sub(one, f32x4.mul(ng, ng)));
        const dz = f32x4.mul(f32x4.mul(dhv, f32x4.sub(v128.load(hPrevAll + sBase + o4), ng)), f32x4.mul(zg, f32x4.sub(one, zg)));
        const dr = f32x4.mul(f32x4.mul(dn, v128.load(extraAll + sBase + o4)), f32x4.mul(rg, f32x4.sub(one, rg)));
        storeN(gxRow + o4, dr, n);
        storeN(gxRow + gateStride + o4, dz, n);
        storeN(gxRow + 2 * gateStride + o4, dn, n);
        storeN(ghRow + o4, dr, n);
        storeN(ghRow + gateStride + o4, dz, n);
        storeN(ghRow + 2 * gateStride + o4, f32x4.mul(dn, rg), n);
        storeN(dhRow + o4, f32x4.mul(dhv, zg), n);
      } else {
        const a = v128.load(ap);
        const dAct = kind == RNN_RELU ? v128.and(f32x4.gt(a, zero), one) : f32x4.sub(one, f32x4.mul(a, a));
        storeN(gxRow + o4, f32x4.mul(f32x4.mul(dhv, vleak), dAct), n);
        storeN(dhRow + o4, leak == 1 ? zero : f32x4.mul(dhv, vkeep), n);
      }
    }
  }
}
