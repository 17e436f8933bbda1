// A strided 4-D copy inside linear memory: dst[i] = src[i] for every index i of a [d0, d1, d2, d3]
// shape, each side with its own element strides (permuting views into dense order and back).
// The outer two dims are split across shares.

/** args: [src, dst, d0, d1, d2, d3, src strides x4, dst strides x4]. */
export function stridedCopy(args: usize, share: i32, shares: i32): void {
  const src = <usize>load<u32>(args), dst = <usize>load<u32>(args, 4);
  const d1 = load<i32>(args, 12), d2 = load<i32>(args, 16), d3 = load<i32>(args, 20);
  const s0 = load<i32>(args, 24), s1 = load<i32>(args, 28), s2 = load<i32>(args, 32), s3 = load<i32>(args, 36);
  const t0 = load<i32>(args, 40), t1 = load<i32>(args, 44), t2 = load<i32>(args, 48), t3 = load<i32>(args, 52);
  const outer = load<i32>(args, 8) * d1;
  const first = <i32>(<i64>outer * share / shares);
  const end = <i32>(<i64>outer * (share + 1) / shares);
  const dense = s3 == 1 && t3 == 1;
  for (let o = first; o < end; o++) {
    const i0 = o / d1, i1 = o % d1;
    for (let i2 = 0; i2 < d2; i2++) {
      const from = src + <usize>(i0 * s0 + i1 * s1 + i2 * s2) * 4;
      const to = dst + <usize>(i0 * t0 + i1 * t1 + i2 * t2) * 4;
      let i3 = 0;
      if (dense) {
        for (; i3 + 4 <= d3; i3 += 4) v128.store(to + (<usize>i3 << 2), v128.load(from + (<usize>i3 << 2)));
        for (; i3 < d3; i3++) store<f32>(to + (<usize>i3 << 2), load<f32>(from + (<usize>i3 << 2)));
      } else {
        for (; i3 < d3; i3++) store<f32>(to + (<usize>(i3 * t3) << 2), load<f32>(from + (<usize>(i3 * s3) << 2)));
      }
    }
  }
}
