// Writes the flint-made fixtures that test/fixtures/gen_safetensors.py checks with the real
// safetensors library and torch:
//   safetensors/flint_written.safetensors  the tensors of flint-fixture-record.ts
//   safetensors/flint_model.safetensors    a flint Sequential(Linear(4, 3), BatchNorm1d(3)) stateDict,
//                                          with an input and flint's eval output in flint_model.json
// Run: npx tsc -p tsconfig.json && node dist/test/io/write-flint-fixture.js
import { writeFileSync } from "node:fs";
import * as flint from "../../src/index.js";
import { fixturePath } from "../helpers.js";
import { FLINT_FIXTURE, FLINT_METADATA, flintFixtureRecord } from "./flint-fixture-record.js";

flint.io.save(flintFixtureRecord(), fixturePath(FLINT_FIXTURE), FLINT_METADATA);

flint.manualSeed(0);
const model = new flint.nn.Sequential(new flint.nn.Linear(4, 3), new flint.nn.BatchNorm1d(3));
flint.noGrad(() => {
  for (let step = 0; step < 3; step++) model.forward(flint.randn([6, 4])); // moves the running stats
});
model.eval();
const x = flint.randn([5, 4]);
const y = flint.noGrad(() => model.forward(x) as flint.Tensor);
const state = model.stateDict();
flint.save(state, fixturePath("safetensors/flint_model.safetensors"));
const asJson = (t: flint.Tensor) => ({ shape: [...t.shape], data: Array.from(t.data() as Float32Array) });
writeFileSync(fixturePath("safetensors/flint_model.json"), JSON.stringify({ x: asJson(x), y: asJson(y), num_batches_tracked: state["1.num_batches_tracked"].item() }));
console.log("wrote safetensors/flint_written.safetensors, flint_model.safetensors and flint_model.json");
