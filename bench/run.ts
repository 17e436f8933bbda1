// `npm run bench [-- --json] [--only gemm1024,lenetStep] [--budget 1500] [--rounds 1] [--slow]`:
// times every workload in flint, PyTorch (Debian's python3-torch via /usr/bin/python3, best of
// several thread settings) and TensorFlow.js 4.22 (wasm and cpu backends; not the sequence
// models), in one run, and prints the medians and the ratios flint/other (below 1 means flint is
// faster). With --rounds N, flint and PyTorch take turns N times (PyTorch in its best setting
// after the first round) and the flint/PyTorch ratio is the median of the rounds' ratios: on a
// machine whose speed drifts by minutes, that compares the two at the same moments.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { setFlagsFromString } from "node:v8";
import { fileURLToPath } from "node:url";
import * as flint from "../src/index.js";
import "../src/backend/wasm/index.js";
import { wasmRuntime } from "../src/backend/wasm/runtime.js";
import { medianMs } from "./timing.js";
import { DESCRIPTIONS, MIN_BUDGET_MS, WORKLOADS } from "./workloads.js";
import { registerTfGradients } from "./tfjs-gradients.js";
import { TF_WORKLOADS, tf, useTfBackend } from "./tfjs-workloads.js";

// Node 20 validates relaxed SIMD only behind this flag (Node >= 22 has it on); the wasm backend
// detects the feature when it first compiles its kernels, which happens after this line.
setFlagsFromString("--experimental-wasm-relaxed-simd");

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const json = args.includes("--json");
const budget = Number(option("--budget") ?? 1500);
const rounds = Math.max(1, Number(option("--rounds") ?? 1));
const names = (option("--only")?.split(",") ?? Object.keys(WORKLOADS)).filter((n) => n in WORKLOADS);

type Cell = { ms: number | null; note?: string };
const results: Record<string, Record<string, Cell>> = {};
const put = (workload: string, lib: string, cell: Cell) => ((results[workload] ??= {})[lib] = cell);
const log = (msg: string) => json || process.stderr.write(msg + "\n");

type Timed = { ms: number; note: string };

/**
 * PyTorch under each thread setting in its own process (BLAS reads its settings at load): each
 * workload's best time and setting. `only` limits the settings tried (by label).
 */
function runTorch(only: Set<string> | null): Record<string, Timed> {
  const best: Record<string, Timed> = {};
  const python = "/usr/bin/python3";
  const script = fileURLToPath(new URL("../../bench/torch_workloads.py", import.meta.url));
  if (!existsSync(python)) {
    for (const n of names) put(n, "pytorch", { ms: null, note: "no /usr/bin/python3" });
    return best;
  }
  const cores = availableParallelism();
  const settings: Record<string, Record<string, string>> = {
    [`default`]: {},
    [`blas1/intra${cores}`]: { OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", FLINT_TORCH_THREADS: String(cores) },
    [`blas${cores}/intra1`]: { OPENBLAS_NUM_THREADS: String(cores), FLINT_TORCH_THREADS: "1" },
  };
  for (const [label, env] of Object.entries(settings)) {
    if (only !== null && !only.has(label)) continue;
    log(`pytorch (${label}) ...`);
    const run = spawnSync(python, [script, ...names], { env: { ...process.env, ...env, FLINT_BENCH_BUDGET: String(budget / 1000) }, encoding: "utf8" });
    if (run.status !== 0) {
      for (const n of names) results[n]?.pytorch ?? put(n, "pytorch", { ms: null, note: run.stderr.trim().split("\n").pop() });
      continue;
    }
    const times = JSON.parse(run.stdout) as Record<string, number>;
    for (const [n, ms] of Object.entries(times)) if (best[n] === undefined || ms < best[n].ms) best[n] = { ms, note: label };
  }
  return best;
}

function runFlint(): Record<string, Timed> {
  flint.setBackend("wasm");
  const rt = wasmRuntime();
  rt.waitForThreads(); // they start asynchronously
  const note = `wasm, ${rt.threads} threads${rt.relaxedSimd ? ", relaxed SIMD" : ""}`;
  const times: Record<string, Timed> = {};
  for (const n of names) {
    log(`flint ${n} ...`);
    times[n] = { ms: medianMs(WORKLOADS[n](), Math.max(budget, MIN_BUDGET_MS[n] ?? 0)), note };
  }
  return times;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// The median of the rounds' flint/PyTorch ratios, per workload (only with --rounds > 1).
const roundRatios: Record<string, number> = {};

/** flint and PyTorch in turns, `rounds` times; each cell is the median of the rounds. */
function runFlintAndTorch(): void {
  const flintRounds: Record<string, number[]> = {};
  const torchRounds: Record<string, Timed[]> = {};
  const ratios: Record<string, number[]> = {};
  let torchSettings: Set<string> | null = null;
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) log(`round ${round} of ${rounds}`);
    const flintTimes = runFlint();
    const torchTimes = runTorch(torchSettings);
    torchSettings = new Set(Object.values(torchTimes).map((t) => t.note));
    for (const n of names) {
      (flintRounds[n] ??= []).push(flintTimes[n].ms);
      if (torchTimes[n] === undefined) continue;
      (torchRounds[n] ??= []).push(torchTimes[n]);
      (ratios[n] ??= []).push(flintTimes[n].ms / torchTimes[n].ms);
    }
    for (const n of names) put(n, "flint", { ms: median(flintRounds[n]), note: flintTimes[n].note });
  }
  const roundsNote = rounds > 1 ? `, median of ${rounds} rounds` : "";
  for (const n of names) {
    const torch = torchRounds[n];
    if (torch === undefined) continue;
    const settings = [...new Set(torch.map((t) => t.note))].join(", ");
    put(n, "pytorch", { ms: median(torch.map((t) => t.ms)), note: settings + roundsNote });
    if (rounds > 1) roundRatios[n] = median(ratios[n]);
  }
}

