// Additive (Bahdanau) attention of projected queries over projected keys, forward and backward
// in one pass per query row (src/backend/wasm/additive-attention.ts stages the operands):
//   t[s] = tanh(q + k[s]), e[s] = v . t[s] (-inf where masked), w = softmax(e), c = sum_s w[s] x[s].
// The backward recomputes t rather than the forward saving [N, L, S, H] of it: the tanh costs
// less than copying it out and back in. Shares split the batch, so a share owns its samples' key
// and value gradients, and v's gradient is summed per sample: results never depend on the number
// of shares (which follows the threads that are up).
import { expv, tanhv } from "./math";
import { laneSum, madd } from "./simd";

// The fields of both kernels' argument blocks (i32 and pointer slots, 4 bytes each).
const N_FIELD = 9, L_FIELD = 10, S_FIELD = 11, H_FIELD = 12, D_FIELD = 13;

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// @ts-ignore: decorator
@inline function tanh1(x: f32): f32 {
  return f32x4.extract_lane(tanhv(f32x4.splat(x)), 0);
}

/** y[0..n) += a * x[0..n). */
// @ts-ignore: decorator
@inline function axpy(y: usize, a: f32, x: usize, n: i32): void {
  const A = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), madd(A, v128.load(at(x, i)), v128.load(at(y, i))));
  for (; i < n; i++) store<f32>(at(y, i), load<f32>(at(y, i)) + a * load<f32>(at(x, i)));
}

/** x[0..n) . y[0..n). */
// @ts-ignore: decorator
@inline function dot(x: usize, y: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = madd(v128.load(at(x, i)), v128.load(at(y, i)), acc);
  let sum = laneSum(acc);
  for (; i < n; i++) sum += load<f32>(at(x, i)) * load<f32>(at(y, i));
  return sum;
}

/**
 * args: [query [N, L, H], keys [N, S, H], v [H], values [N, S, D], mask (u8 [N, S], nonzero at
 * padding; 0: none), out [N, L, D + S] (each row: the context, then the weights; rows `outStride`
 * apart), outStride, unused, unused, N, L, S, H, D]. A row whose keys are all masked gets NaN
 * weights, as softmax of all -inf does.
 */
export function additiveAttentionForward(args: usize, share: i32, shares: i32): void {
  const query = <usize>load<u32>(args), keys = <usize>load<u32>(args, 4), v = <usize>load<u32>(args, 8);
  const values = <usize>load<u32>(args, 12), mask = <usize>load<u32>(args, 16);
  const out = <usize>load<u32>(args, 20), outStride = load<i32>(args, 24);
  const N = load<i32>(args, N_FIELD * 4), L = load<i32>(args, L_FIELD * 4), S = load<i32>(args, S_FIELD * 4);
  const H = load<i32>(args, H_FIELD * 4), D = load<i32>(args, D_FIELD * 4);
  const end = <i32>(<i64>N * (share + 1) / shares);
  for (let n = <i32>(<i64>N * share / shares); n < end; n++) {
    for (let l = 0; l < L; l++) {
      const r = n * L + l;
      const q = at(query, r * H);
      const context = at(out, r * outStride);
      const weights = at(context, D);
      let largest: f32 = -Infinity;
      for (let s = 0; s < S; s++) {
        const k = at(keys, (n * S + s) * H);
        let acc = f32x4.splat(0);
        let h = 0;
        for (; h + 4 <= H; h += 4) acc = madd(tanhv(f32x4.add(v128.load(at(q, h)), v128.load(at(k, h)))), v128.load(at(v, h)), acc);
        let score = laneSum(acc);
        for (; h < H; h++) score += tanh1(load<f32>(at(q, h)) + load<f32>(at(k, h))) * load<f32>(at(v, h));
        if (mask != 0 && load<u8>(mask + <usize>(n * S + s)) != 0) score = -Infinity;
        store<f32>(at(weights, s), score);
        largest = max(largest, score);
      }
      // softmax as the composite computes it: exp(e - max) / sum.
      let total: f32 = 0;
      for (let s = 0; s < S; s++) {
        const e = f32x4.extract_lane(expv(f32x4.splat(load<f32>(at(weights, s)) - largest)), 0);
        store<f32>(at(weights, s), e);
        total += e;
      }
      for (let d = 0; d < D; d++) store<f32>(at(context, d), 0);
      for (let s = 0; s < S; s++) {
        const w = load<f32>(at(weights, s)) / total;
        store<f32>(at(weights, s), w);
        axpy(context, w, at(values, (n * S + s) * D), D);
      }
    }
  }
}

