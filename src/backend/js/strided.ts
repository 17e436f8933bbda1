import type { Layout } from "../../core/layout.js";

/** A layout flattened for iteration: adjacent dims that chain in every operand are merged. */
export interface Walk {
  shape: number[];
  /** strides[k] are operand k's strides, aligned with `shape`. */
  strides: number[][];
  offsets: number[];
}

/**
 * Merges dims that are contiguous with respect to each other in *all* operands, and drops
 * size-1 dims, so the innermost loop is as long as possible (a contiguous tensor becomes 1-D).
 */
export function coalesce(layouts: readonly Layout[]): Walk {
  const shape0 = layouts[0].shape;
  const shape: number[] = [];
  const strides: number[][] = layouts.map(() => []);
  for (let d = 0; d < shape0.length; d++) {
    if (shape0[d] === 1) continue;
    const last = shape.length - 1;
    const mergeable =
      last >= 0 && layouts.every((l, k) => strides[k][last] === l.strides[d] * shape0[d]);
    if (mergeable) {
      shape[last] *= shape0[d];
      layouts.forEach((l, k) => (strides[k][last] = l.strides[d]));
    } else {
      shape.push(shape0[d]);
      layouts.forEach((l, k) => strides[k].push(l.strides[d]));
    }
  }
  if (shape.length === 0) {
    shape.push(1);
    strides.forEach((s) => s.push(1));
  }
  return { shape, strides, offsets: layouts.map((l) => l.offset) };
}
