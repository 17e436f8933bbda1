import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as flint from "../../src/index.js";
import { LeNet5 } from "../../src/cli/models.js";
import { mnistSplit } from "../../src/cli/mnist-data.js";
import { evaluate } from "../../src/cli/evaluate.js";
import { assertClose, dataDir, fixturePath, loadJsonFixture, type Golden } from "../helpers.js";

interface Predictions {
  samples: number;
  predictions: number[];
  logitsFirst8: Golden;
}

const testImages = (samples: number) => mnistSplit("parity", join(dataDir(), "mnist"), false, { model: "lenet5", limit: samples });

/** Loads a LeNet-5 state dict and runs it on the first test images. */
function predict(file: string, samples: number): { predictions: number[]; logits: flint.Tensor } {
  const model = new LeNet5();
  model.loadStateDict(flint.load(fixturePath(file)));
  const dataset = testImages(samples);
  const logits = flint.noGrad(() => model.eval().forward(flint.stack(Array.from({ length: 8 }, (_, i) => dataset.get(i)[0]))));
  return { predictions: Array.from(evaluate(model, dataset).predictions), logits };
}

test("a LeNet-5 trained by PyTorch (safetensors.torch.save_file) predicts the same classes in flint", () => {
  const expected = loadJsonFixture<Predictions>("lenet/lenet5_torch.json");
  const { predictions, logits } = predict("lenet/lenet5_torch.safetensors", expected.samples);
  assert.deepEqual(predictions, expected.predictions);
  assertClose(logits, expected.logitsFirst8, { atol: 1e-4 });
});

test("the LeNet-5 flint trained (checked in PyTorch by gen_lenet.py --check-flint) still predicts what it did", () => {
  const expected = loadJsonFixture<Predictions>("lenet/lenet5_flint.json");
  const { predictions, logits } = predict("lenet/lenet5_flint.safetensors", expected.samples);
  assert.deepEqual(predictions, expected.predictions);
  assertClose(logits, expected.logitsFirst8, { atol: 1e-4 });
});
