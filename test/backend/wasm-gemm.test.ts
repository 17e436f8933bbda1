// The GEMM kernel's job options against a plain float64 reference: B pre-packed once and
// reused with new A (as the recurrences' per-step GEMMs do), strided / transposed / blocked B,
// blocked C, row and column bias, ReLU and accumulate, on shapes that are not multiples of the
// register tile or the cache blocks, in both builds, on 1-3 threads and with 1 or 4 shares per
// thread (row and column splits).
import assert from "node:assert/strict";
import { test } from "node:test";
import { GEMM_ARG_A_PTR, type GemmJob, type GemmOperand, prepareGemm } from "../../src/backend/wasm/matmul.js";
import { WasmRuntime } from "../../src/backend/wasm/runtime.js";
import { pick, rng } from "../helpers.js";
import { wasmRuntimes } from "../wasm-helpers.js";

const RUNTIMES = wasmRuntimes();

interface Case {
  m: number;
  n: number;
  k: number;
  bLayout: "rows" | "transposed" | "strided" | "blocked";
  cBlock: number; // 0: plain rows
  bias: "none" | "rows" | "cols";
  relu: boolean;
  accumulate: boolean;
}

/** Element (p, j) of B's storage offset, for each layout (blocked: columns in blocks of 5). */
function bOperand(c: Case, ptr: number): { operand: GemmOperand; at: (p: number, j: number) => number; size: number } {
  const { n, k } = c;
  if (c.bLayout === "transposed") return { operand: { ptr, batch: 0, row: 1, col: k }, at: (p, j) => j * k + p, size: k * n };
  if (c.bLayout === "strided") return { operand: { ptr, batch: 0, row: 2 * n + 3, col: 2 }, at: (p, j) => p * (2 * n + 3) + 2 * j, size: k * (2 * n + 3) };
  if (c.bLayout === "blocked") {
    const block = 5, blockStride = 7 * k; // block q of 5 columns at q * 7k, its rows 7 apart
    return { operand: { ptr, batch: 0, row: 7, col: 1, block, blockStride }, at: (p, j) => Math.floor(j / block) * blockStride + p * 7 + (j % block), size: Math.ceil(n / block) * blockStride };
  }
  return { operand: { ptr, batch: 0, row: n, col: 1 }, at: (p, j) => p * n + j, size: k * n };
}

function cAt(c: Case, i: number, j: number): number {
  if (c.cBlock === 0) return i * c.n + j;
  return Math.floor(j / c.cBlock) * c.m * c.cBlock + i * c.cBlock + (j % c.cBlock);
}

function check(label: string, rt: WasmRuntime, c: Case, perThread: number, r: () => number): void {
  const { m, n, k } = c;
  rt.reset();
  const put = (length: number, slack = 0): { ptr: number; values: Float32Array } => {
    const ptr = rt.alloc((length + slack) * 4);
    const values = Float32Array.from({ length }, () => r() * 2 - 1);
    rt.f32(ptr, length).set(values);
    return { ptr, values };
  };
  const bData = put(bOperand(c, 0).size);
  const b = bOperand(c, bData.ptr);
  const bias = put(c.bias === "rows" ? m : n, 8);
  // A blocked C's last block may be partial: its missing columns must stay untouched.
  const cSize = c.cBlock === 0 ? m * n : Math.ceil(n / c.cBlock) * m * c.cBlock;
  const cData = put(cSize);
  const start = cData.values.slice();
  const job: GemmJob = {
    a: { ptr: 0, batch: 0, row: k, col: 1 }, b: b.operand,
    c: c.cBlock === 0 ? { ptr: cData.ptr, batch: 0, row: n, col: 1 } : { ptr: cData.ptr, batch: 0, row: c.cBlock, col: 1, block: c.cBlock, blockStride: m * c.cBlock },
    batch: 1, m, n, k, relu: c.relu, accumulate: c.accumulate, prepackB: true,
    bias: c.bias === "none" ? undefined : { ptr: bias.ptr, mode: c.bias, batch: 0 },
  };
  const prepared = prepareGemm(rt, job, { perThread });
  // Overwrite B after packing: the prepared GEMM must not read it again.
  rt.f32(bData.ptr, b.size).fill(Number.NaN);
  let expectedC = start;
  // Two runs with different A, as a recurrence's steps: C accumulates over both when asked.
  for (let run = 0; run < 2; run++) {
    const a = put(m * k);
    rt.i32(prepared.args + 4 * GEMM_ARG_A_PTR, 1)[0] = a.ptr;
    rt.run("matmul", prepared.args, prepared.shares, prepared.perThread);
    const want = expectedC.slice();
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = c.bias === "rows" ? bias.values[i] : c.bias === "cols" ? bias.values[j] : 0;
        for (let p = 0; p < k; p++) sum += a.values[i * k + p] * bData.values[b.at(p, j)];
        const at = cAt(c, i, j);
        const v = (c.accumulate ? expectedC[at] : 0) + sum;
        want[at] = c.relu ? Math.max(0, v) : v;
      }
    }
    const got = rt.f32(cData.ptr, cSize);
    for (let e = 0; e < cSize; e++) {
      if (!(Math.abs(got[e] - want[e]) <= 1e-5 * Math.max(k, 1) + 1e-5 * Math.abs(want[e]))) {
        assert.fail(`${label}, ${JSON.stringify(c)}, ${perThread} share(s)/thread, run ${run}: element ${e} is ${got[e]}, expected ${want[e]}`);
      }
    }
    expectedC = want;
  }
}

test("a pre-packed B is reused across runs with new A, with every epilogue, layout and split", () => {
  const r = rng(4242);
  const dims = [1, 3, 4, 5, 7, 8, 9, 13, 17, 31, 33, 40];
  for (const { label, rt } of RUNTIMES) {
    for (let trial = 0; trial < 24; trial++) {
      const c: Case = {
        m: pick(r, dims), n: pick(r, dims), k: pick(r, [0, 1, 2, 5, 16, 37]),
        bLayout: pick(r, ["rows", "transposed", "strided", "blocked"] as const),
        cBlock: pick(r, [0, 0, 3, 8]), bias: pick(r, ["none", "rows", "cols"] as const),
        relu: r() < 0.5, accumulate: r() < 0.5,
      };
      check(label, rt, c, pick(r, [1, 4]), r);
    }
  }
});

test("pre-packed B across cache blocks: K > 256, N > 1024 and M > 128, split by rows and by columns", () => {
  const r = rng(77);
  const cases: Case[] = [
    { m: 7, n: 1030, k: 300, bLayout: "transposed", cBlock: 0, bias: "cols", relu: false, accumulate: true },
    { m: 260, n: 19, k: 513, bLayout: "rows", cBlock: 0, bias: "rows", relu: true, accumulate: false },
    { m: 131, n: 45, k: 257, bLayout: "blocked", cBlock: 9, bias: "none", relu: false, accumulate: true },
  ];
  for (const { label, rt } of [RUNTIMES[0], RUNTIMES[4], RUNTIMES[5]]) {
    for (const c of cases) for (const perThread of [1, 4]) check(label, rt, c, perThread, r);
  }
});

test("pre-packing B fails clearly for a batch with a B per matrix", () => {
  const { rt } = RUNTIMES[0];
  rt.reset();
  const ptr = rt.alloc(64 * 4);
  const operand = { ptr, batch: 4, row: 2, col: 1 };
  assert.throws(() => prepareGemm(rt, { a: operand, b: operand, c: operand, batch: 2, m: 2, n: 2, k: 2, prepackB: true }), /matmul.*pre-packed B/);
});
