import { spawnSync } from "node:child_process";
import { constants } from "node:os";

/**
 * glibc's malloc settings for training, which glibc reads once, at process start: so the `flint`
 * command and `npm run bench` run themselves again with them. By default glibc gives freed
 * multi-megabyte blocks back to the kernel, and every new one then costs a page fault per 4 KiB
 * page (1.6 us each on the 2-core VM). Per training step that was ~1,000 faults for LeNet in
 * `flint train lenet` (~2 ms of system time) and ~8,700 for the char-LSTM benchmark step
 * (~13 ms); with these settings freed memory stays in the process for the next result.
 */
export const MALLOC_SETTINGS: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(64 * 2 ** 20),
  MALLOC_TRIM_THRESHOLD_: String(256 * 2 ** 20),
  MALLOC_TOP_PAD_: String(64 * 2 ** 20),
};

/** On Linux, unless FLINT_MALLOC_TUNING=0 or some MALLOC_ setting of ours is already given. */
export function wantsMallocSettings(): boolean {
  if (process.platform !== "linux" || process.env.FLINT_MALLOC_TUNING === "0") return false;
  return Object.keys(MALLOC_SETTINGS).every((name) => process.env[name] === undefined);
}

/**
 * Runs `script` again in a new Node process with MALLOC_SETTINGS (same Node flags and arguments,
 * stdio shared) and returns its exit status, or null if it could not start.
 */
export function rerunWithMallocSettings(script: string): number | null {
  const args = [...process.execArgv, script, ...process.argv.slice(2)];
  const child = spawnSync(process.execPath, args, { stdio: "inherit", env: { ...process.env, ...MALLOC_SETTINGS } });
  if (child.error) return null;
  if (child.signal) return 128 + (constants.signals[child.signal] ?? 0);
  return child.status ?? 1;
}
