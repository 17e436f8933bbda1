import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, gunzipSync } from "node:zlib";
import * as flint from "../../src/index.js";
import { assertClose, dataDir, loadJsonFixture, type Golden } from "../helpers.js";

const T = flint.transforms;
const { MNIST, FashionMNIST } = flint.datasets;
const mnistDir = join(dataDir(), "mnist");

interface SplitFacts {
  count: number;
  firstLabels: number[];
  labelCounts: number[];
  pixelSumFirst: number;
  pixelSumLast: number;
  pixelSumAll: number;
}
const facts = loadJsonFixture<{ train: SplitFacts; test: SplitFacts; normalizedTest01: Golden }>("lenet/mnist.json");
const lenetTransform = () => new T.Compose([new T.ToTensor(), new T.Normalize([0.1307], [0.3081])]);

test("MNIST reads the gzipped IDX files: counts, labels and pixels match numpy's reading", () => {
  for (const [split, train] of [["train", true], ["test", false]] as const) {
    const ds = new MNIST(mnistDir, { train });
    const f = facts[split];
    assert.equal(ds.length, f.count);
    assert.deepEqual(Array.from(ds.labels.subarray(0, 20)), f.firstLabels);
    const counts = new Array(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    assert.deepEqual(counts, f.labelCounts);
    const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);
    assert.equal(sum(ds.image(0).data), f.pixelSumFirst);
    assert.equal(sum(ds.image(-1).data), f.pixelSumLast);
    assert.equal(sum(ds.pixels), f.pixelSumAll);
    const [image, label] = ds.get(0);
    assert.ok(image instanceof flint.data.RawImage);
    assert.equal(label, f.firstLabels[0]);
    assert.deepEqual(ds.targets.shape, [f.count]);
  }
});

test("MNIST with ToTensor + Normalize: get(i), getBatch and the DataLoader agree with torchvision's pipeline", () => {
  const ds = new MNIST(mnistDir, { train: false, transform: lenetTransform() });
  const [x0, y0] = ds.get(0);
  assert.deepEqual(x0.shape, [1, 28, 28]);
  assert.equal(y0, facts.test.firstLabels[0]);
  const batch = ds.getBatch([0, 1])!;
  assertClose(batch[0], facts.normalizedTest01, { atol: 1e-5 });
  assertClose(flint.stack([x0, ds.get(1)[0]]), facts.normalizedTest01, { atol: 1e-5 });
  const loader = new flint.data.DataLoader(ds, { batchSize: 1000 });
  let seen = 0;
  for (const [xb, yb] of loader) {
    assert.deepEqual(xb.shape.slice(1), [1, 28, 28]);
    assert.equal(yb.dtype, "int32");
    seen += yb.shape[0];
  }
  assert.equal(seen, 10000);
  // A random transform cannot be batched: the loader falls back to get(i) per sample.
  const augmented = new MNIST(mnistDir, { train: false, transform: new T.Compose([new T.ToTensor(), new T.RandomRotation(10)]) });
  assert.equal(augmented.getBatch([0]), undefined);
  const [xa, ya] = [...new flint.data.DataLoader(augmented, { batchSize: 3 })][0];
  assert.deepEqual(xa.shape, [3, 1, 28, 28]);
  assert.deepEqual(ya.tolist(), facts.test.firstLabels.slice(0, 3));
});

