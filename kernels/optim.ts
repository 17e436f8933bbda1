// Fused optimizer updates over a staged chunk of contiguous float32 arrays, in place.
// They must give the same bits as the JS loops in src/optim (and so PyTorch): those compute in
// double and round to float32 where PyTorch materialises a float32 value. Where the JS rounds
// after every op, f32 SIMD gives the same bits (a float32 +, *, / or sqrt computed in double and
// rounded is correctly rounded). Where the JS adds an unrounded product (`a + c * g`, PyTorch's
// fused add with alpha), the product is exact in double, so these kernels do that step in f64
// lanes and round once, as the JS does. No FMA anywhere: it would change the rounding.

// @ts-ignore: decorator
@inline function lowHalf(x: v128): v128 {
  return f64x2.promote_low_f32x4(x);
}

// @ts-ignore: decorator
@inline function highHalf(x: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3));
}

/** float32(a + c * b) per lane, with a, b float32 lanes and c a double splat (c * b exact in double). */
// @ts-ignore: decorator
@inline function addScaled(a: v128, c: v128, b: v128): v128 {
  const lo = f64x2.add(lowHalf(a), f64x2.mul(c, lowHalf(b)));
  const hi = f64x2.add(highHalf(a), f64x2.mul(c, highHalf(b)));
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

// @ts-ignore: decorator
@inline function addScaled1(a: f32, c: f64, b: f32): f32 {
  return <f32>(<f64>a + c * <f64>b);
}

/**
 * Adam / AdamW, one pass. args: [param, grad, expAvg, expAvgSq (pointers), n, then f32:
 * beta1, beta2, 1 - beta1, 1 - beta2, sqrt(1 - beta2^t), eps, -stepSize, decay]; `decay` is
 * AdamW's 1 - lr * weightDecay (1 for Adam: p * 1 is p exactly). Elements split across shares.
 *   p = p * decay;  m = m * b1 + c1 * g;  v = v * b2 + (c2 * g) * g;
 *   p = p + (negStep * m) / (sqrt(v) / bc2 + eps)
 */
export function adamUpdate(args: usize, share: i32, shares: i32): void {
  const param = <usize>load<u32>(args), grad = <usize>load<u32>(args, 4);
  const expAvg = <usize>load<u32>(args, 8), expAvgSq = <usize>load<u32>(args, 12);
  const n = load<i32>(args, 16);
  const b1 = load<f32>(args, 20), b2 = load<f32>(args, 24), c1 = load<f32>(args, 28), c2 = load<f32>(args, 32);
  const bc2 = load<f32>(args, 36), eps = load<f32>(args, 40), negStep = load<f32>(args, 44), decay = load<f32>(args, 48);
  // Shares of whole vectors, so only the last share has a scalar tail.
  const vectors = n >> 2;
  const first = <i32>(<i64>vectors * share / shares) << 2;
  const end = share === shares - 1 ? n : <i32>(<i64>vectors * (share + 1) / shares) << 2;
  const B1 = f32x4.splat(b1), B2 = f32x4.splat(b2), C2 = f32x4.splat(c2), BC2 = f32x4.splat(bc2);
  const EPS = f32x4.splat(eps), NEG_STEP = f32x4.splat(negStep), DECAY = f32x4.splat(decay);
  const C1 = f64x2.splat(<f64>c1);
  let i = first;
  for (; i + 4 <= end; i += 4) {
    const at = <usize>i << 2;
    const g = v128.load(grad + at);
    const m = addScaled(f32x4.mul(v128.load(expAvg + at), B1), C1, g);
    const v = f32x4.add(f32x4.mul(v128.load(expAvgSq + at), B2), f32x4.mul(f32x4.mul(C2, g), g));
    v128.store(expAvg + at, m);
    v128.store(expAvgSq + at, v);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(v), BC2), EPS);
    const p = f32x4.mul(v128.load(param + at), DECAY);
    v128.store(param + at, f32x4.add(p, f32x4.div(f32x4.mul(NEG_STEP, m), denom)));
  }
  for (; i < end; i++) {
    const at = <usize>i << 2;
    const g = load<f32>(grad + at);
    const m = addScaled1(load<f32>(expAvg + at) * b1, <f64>c1, g);
    const v = load<f32>(expAvgSq + at) * b2 + (c2 * g) * g;
    store<f32>(expAvg + at, m);
    store<f32>(expAvgSq + at, v);
    const denom = Mathf.sqrt(v) / bc2 + eps;
    store<f32>(param + at, load<f32>(param + at) * decay + (negStep * m) / denom);
  }
}

/**
 * SGD's momentum step after the first. args: [param, grad, buffer (pointers), n, nesterov
 * (i32), then f32: momentum, 1 - dampening, -lr]. Elements split across shares.
 *   buf = buf * momentum + keep * g;  p = p + negLr * (nesterov ? g + momentum * buf : buf)
 */
export function sgdMomentumUpdate(args: usize, share: i32, shares: i32): void {
  const param = <usize>load<u32>(args), grad = <usize>load<u32>(args, 4), buffer = <usize>load<u32>(args, 8);
  const n = load<i32>(args, 12);
  const nesterov = load<i32>(args, 16) !== 0;
  const momentum = load<f32>(args, 20), keep = load<f32>(args, 24), negLr = load<f32>(args, 28);
  const vectors = n >> 2;
  const first = <i32>(<i64>vectors * share / shares) << 2;
  const end = share === shares - 1 ? n : <i32>(<i64>vectors * (share + 1) / shares) << 2;
  const MOMENTUM = f32x4.splat(momentum);
  const MOMENTUM_D = f64x2.splat(<f64>momentum), KEEP = f64x2.splat(<f64>keep), NEG_LR = f64x2.splat(<f64>negLr);
  let i = first;
  if (nesterov) {
    for (; i + 4 <= end; i += 4) {
      const at = <usize>i << 2;
      const g = v128.load(grad + at);
      const buf = addScaled(f32x4.mul(v128.load(buffer + at), MOMENTUM), KEEP, g);
      v128.store(buffer + at, buf);
      v128.store(param + at, addScaled(v128.load(param + at), NEG_LR, addScaled(g, MOMENTUM_D, buf)));
    }
  } else {
    for (; i + 4 <= end; i += 4) {
      const at = <usize>i << 2;
      const buf = addScaled(f32x4.mul(v128.load(buffer + at), MOMENTUM), KEEP, v128.load(grad + at));
      v128.store(buffer + at, buf);
      v128.store(param + at, addScaled(v128.load(param + at), NEG_LR, buf));
    }
  }
  for (; i < end; i++) {
    const at = <usize>i << 2;
    const g = load<f32>(grad + at);
    const buf = addScaled1(load<f32>(buffer + at) * momentum, <f64>keep, g);
    store<f32>(buffer + at, buf);
    const step = nesterov ? addScaled1(g, <f64>momentum, buf) : buf;
    store<f32>(param + at, addScaled1(load<f32>(param + at), <f64>negLr, step));
  }
}
