import { fail } from "../../core/errors.js";

// Node built-ins fetched at call time, so importing flint in a browser never touches node:fs.
type NodeModules = {
  fs: typeof import("node:fs");
  path: typeof import("node:path");
  zlib: typeof import("node:zlib");
  crypto: typeof import("node:crypto");
  childProcess: typeof import("node:child_process");
};

export function nodeModules(op: string): NodeModules {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== "function") fail(op, "reading datasets from disk needs Node.js >= 20.16 (process.getBuiltinModule)");
  const get = <T>(id: string) => proc.getBuiltinModule!(id) as T;
  return {
    fs: get("node:fs"),
    path: get("node:path"),
    zlib: get("node:zlib"),
    crypto: get("node:crypto"),
    childProcess: get("node:child_process"),
  };
}
