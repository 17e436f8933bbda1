// The fused recurrence of one layer-direction of an RNN / GRU / LSTM, forward and
// back-propagation through time, with the state, the gates and the weights in linear memory for
// the whole sequence (src/nn/functional/recurrent.ts describes the math and
// src/backend/js/recurrent.ts is the reference this must match). The host
// (src/backend/wasm/recurrent.ts) stages each direction once and drives the time loop: per step,
// the `matmul` kernel (threaded, its weight packed once) computes the one GEMM for all gates and
// these kernels the rest in one SIMD pass over the gates, on the calling thread or split by
// batch rows across threads (the *Gates kernels; rows are independent, and the bias gradients'
// sums over rows stay on one thread, in row order). `args` (i32 fields, pointers in bytes,
// float32 data) is described at recurrentForwardStep / recurrentBackwardStep.

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
 *  7 x [T, B, G*H] (input projections incl. b_ih), 8 w_hh [G*H, P], 9 b_hh [G*H] (zeros when absent),
 *  10 h [B, P] (h0 on entry, then the running state), 11 c [B, H] (likewise c0; LSTM),
 *  12 w_hr [P, H] or 0 (LSTM projections), 13 lengths (i32 [B]),
 *  14 out [T + S, B, H], 15 hPrev, 16 act, 17 extra, 18 cPrev, 19 hRaw (the reference's saved
 *  tensors, [T or 1, B, *]: without saving only slot 0 is used),
 *  20, 21 unused (the host's GEMMs read w_hh and w_hr as transposed views, packed once),
 *  22 hw [B, G*H] (the step's h W_hh^T, from the host's GEMM), 23 hProj [B, P] (h_raw W_hr^T, likewise),
 *  24 b_ih [G*H] (added to x; zeros when absent or already in x),
 *  25 t (the step recurrentForwardGates runs; the host writes it).
 * Every buffer read 4 lanes at a time has 16 bytes of slack after its end.
 */
const F_X = 28, F_W = 32, F_BIAS = 36, F_H = 40, F_C = 44, F_WHR = 48, F_LENGTHS = 52, F_OUT = 56;
const F_HPREV = 60, F_ACT = 64, F_EXTRA = 68, F_CPREV = 72, F_HRAW = 76, F_HW = 88, F_HPROJ = 92, F_BIAS_IH = 96, F_STEP = 100;

/** Rows [b0, b1) of batch `rows` for share `tid` of `nthreads` (empty when b0 >= b1). */
// @ts-ignore: decorator
@inline function shareStart(rows: i32, tid: i32, nthreads: i32): i32 {
  return min(rows, tid * ((rows + nthreads - 1) / nthreads));
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
  forwardRows(args, t, 0, load<i32>(args, 8));
}

/** recurrentForwardStep for step `t` (field 25) split by batch rows: every row is independent. */
export function recurrentForwardGates(args: usize, tid: i32, nthreads: i32): void {
  const B = load<i32>(args, 8);
  forwardRows(args, load<i32>(args, F_STEP), shareStart(B, tid, nthreads), shareStart(B, tid + 1, nthreads));
}

/** recurrentForwardStep on batch rows [b0, b1). */
function forwardRows(args: usize, t: i32, b0: i32, b1: i32): void {
  const kind = load<i32>(args), B = load<i32>(args, 8), H = load<i32>(args, 12), P = load<i32>(args, 16);
  const slot = load<i32>(args, 20) != 0 ? t : 0;
  const leak = load<f32>(args, 24);
  const x = <usize>load<u32>(args, F_X), bias = <usize>load<u32>(args, F_BIAS), biasIh = <usize>load<u32>(args, F_BIAS_IH);
  const h = <usize>load<u32>(args, F_H), c = <usize>load<u32>(args, F_C);
  const projecting = load<u32>(args, F_WHR) != 0;
  const lengths = <usize>load<u32>(args, F_LENGTHS), out = <usize>load<u32>(args, F_OUT);
  const hw = <usize>load<u32>(args, F_HW);
  const GH = gatesOf(kind) * H;
  const isLstm = kind == LSTM;
  const hPrev = <usize>load<u32>(args, F_HPREV) + <usize>(slot * B * P) * 4;
  const cPrev = <usize>load<u32>(args, F_CPREV) + <usize>(slot * B * H) * 4;
  const vleak = f32x4.splat(leak), vkeep = f32x4.splat(1 - leak), one = f32x4.splat(1);
  for (let b = b0; b < b1; b++) {
    const outRow = out + <usize>((t * B + b) * H) * 4;
    const hRow = h + <usize>(b * P) * 4;
    // The new h lands in hRaw (projections: o * tanh(c), projected by the host) or straight in h.
    const rawRow = projecting ? <usize>load<u32>(args, F_HRAW) + <usize>((slot * B + b) * H) * 4 : hRow;
    const actRow = <usize>load<u32>(args, F_ACT) + <usize>((slot * B + b) * GH) * 4;
    const extraRow = <usize>load<u32>(args, F_EXTRA) + <usize>((slot * B + b) * H) * 4;
    if (t >= load<i32>(lengths + (<usize>b << 2))) {
      // Padding: the state is carried (h and c are already in place) and the output is zero;
      // the saved rows are zeroed as the reference leaves them.
      if (projecting) zeroRow(rawRow, H);
      zeroRow(outRow, H);
      zeroRow(actRow, GH);
      if (kind == GRU || isLstm) zeroRow(extraRow, H);
      continue;
    }
    const xRow = x + <usize>((t * B + b) * GH) * 4;
    const hwRow = hw + <usize>(b * GH) * 4;
    const hPrevRow = hPrev + <usize>(b * P) * 4;
    const cRow = c + <usize>(b * H) * 4, cPrevRow = cPrev + <usize>(b * H) * 4;
    const gateStride = <usize>H * 4;
    for (let j = 0; j < H; j += 4) {
      const n = H - j;
      const o4 = <usize>j * 4;
      const xp = xRow + o4, ip = biasIh + o4, hp = hwRow + o4, bp = bias + o4, ap = actRow + o4;
      if (isLstm) {
        const ig = vsigmoid(preActivation(xp, ip, hp, bp));
        const fg = vsigmoid(preActivation(xp + gateStride, ip + gateStride, hp + gateStride, bp + gateStride));
        const gg = vtanh(preActivation(xp + 2 * gateStride, ip + 2 * gateStride, hp + 2 * gateStride, bp + 2 * gateStride));
        const og = vsigmoid(preActivation(xp + 3 * gateStride, ip + 3 * gateStride, hp + 3 * gateStride, bp + 3 * gateStride));
        const cv = f32x4.add(f32x4.mul(fg, v128.load(cPrevRow + o4)), f32x4.mul(ig, gg));
        storeN(ap, ig, n);
        storeN(ap + gateStride, fg, n);
        storeN(ap + 2 * gateStride, gg, n);
        storeN(ap + 3 * gateStride, og, n);
        storeN(cRow + o4, cv, n);
        storeN(extraRow + o4, cv, n);
        storeN(rawRow + o4, f32x4.mul(og, vtanh(cv)), n);
      } else if (kind == GRU) {
        const hn = f32x4.add(v128.load(hp + 2 * gateStride), v128.load(bp + 2 * gateStride));
        const rg = vsigmoid(preActivation(xp, ip, hp, bp));
        const zg = vsigmoid(preActivation(xp + gateStride, ip + gateStride, hp + gateStride, bp + gateStride));
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
    if (!projecting) memory.copy(outRow, hRow, <usize>H * 4);
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
 *  25 t (the step recurrentBackwardGates runs; the host writes it).
 */
const B_G = 28, B_LENGTHS = 32, B_PROJECTING = 36, B_HPREV = 40, B_ACT = 44, B_EXTRA = 48, B_CPREV = 52;
const B_DGX = 56, B_DGH = 60, B_DPROJ = 64, B_DH = 68, B_DC = 72, B_DHSTEP = 76, B_DHRAW = 80, B_DBIAS = 84, B_DBIAS_IH = 88, B_DBIAS_STEP = 92, B_DBIAS_IH_STEP = 96, B_STEP = 100;

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
  const B = load<i32>(args, 8), H = load<i32>(args, 12), P = load<i32>(args, 16);
  const g = <usize>load<u32>(args, B_G), lengths = <usize>load<u32>(args, B_LENGTHS);
  const dh = <usize>load<u32>(args, B_DH), dhStep = <usize>load<u32>(args, B_DHSTEP);
  for (let b = 0; b < B; b++) {
    const row = dhStep + <usize>(b * P) * 4;
    if (t >= load<i32>(lengths + (<usize>b << 2))) {
      zeroRow(row, P);
      continue;
    }
    const dhRow = dh + <usize>(b * P) * 4, gRow = g + <usize>((t * B + b) * H) * 4;
    for (let j = 0; j < P; j += 4) storeN(row + <usize>j * 4, f32x4.add(v128.load(dhRow + <usize>j * 4), v128.load(gRow + <usize>j * 4)), P - j);
  }
  if (load<i32>(args, B_PROJECTING) != 0) memory.copy(<usize>load<u32>(args, B_DPROJ) + <usize>(t * B * P) * 4, dhStep, <usize>(B * P) * 4);
}

/**
 * Step t's gate derivatives from d(o * tanh c) (dhRaw with projections, else dhStep): dGatesX,
 * dGatesH and dBias, dc becomes d c_{t-1}, and the valid rows of dh the part of d h_{t-1} that
 * bypasses W_hh (the host's GEMM then adds dGatesH_t W_hh to all rows; padding rows of
 * dGatesH are zero, so their dh passes through unchanged).
 */
export function recurrentBackwardStep(args: usize, t: i32): void {
  backwardRows(args, t, 0, load<i32>(args, 8));
  recurrentBackwardBias(args, t);
}

/** recurrentBackwardStep's per-row part for step `t` (field 25), split by batch rows; recurrentBackwardBias follows. */
export function recurrentBackwardGates(args: usize, tid: i32, nthreads: i32): void {
  const B = load<i32>(args, 8);
  backwardRows(args, load<i32>(args, B_STEP), shareStart(B, tid, nthreads), shareStart(B, tid + 1, nthreads));
}

/** The bias gradients of step t: its valid rows of dGatesH (GRU: and dGatesX) summed in row order, then added to the totals. */
export function recurrentBackwardBias(args: usize, t: i32): void {
  const kind = load<i32>(args), B = load<i32>(args, 8), H = load<i32>(args, 12);
  const GH = gatesOf(kind) * H;
  const isGru = kind == GRU;
  const lengths = <usize>load<u32>(args, B_LENGTHS);
  const gxStep = <usize>load<u32>(args, B_DGX) + <usize>(t * B * GH) * 4;
  const ghStep = <usize>load<u32>(args, B_DGH) + <usize>(t * B * GH) * 4;
  const dBiasStep = <usize>load<u32>(args, B_DBIAS_STEP), dBiasIhStep = <usize>load<u32>(args, B_DBIAS_IH_STEP);
  zeroRow(dBiasStep, GH);
  if (isGru) zeroRow(dBiasIhStep, GH);
  for (let b = 0; b < B; b++) {
    if (t >= load<i32>(lengths + (<usize>b << 2))) continue;
    addRow(dBiasStep, ghStep + <usize>(b * GH) * 4, GH);
    if (isGru) addRow(dBiasIhStep, gxStep + <usize>(b * GH) * 4, GH);
  }
  addRow(<usize>load<u32>(args, B_DBIAS), dBiasStep, GH);
  if (isGru) addRow(<usize>load<u32>(args, B_DBIAS_IH), dBiasIhStep, GH);
}

/** recurrentBackwardStep's gate derivatives on batch rows [b0, b1) (no bias sums). */
function backwardRows(args: usize, t: i32, b0: i32, b1: i32): void {
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
      zeroRow(gxRow, GH);
      if (isGru) zeroRow(ghRow, GH);
      continue;
    }
    const actRow = actAll + <usize>((t * B + b) * GH) * 4;
    const sBase = <usize>((t * B + b) * H) * 4;
    const gateStride = <usize>H * 4;
    const dhRawRow = dhRaw + <usize>(b * (projecting ? H : P)) * 4;
    const dhRow = dh + <usize>(b * P) * 4;
    if (isLstm) zeroRow(dhRow, P); // h_{t-1} reaches h_t only through W_hh
    for (let j = 0; j < H; j += 4) {
      const n = H - j;
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
