// End to end with nn: a PyTorch model's state_dict, saved by safetensors.torch.save_file, loads
// into the same flint model with loadStateDict and computes PyTorch's output; and a flint
// model's checkpoint (checked by the generator to load into torch strictly) loads back into flint.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose, fixturePath, loadJsonFixture, type Golden } from "../helpers.js";

const { nn } = flint;
const makeModel = () => new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3));
const fromGolden = (g: Golden) => flint.tensor(g.data).reshape(g.shape);

test("a PyTorch Sequential(Linear, BatchNorm1d) state_dict loads with loadStateDict and gives PyTorch's output", () => {
  const golden = loadJsonFixture<{ x: Golden; y: Golden }>("safetensors/pytorch_model.json");
  const state = flint.load(fixturePath("safetensors/pytorch_model.safetensors"));
  assert.equal(state["1.num_batches_tracked"].dtype, "int32"); // stored as I64 by PyTorch
  assert.equal(state["1.num_batches_tracked"].item(), 2);
  const model = makeModel();
  model.loadStateDict(state);
  model.eval();
  const y = flint.noGrad(() => model.forward(fromGolden(golden.x)) as flint.Tensor);
  assertClose(y, golden.y, { atol: 1e-5, rtol: 1e-4 });
});

test("a flint model saved with flint.save loads back into a fresh model with the same output", () => {
  const folder = mkdtempSync(join(tmpdir(), "flint-io-model-"));
  try {
    flint.manualSeed(11);
    const model = makeModel();
    flint.noGrad(() => model.forward(flint.randn([8, 4]))); // training mode: running stats move
    const file = join(folder, "model.safetensors");
    flint.save(model.stateDict(), file);
    const copy = makeModel();
    copy.loadStateDict(flint.load(file));
    model.eval();
    copy.eval();
    const x = flint.randn([5, 4]);
    assertClose(flint.noGrad(() => copy.forward(x) as flint.Tensor), flint.noGrad(() => model.forward(x) as flint.Tensor), { atol: 0, rtol: 0 });
    assert.equal(copy.stateDict()["1.num_batches_tracked"].item(), 1);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test("the committed flint_model.safetensors (checked in PyTorch by the generator) reproduces flint_model.json", () => {
  const golden = loadJsonFixture<{ x: Golden; y: Golden; num_batches_tracked: number }>("safetensors/flint_model.json");
  const model = makeModel();
  model.loadStateDict(flint.load(fixturePath("safetensors/flint_model.safetensors")));
  model.eval();
  assertClose(flint.noGrad(() => model.forward(fromGolden(golden.x)) as flint.Tensor), golden.y, { atol: 1e-6, rtol: 1e-5 });
  assert.equal(model.stateDict()["1.num_batches_tracked"].item(), golden.num_batches_tracked);
});