test("a directory without the files, or with corrupt ones, gives a clear error", () => {
  const dir = mkdtempSync(join(tmpdir(), "flint-mnist-"));
  try {
    assert.throws(() => new MNIST(dir), (e: Error) => e.message.startsWith("MNIST: dataset not found: train-images-idx3-ubyte.gz (or train-images-idx3-ubyte) is missing from ") && e.message.includes(dir) && /download: true/.test(e.message));
    assert.throws(() => new FashionMNIST(dir, { train: false }), /FashionMNIST: dataset not found: t10k-images-idx3-ubyte\.gz/);
    // Raw (un-gzipped) files are read too; a truncated images file is reported with its sizes.
    const images = gunzipSync(readFileSync(join(mnistDir, "t10k-images-idx3-ubyte.gz")));
    writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), gunzipSync(readFileSync(join(mnistDir, "t10k-labels-idx1-ubyte.gz"))));
    writeFileSync(join(dir, "t10k-images-idx3-ubyte"), images.subarray(0, 5000));
    assert.throws(() => new MNIST(dir, { train: false }), /parseIdx: .*t10k-images-idx3-ubyte: file is truncated: header declares shape \[10000, 28, 28\] = 7840000 bytes of data, but only 4984 follow/);
    writeFileSync(join(dir, "t10k-images-idx3-ubyte"), images);
    assert.equal(new MNIST(dir, { train: false }).length, 10000);
    // A gzip stream cut short, a wrong magic number, and images/labels that disagree.
    const gz = gzipSync(images);
    rmSync(join(dir, "t10k-images-idx3-ubyte"));
    writeFileSync(join(dir, "t10k-images-idx3-ubyte.gz"), gz.subarray(0, gz.length >> 1));
    assert.throws(() => new MNIST(dir, { train: false }), /MNIST: .*t10k-images-idx3-ubyte\.gz is not a valid gzip file .*truncated or corrupt/);
    const badMagic = Uint8Array.from(images);
    badMagic[0] = 0x1f;
    writeFileSync(join(dir, "t10k-images-idx3-ubyte.gz"), gzipSync(badMagic));
    assert.throws(() => new MNIST(dir, { train: false }), /parseIdx: .*not an IDX file \(bad magic number 0x1f000803\)/);
    const fewer = Uint8Array.from(images.subarray(0, 16 + 784 * 3));
    fewer[6] = 0;
    fewer[7] = 3; // declare 3 images
    writeFileSync(join(dir, "t10k-images-idx3-ubyte.gz"), gzipSync(fewer));
    assert.throws(() => new MNIST(dir, { train: false }), /MNIST: .*holds 3 images but .*holds 10000 labels/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A static file server in its own process (MNIST's download blocks this one's event loop). */
async function startServer(root: string): Promise<{ url: string; stop: () => void }> {
  const script = `
    const http = require("node:http"), fs = require("node:fs"), path = require("node:path");
    const server = http.createServer((req, res) => {
      const file = path.join(${JSON.stringify(root)}, decodeURIComponent(req.url));
      if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.statusCode = 404; return res.end(); }
      res.end(fs.readFileSync(file));
    });
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve) => child.stdout.once("data", (d) => resolve(String(d).trim())));
  return { url: `http://127.0.0.1:${port}/`, stop: () => child.kill() };
}

test("download: true fetches the files from the first mirror that has them and checks sha256; offline is a clear error", async () => {
  const served = mkdtempSync(join(tmpdir(), "flint-mirror-"));
  const target = mkdtempSync(join(tmpdir(), "flint-download-"));
  const saved = MNIST.mirrors;
  const server = await startServer(served);
  try {
    mkdirSync(join(served, "good"));
    mkdirSync(join(served, "bad"));
    for (const r of MNIST.resources) {
      const bytes = readFileSync(join(mnistDir, r.file));
      writeFileSync(join(served, "good", r.file), bytes);
      writeFileSync(join(served, "bad", r.file), bytes.subarray(0, 100));
    }
    // The first mirror 404s, the second serves corrupt files, the third the real ones.
    MNIST.mirrors = [`${server.url}missing/`, `${server.url}bad/`, `${server.url}good/`];
    const ds = new MNIST(target, { train: false, download: true });
    assert.equal(ds.length, 10000);
    for (const r of MNIST.resources) assert.ok(existsSync(join(target, r.file)), `${r.file} downloaded`);
    assert.deepEqual(Array.from(ds.labels.subarray(0, 20)), facts.test.firstLabels);
    // Only corrupt files on offer: the sha256 check refuses them and nothing is left behind.
    const empty = join(target, "again");
    MNIST.mirrors = [`${server.url}bad/`];
    assert.throws(() => new MNIST(empty, { download: true }), /MNIST: could not download train-images-idx3-ubyte\.gz \(.*sha256 mismatch/);
    assert.ok(!existsSync(join(empty, "train-images-idx3-ubyte.gz")));
    // Nothing listening: the message names the directory to place the files in.
    MNIST.mirrors = ["http://127.0.0.1:9/"];
    assert.throws(() => new MNIST(empty, { download: true }), (e: Error) => /MNIST: could not download train-images-idx3-ubyte\.gz/.test(e.message) && e.message.includes(`place the files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz in ${empty}`));
  } finally {
    MNIST.mirrors = saved;
    server.stop();
    rmSync(served, { recursive: true, force: true });
    rmSync(target, { recursive: true, force: true });
  }
});
