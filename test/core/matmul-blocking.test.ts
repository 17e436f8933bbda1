// The blocked GEMM against a plain triple loop, on shapes that cross every block edge (MR/NR = 4,
// KC = 256, MC = 64, NC = 1024) and on strided, transposed and batch-broadcast operands, on every
// backend. The PyTorch goldens use small shapes; these cover the blocking logic itself.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import type { Tensor } from "../../src/index.js";

/** C = A @ B for 2-D tensors, in doubles, reading through tolist (independent of the kernels). */
function naive(a: Tensor, b: Tensor): number[][] {
  const A = a.tolist() as number[][];
  const B = b.tolist() as number[][];
  const columns = Array.from({ length: b.shape[1] }, (_, j) => j);
  return A.map((row) => columns.map((j) => row.reduce((s, v, p) => s + v * B[p][j], 0)));
}

function assertMatches(actual: Tensor, expected: number[][], label: string): void {
  const got = actual.tolist() as number[][];
  assert.equal(got.length, expected.length, `${label}: rows`);
  for (let i = 0; i < got.length; i++) {
    assert.equal(got[i].length, expected[i].length, `${label}: columns`);
    for (let j = 0; j < got[i].length; j++) {
      const e = expected[i][j];
      if (!(Math.abs(got[i][j] - e) <= 1e-4 + 1e-4 * Math.abs(e))) assert.fail(`${label}: [${i}, ${j}] got ${got[i][j]}, expected ${e}`);
    }
  }
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [4, 4, 4],
  [65, 257, 9], // one row past MC, one k past KC
  [7, 300, 1030], // k across two KC blocks, n across two NC blocks
  [130, 3, 66],
  [2, 0, 3], // empty inner dimension: zeros
];

for (const backendName of flint.availableBackends()) {
  test(`blocked matmul matches a triple loop on block edges [${backendName}]`, () => {
    const previous = flint.getBackend();
    flint.setBackend(backendName);
    try {
      const generator = new flint.Generator(17);
      for (const [m, k, n] of SHAPES) {
        const a = flint.randn([m, k], { generator });
        const b = flint.randn([k, n], { generator });
        const expected = naive(a, b);
        assertMatches(a.matmul(b), expected, `${m}x${k} @ ${k}x${n}`);
        // the same product from transposed and step-sliced storage
        const aT = flint.randn([k, m], { generator });
        aT.copy_(a.t());
        assertMatches(aT.t().matmul(b), expected, `transposed A ${m}x${k}`);
        const bWide = flint.zeros([k, 2 * n]);
        bWide.slice(null, [null, null, 2]).copy_(b);
        assertMatches(a.matmul(bWide.slice(null, [null, null, 2])), expected, `step-sliced B ${k}x${n}`);
      }
      // a batch that broadcasts (stride-0 batch dim) and a real batch, checked slice by slice
      const a = flint.randn([3, 6, 70], { generator });
      const b = flint.randn([70, 5], { generator });
      const out = a.matmul(b.expand([3, 70, 5]));
      for (let i = 0; i < 3; i++) assertMatches(out.select(0, i), naive(a.select(0, i), b), `batch ${i}`);
    } finally {
      flint.setBackend(previous);
    }
  });
}
