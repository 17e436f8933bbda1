import { fail } from "../core/errors.js";
import type { Backend } from "./backend.js";

/** Backends by name; "js" is always present, faster ones register themselves when loaded. */
const backends = new Map<string, () => Backend>();
let active: Backend | null = null;

export function registerBackend(name: string, factory: () => Backend): void {
  backends.set(name, factory);
}

export function backend(): Backend {
  if (active === null) active = pickDefault();
  return active;
}

function pickDefault(): Backend {
  const fromEnv = typeof process !== "undefined" ? process.env?.FLINT_BACKEND : undefined;
  if (fromEnv) return instantiate(fromEnv);
  return instantiate(backends.has("wasm") ? "wasm" : "js");
}

function instantiate(name: string): Backend {
  const factory = backends.get(name);
  if (!factory) fail("setBackend", `unknown backend "${name}" (available: ${[...backends.keys()].join(", ")})`);
  return factory();
}

/** Switches every later op to the named backend ("js" or "wasm"). */
export function setBackend(name: string): void {
  active = instantiate(name);
}

export function getBackend(): string {
  return backend().name;
}

export function availableBackends(): string[] {
  return [...backends.keys()];
}