/**
 * args: [values [N, S, D], v [H], out (the forward's, rows `outStride` apart), query [N, L, H],
 * grad (d out, rows `outStride` apart), d query [N, L, H], d keys [N, S, H], d values [N, S, D],
 * d v partials [N, H] (one row per sample; the caller sums them), N, L, S, H, D, scratch
 * [shares, S], keys [N, S, H], outStride, accumulate (nonzero: add into d keys, d values and the
 * d v partials instead of overwriting them)].
 */
export function additiveAttentionBackward(args: usize, share: i32, shares: i32): void {
  const values = <usize>load<u32>(args), v = <usize>load<u32>(args, 4), out = <usize>load<u32>(args, 8);
  const query = <usize>load<u32>(args, 12), grad = <usize>load<u32>(args, 16);
  const keys = <usize>load<u32>(args, 60), outStride = load<i32>(args, 64), accumulate = load<i32>(args, 68) != 0;
  const dQuery = <usize>load<u32>(args, 20), dKeys = <usize>load<u32>(args, 24), dValues = <usize>load<u32>(args, 28);
  const N = load<i32>(args, N_FIELD * 4), L = load<i32>(args, L_FIELD * 4), S = load<i32>(args, S_FIELD * 4);
  const H = load<i32>(args, H_FIELD * 4), D = load<i32>(args, D_FIELD * 4);
  const vPartials = <usize>load<u32>(args, 32);
  const dWeights = at(<usize>load<u32>(args, 56), share * S);
  const end = <i32>(<i64>N * (share + 1) / shares);
  for (let n = <i32>(<i64>N * share / shares); n < end; n++) {
    const dv = at(vPartials, n * H);
    if (!accumulate) {
      memory.fill(at(dKeys, n * S * H), 0, <usize>(S * H) << 2);
      memory.fill(at(dValues, n * S * D), 0, <usize>(S * D) << 2);
      memory.fill(dv, 0, <usize>H << 2);
    }
    for (let l = 0; l < L; l++) {
      const r = n * L + l;
      const gContext = at(grad, r * outStride);
      const gWeights = at(gContext, D);
      const weights = at(out, r * outStride + D);
      // d w[s] = d w[s] (given) + d c . x[s]; d x[s] += w[s] d c.
      let weighted: f32 = 0;
      for (let s = 0; s < S; s++) {
        const x = at(values, (n * S + s) * D);
        const w = load<f32>(at(weights, s));
        const dw = load<f32>(at(gWeights, s)) + dot(gContext, x, D);
        store<f32>(at(dWeights, s), dw);
        weighted += w * dw;
        axpy(at(dValues, (n * S + s) * D), w, gContext, D);
      }
      // d e[s] = w[s] (d w[s] - sum_j w[j] d w[j]); d t = d e[s] v (1 - t^2), into q, k[s] and v.
      const q = at(query, r * H);
      const dq = at(dQuery, r * H);
      memory.fill(dq, 0, <usize>H << 2);
      for (let s = 0; s < S; s++) {
        const de = load<f32>(at(weights, s)) * (load<f32>(at(dWeights, s)) - weighted);
        if (de == 0) continue; // masked keys (weight 0) contribute nothing
        const k = at(keys, (n * S + s) * H);
        const dk = at(dKeys, (n * S + s) * H);
        const DE = f32x4.splat(de), ONE = f32x4.splat(1);
        let h = 0;
        for (; h + 4 <= H; h += 4) {
          const x = tanhv(f32x4.add(v128.load(at(q, h)), v128.load(at(k, h))));
          const dt = f32x4.mul(f32x4.mul(DE, v128.load(at(v, h))), f32x4.sub(ONE, f32x4.mul(x, x)));
          v128.store(at(dq, h), f32x4.add(v128.load(at(dq, h)), dt));
          v128.store(at(dk, h), f32x4.add(v128.load(at(dk, h)), dt));
          v128.store(at(dv, h), madd(DE, x, v128.load(at(dv, h))));
        }
        for (; h < H; h++) {
          const x = tanh1(load<f32>(at(q, h)) + load<f32>(at(k, h)));
          const dt = de * load<f32>(at(v, h)) * (1 - x * x);
          store<f32>(at(dq, h), load<f32>(at(dq, h)) + dt);
          store<f32>(at(dk, h), load<f32>(at(dk, h)) + dt);
          store<f32>(at(dv, h), load<f32>(at(dv, h)) + de * x);
        }
      }
    }
  }
}
