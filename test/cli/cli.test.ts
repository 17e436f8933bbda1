import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as flint from "../../src/index.js";
import { dataDir, fixturePath, repoRoot } from "../helpers.js";

const mnist = join(dataDir(), "mnist");
const work = mkdtempSync(join(tmpdir(), "flint-cli-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

/** Runs the real `bin/flint.js` (which imports the compiled CLI). */
function flintCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "flint.js"), ...args], { encoding: "utf8", cwd: repoRoot });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

// A quick LeNet-5 recipe: 128 training and 128 test images, two epochs of four steps.
const quick = ["--data", mnist, "--limit", "128", "--batch-size", "32"];

test("usage, help and bad arguments give clear messages and exit codes", () => {
  const none = flintCli();
  assert.equal(none.status, 2);
  assert.match(none.stdout, /flint train <lenet\|lenet5> --data DIR/);
  assert.equal(flintCli("fly").status, 2);
  const help = flintCli("train", "--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--batch-size <n>\s+samples per step \(default 64\)/);
  assert.doesNotMatch(help.stdout, /--limit/);
  const cases: [string[], RegExp][] = [
    [["train", "lenet"], /flint train: train: --data DIR is required/],
    [["train", "resnet", "--data", mnist], /unknown model "resnet" \(choose one of: lenet, lenet5\)/],
    [["train", "lenet", "--data", mnist, "--epochs", "two"], /--epochs expects an integer, got "two"/],
    [["train", "lenet", "--data", mnist, "--colour"], /unknown option --colour/],
    [["train", "lenet", "--data", join(work, "nowhere")], /--data .*nowhere: no such directory \(it should hold the MNIST IDX files train-images-idx3-ubyte\.gz/],
    [["train", "lenet", "--data", work], /MNIST: dataset not found: train-images-idx3-ubyte\.gz \(or train-images-idx3-ubyte\) is missing from /],
    [["eval", "--data", mnist], /--checkpoint PATH is required/],
    [["eval", "--checkpoint", join(work, "none.safetensors"), "--data", mnist], /cannot read/],
  ];
  for (const [args, message] of cases) {
    const r = flintCli(...args);
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test("train lenet5 --json: progress on stderr, one JSON summary as the last stdout line; eval agrees", () => {
  const checkpoint = join(work, "lenet5-2.safetensors");
  const r = flintCli("train", "lenet5", ...quick, "--epochs", "2", "--json", "--save", checkpoint);
  assert.equal(r.status, 0, r.stderr);
  const summary = lastJson(r.stdout);
  assert.equal(summary.epochs, 2);
  assert.equal(summary.model, "lenet5");
  for (const key of ["test_accuracy", "test_loss", "train_seconds", "samples_per_second"]) assert.equal(typeof summary[key], "number", key);
  assert.ok((summary.test_accuracy as number) >= 0 && (summary.test_accuracy as number) <= 1);
  assert.equal(summary.train_samples, 128);
  const rss = summary.rss_mb_per_epoch as number[];
  assert.equal(rss.length, 2);
  for (const mb of rss) assert.ok(mb > 10 && mb < 4096, `resident MB ${mb}`);
  assert.match(r.stderr, /epoch 1\/2 \[.*\] step 4\/4 loss \d+\.\d{4} \d+ samples\/s ETA \d+:\d\d/);
  assert.match(r.stderr, /epoch 2\/2 /);
  // No temporary files left beside the checkpoint (written atomically).
  assert.deepEqual(readdirSync(work).filter((f) => f.includes("lenet5-2")), ["lenet5-2.safetensors"]);

  const evaluated = flintCli("eval", "--checkpoint", checkpoint, "--data", mnist, "--limit", "128", "--json");
  assert.equal(evaluated.status, 0, evaluated.stderr);
  const result = lastJson(evaluated.stdout);
  assert.equal(result.test_accuracy, summary.test_accuracy);
  assert.ok(Math.abs((result.test_loss as number) - (summary.test_loss as number)) < 1e-9);
  assert.equal(result.epochs, 2);

  // --resume continues exactly: 1 epoch + resume to 2 gives the same weights and optimizer state, bit for bit.
  const first = join(work, "lenet5-1.safetensors");
  const resumed = join(work, "lenet5-resumed.safetensors");
  assert.equal(flintCli("train", "lenet5", ...quick, "--epochs", "1", "--save", first).status, 0);
  const again = flintCli("train", "--resume", first, "--epochs", "2", "--save", resumed, "--json");
  assert.equal(again.status, 0, again.stderr);
  assert.equal(lastJson(again.stdout).epochs_run, 1);
  assert.equal(lastJson(again.stdout).test_accuracy, summary.test_accuracy);
  const direct = flint.io.loadWithMetadata(checkpoint);
  const viaResume = flint.io.loadWithMetadata(resumed);
  assert.deepEqual(Object.keys(viaResume.tensors).sort(), Object.keys(direct.tensors).sort());
  for (const [key, t] of Object.entries(direct.tensors)) assert.ok(viaResume.tensors[key].equal(t), `${key} differs after resume`);
  assert.equal(viaResume.metadata.epoch, "2");
  const done = flintCli("train", "--resume", resumed, "--epochs", "2");
  assert.equal(done.status, 1);
  assert.match(done.stderr, /has already completed 2 epochs; ask for more with --epochs N/);
});

test("eval reads a plain state dict saved by PyTorch and recognises the model", () => {
  const expected = JSON.parse(readFileSync(fixturePath("lenet/lenet5_torch.json"), "utf8")) as { predictions: number[] };
  const labels = new flint.datasets.MNIST(mnist, { train: false }).labels;
  const correct = expected.predictions.slice(0, 500).filter((p, i) => p === labels[i]).length;
  const r = flintCli("eval", "--checkpoint", fixturePath("lenet/lenet5_torch.safetensors"), "--data", mnist, "--limit", "500", "--json");
  assert.equal(r.status, 0, r.stderr);
  const result = lastJson(r.stdout);
  assert.equal(result.model, "lenet5");
  assert.equal(result.epochs, null);
  assert.equal(result.test_accuracy, correct / 500);
});

test("train lenet: PyTorch's state-dict keys and shapes plus the flattened SGD state in the checkpoint; --augment changes the run", () => {
  const plain = join(work, "lenet.safetensors");
  const augmented = join(work, "lenet-aug.safetensors");
  const args = ["--data", mnist, "--limit", "64", "--batch-size", "32", "--epochs", "1"];
  assert.equal(flintCli("train", "lenet", ...args, "--save", plain).status, 0);
  const r = flintCli("train", "lenet", ...args, "--augment", "--save", augmented, "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(lastJson(r.stdout).augment, true);
  const { tensors, metadata } = flint.io.loadWithMetadata(plain);
  const shapes = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.shape.slice()]));
  assert.deepEqual(shapes, {
    "conv1.weight": [20, 1, 5, 5],
    "conv1.bias": [20],
    "conv2.weight": [50, 20, 5, 5],
    "conv2.bias": [50],
    "fc1.weight": [500, 800],
    "fc1.bias": [500],
    "fc2.weight": [10, 500],
    "fc2.bias": [10],
    ...Object.fromEntries([[20, 1, 5, 5], [20], [50, 20, 5, 5], [50], [500, 800], [500], [10, 500], [10]].map((s, i) => [`optimizer.state.${i}.momentum_buffer`, s])),
  });
  const optimizer = JSON.parse(metadata.optimizer);
  assert.equal(optimizer.param_groups[0].lr, 0.01);
  assert.equal(optimizer.param_groups[0].momentum, 0.9);
  assert.deepEqual(optimizer.param_groups[0].params, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(metadata.model, "lenet");
  const other = flint.io.load(augmented);
  assert.ok(!other["conv1.weight"].equal(tensors["conv1.weight"]), "augmented inputs train different weights");
});
