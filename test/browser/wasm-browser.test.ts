// Browser proof: headless Chromium (Debian's `chromium`, driven by playwright-core) loads a page
// that runs matmul and conv2d, forward and backward, on the wasm backend and checks them against
// the JS backend: threaded in a cross-origin-isolated page, single-threaded in a plain one.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { after, before, test } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { repoRoot } from "../helpers.js";

const CHROMIUM = process.env.FLINT_CHROMIUM ?? "/usr/bin/chromium";
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".map": "application/json" };

let server: Server;
let browser: Browser;
let origin: string;

/** Serves the repository read-only; `/isolated/...` adds the headers that make a page cross-origin isolated. */
function serve(): Promise<string> {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const isolated = url.pathname.startsWith("/isolated/");
    const path = normalize(url.pathname.replace(/^\/isolated\//, "/"));
    const file = path === "/page.html" ? join(repoRoot, "test/browser/page.html") : join(repoRoot, path);
    if (!file.startsWith(repoRoot) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" };
    if (isolated || url.pathname.startsWith("/dist/")) {
      headers["Cross-Origin-Opener-Policy"] = "same-origin";
      headers["Cross-Origin-Embedder-Policy"] = "require-corp";
      headers["Cross-Origin-Resource-Policy"] = "same-origin";
    }
    res.writeHead(200, headers).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set FLINT_CHROMIUM`);
  origin = await serve();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

interface PageResult {
  error?: string;
  isolated: boolean;
  threads: number;
  shared: boolean;
  diffs: number[];
  magnitudes: number[];
}

async function runPage(path: string): Promise<PageResult> {
  const page = await browser.newPage();
  try {
    await page.goto(origin + path);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, null, { timeout: 20000 });
    return (await page.evaluate(() => (window as unknown as { result: unknown }).result)) as PageResult;
  } finally {
    await page.close();
  }
}

function assertAgree(result: PageResult): void {
  assert.equal(result.error, undefined, result.error);
  const names = ["matmul", "conv2d", "matmul grad a", "matmul grad b", "conv2d grad x", "conv2d grad w"];
  result.diffs.forEach((d, i) => assert.ok(d <= 1e-4 * Math.max(1, result.magnitudes[i]), `${names[i]}: wasm and js differ by ${d}`));
}

test("cross-origin-isolated page: wasm matmul and conv2d on two threads agree with the JS backend", async () => {
  const result = await runPage("/isolated/page.html");
  assertAgree(result);
  assert.equal(result.isolated, true);
  assert.equal(result.shared, true);
  assert.ok(result.threads >= 2, `expected worker threads, got ${result.threads}`);
});

test("plain page (not isolated): wasm runs single-threaded on private memory and agrees with the JS backend", async () => {
  const result = await runPage("/page.html");
  assertAgree(result);
  assert.equal(result.isolated, false);
  assert.equal(result.shared, false);
  assert.equal(result.threads, 1);
});