// TensorFlow.js's JS backend needs minutes per LeNet step; it runs those only with --slow.
const SLOW_ON_TFJS_CPU = new Set(["lenetConv", "lenetStep"]);

async function runTf(backend: "wasm" | "cpu"): Promise<void> {
  await useTfBackend(backend);
  for (const n of names) {
    if (!(n in TF_WORKLOADS)) {
      put(n, `tfjs-${backend}`, { ms: null, note: "not written for TensorFlow.js" });
      continue;
    }
    if (backend === "cpu" && SLOW_ON_TFJS_CPU.has(n) && !args.includes("--slow")) {
      put(n, "tfjs-cpu", { ms: null, note: "skipped (minutes per step; run with --slow)" });
      continue;
    }
    log(`tfjs-${backend} ${n} ...`);
    try {
      const step = TF_WORKLOADS[n]();
      put(n, `tfjs-${backend}`, { ms: medianMs(step, budget, backend === "cpu" ? 3 : 5) });
    } catch (e) {
      put(n, `tfjs-${backend}`, { ms: null, note: (e as Error).message.split("\n")[0].slice(0, 80) });
    }
    tf.disposeVariables();
  }
}

function table(): string {
  const libs = ["flint", "pytorch", "tfjs-wasm", "tfjs-cpu"];
  const fmt = (c?: Cell) => (c?.ms == null ? "n/a" : c.ms < 10 ? c.ms.toFixed(2) : c.ms.toFixed(1));
  const ratio = (n: string, lib: string) => {
    if (lib === "pytorch" && roundRatios[n] !== undefined) return roundRatios[n].toFixed(2) + "x";
    const a = results[n]?.flint?.ms;
    const b = results[n]?.[lib]?.ms;
    return a == null || b == null ? "n/a" : (a / b).toFixed(2) + "x";
  };
  const lines = [
    `| workload | flint ms | PyTorch ms | tfjs-wasm ms | tfjs-cpu ms | flint/PyTorch | flint/tfjs-wasm | flint/tfjs-cpu |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|`,
  ];
  for (const n of names) {
    const r = results[n] ?? {};
    lines.push(`| ${DESCRIPTIONS[n]} | ${libs.map((l) => fmt(r[l])).join(" | ")} | ${["pytorch", "tfjs-wasm", "tfjs-cpu"].map((l) => ratio(n, l)).join(" | ")} |`);
  }
  const notes = new Set<string>();
  for (const n of names) for (const [lib, c] of Object.entries(results[n] ?? {})) if (c.note) notes.add(`${lib} (${n}): ${c.note}`);
  const ratioNote = rounds > 1 ? ` flint/PyTorch is the median of the ${rounds} rounds' ratios.` : "";
  return [...lines, "", `Medians of repeated runs; ratios are flint time / other time (below 1 = flint faster).${ratioNote}`, ...[...notes].map((s) => `- ${s}`)].join("\n");
}

runFlintAndTorch();
await registerTfGradients();
await runTf("wasm");
await runTf("cpu");
const report = json ? JSON.stringify({ node: process.version, cores: availableParallelism(), rounds, results, flintOverPytorch: roundRatios }, null, 2) : table();
// Exit once stdout is flushed: TensorFlow.js leaves handles open that would keep Node running.
process.stdout.write(report + "\n", () => process.exit(0));
