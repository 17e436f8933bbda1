// Writes test/fixtures/lenet/lenet5_flint.{safetensors,json}: a LeNet-5 trained by flint's CLI
// (1 epoch on the first 10000 training images, as gen_lenet.py trains PyTorch's), saved as a plain
// state dict, with its predictions on the first 2000 test images. gen_lenet.py --check-flint then
// loads it into PyTorch and checks the predictions.
//   npx tsc -p tsconfig.json && node dist/test/cli/write-lenet5-fixture.js
import { join } from "node:path";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as flint from "../../src/index.js";
import { main } from "../../src/cli/main.js";
import { LeNet5 } from "../../src/cli/models.js";
import { mnistSplit } from "../../src/cli/mnist-data.js";
import { evaluate } from "../../src/cli/evaluate.js";
import { dataDir, fixturePath } from "../helpers.js";

const work = mkdtempSync(join(tmpdir(), "flint-lenet5-"));
const checkpoint = join(work, "lenet5.safetensors");
const status = await main(["train", "lenet5", "--data", join(dataDir(), "mnist"), "--epochs", "1", "--limit", "10000", "--save", checkpoint]);
if (status !== 0) throw new Error(`training failed with status ${status}`);
const model = new LeNet5();
const state = flint.load(checkpoint);
model.loadStateDict(Object.fromEntries(Object.entries(state).filter(([k]) => !k.startsWith("optimizer."))));
rmSync(work, { recursive: true, force: true });
flint.save(model.stateDict(), fixturePath("lenet/lenet5_flint.safetensors"));
const dataset = mnistSplit("fixture", join(dataDir(), "mnist"), false, { model: "lenet5", limit: 2000 });
const result = evaluate(model, dataset);
const logits = flint.noGrad(() => model.eval().forward(flint.stack(Array.from({ length: 8 }, (_, i) => dataset.get(i)[0]))));
writeFileSync(
  fixturePath("lenet/lenet5_flint.json"),
  JSON.stringify({ samples: 2000, predictions: Array.from(result.predictions), logitsFirst8: { shape: logits.shape, data: Array.from(logits.data()) }, accuracy: result.accuracy }),
);
console.log(`wrote lenet5_flint: accuracy ${result.accuracy} on 2000 test images`);
