// `node dist/bench/compare-builds.js --base DIR [--only lenetStep,charLstmStep] [--reps 5]
// [--steps 20] [--threads N]`: times workloads of bench/workloads.ts in another build of flint (DIR:
// a checkout with `dist/` built, e.g. `git worktree add /tmp/base HEAD~1` then `npx tsc` there,
// with node_modules linked) and in this one, alternating the two run by run so that the machine's
// drift hits both alike, and prints every run and the median ratio this/base. On a shared or
// virtualised machine, where identical runs minutes apart differ by 25% or more, this is the way to
// judge a change; `npm run bench` compares against PyTorch and TensorFlow.js instead.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const here = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const base = option("--base");
if (base === undefined || !existsSync(resolve(base, "dist/bench/workloads.js"))) {
  process.stderr.write("compare-builds: --base DIR must name a checkout with dist/bench/workloads.js built (npx tsc there)\n");
  process.exit(2);
}
const workloads = (option("--only") ?? "lenetStep").split(",");
const reps = Number(option("--reps") ?? 5);
const steps = Number(option("--steps") ?? 20);
const threads = option("--threads");

// One child process per timing, so the two builds never share a wasm runtime or a heap: a warm-up
// of 3 steps, then the mean wall time of `steps` steps.
const child = `
const { WORKLOADS } = await import(process.argv[1] + "/dist/bench/workloads.js");
const step = WORKLOADS[process.argv[2]]();
for (let i = 0; i < 3; i++) step();
const n = Number(process.argv[3]);
const t0 = performance.now();
for (let i = 0; i < n; i++) step();
console.log((performance.now() - t0) / n);
process.exit(0);`;

function time(root: string, workload: string): number {
  const env = threads === undefined ? process.env : { ...process.env, FLINT_NUM_THREADS: threads };
  const run = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--input-type=module", "-e", child, root, workload, String(steps)], { env, encoding: "utf8" });
  const ms = Number(run.stdout.trim().split("\n").pop());
  if (run.status !== 0 || !Number.isFinite(ms)) throw new Error(`compare-builds: ${workload} failed in ${root}: ${run.stderr.trim().split("\n").pop()}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const workload of workloads) {
  const ratios: number[] = [];
  for (let r = 0; r < reps; r++) {
    // Alternate which build goes first, so neither always runs on the warmer or cooler machine.
    const order = r % 2 === 0 ? [resolve(base), here] : [here, resolve(base)];
    const ms = new Map(order.map((root) => [root, time(root, workload)]));
    const [b, c] = [ms.get(resolve(base))!, ms.get(here)!];
    ratios.push(c / b);
    console.log(`${workload} run ${r + 1}: base ${b.toFixed(2)} ms, this ${c.toFixed(2)} ms, ratio ${(c / b).toFixed(3)}`);
  }
  console.log(`${workload}: median ratio this/base ${median(ratios).toFixed(3)} over ${reps} runs`);
}
