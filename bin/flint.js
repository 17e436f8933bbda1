#!/usr/bin/env node
// The `flint` command. It runs the compiled CLI: build first with `npm run build`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("flint: the compiled CLI (dist/src/cli/main.js) is missing; run `npm run build` first\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
