// The tiny vector layer every kernel uses: one multiply-add, fused where the engine has
// relaxed SIMD (the relaxed build), a separate multiply and add otherwise.

// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** The sum of a vector's four lanes, in lane order. */
// @ts-ignore: decorator
@inline export function laneSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}
