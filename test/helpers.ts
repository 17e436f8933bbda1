// Shared test helpers: locating fixtures and data, and comparing tensors with tolerances.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { getBackend, setBackend, Tensor } from "../src/index.js";

/** The repository root (the folder holding package.json), found from this compiled file. */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
})();

export function fixturePath(relative: string): string {
  return join(repoRoot, "test", "fixtures", relative);
}

export function loadJsonFixture<T = unknown>(relative: string): T {
  return JSON.parse(readFileSync(fixturePath(relative), "utf8")) as T;
}

/** The shared datasets folder: $FLINT_DATA, else ../shared/data beside the repository. */
export function dataDir(): string {
  return process.env.FLINT_DATA ?? resolve(repoRoot, "..", "shared", "data");
}

export interface Golden {
  shape: number[];
  data: number[];
}

/** Asserts `actual` has the golden's shape and values within atol + rtol * |expected|. */
export function assertClose(actual: Tensor, expected: Golden | number[] | Tensor, options: { atol?: number; rtol?: number; message?: string } = {}): void {
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-4;
  const label = options.message ? `${options.message}: ` : "";
  let shape: readonly number[];
  let values: ArrayLike<number>;
  if (expected instanceof Tensor) {
    shape = expected.shape;
    values = expected.data() as ArrayLike<number>;
  } else if (Array.isArray(expected)) {
    shape = [expected.length];
    values = expected;
  } else {
    shape = expected.shape;
    values = expected.data;
  }
  if (!Array.isArray(expected)) assert.deepEqual([...actual.shape], [...shape], `${label}shape`);
  const got = actual.data() as ArrayLike<number>;
  assert.equal(got.length, values.length, `${label}element count`);
  for (let i = 0; i < got.length; i++) {
    const a = got[i];
    const e = values[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${label}element ${i}: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol}); shape [${shape.join(", ")}]`);
    }
  }
}

/** mulberry32: a small seeded generator in [0, 1), so a failing randomized case can be replayed. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One element of `xs`, drawn with `r`. */
export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** Runs `body` with the named backend active, then restores the one before. */
export function withBackend<T>(name: string, body: () => T): T {
  const previous = getBackend();
  setBackend(name);
  try {
    return body();
  } finally {
    setBackend(previous);
  }
}
