import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { loadCases, runCase } from "./conv-fixtures.js";

const { nn } = flint;
const F = nn.functional;

for (const c of loadCases("locally.json")) {
  test(`locally connected golden: ${c.name}`, () => runCase(c));
}

test("LocallyConnected2d with every location's filter equal is a Conv2d", () => {
  const layer = new nn.LocallyConnected2d(2, 3, [5, 4], 3, { padding: 1 });
  const filters = flint.randn([3, 2, 3, 3]);
  const bias = flint.randn([3]);
  flint.noGrad(() => {
    layer.weight.copy_(filters.unsqueeze(0).unsqueeze(0).expand([5, 4, 3, 2, 3, 3]));
    layer.bias?.copy_(bias.reshape([3, 1, 1]).expand([3, 5, 4]));
  });
  const x = flint.randn([2, 2, 5, 4]);
  assert.ok(layer.forward(x).allclose(F.conv2d(x, filters, bias, { padding: 1 }), { atol: 1e-5 }));
});

test("LocallyConnected2d documents its layout in its shapes and checks its input", () => {
  const layer = new nn.LocallyConnected2d(1, 4, 6, 3, { stride: 1 });
  assert.deepEqual(layer.weight.shape, [4, 4, 4, 1, 3, 3]);
  assert.deepEqual(layer.bias?.shape, [4, 4, 4]);
  assert.deepEqual(Object.keys(layer.stateDict()), ["weight", "bias"]);
  assert.throws(() => layer.forward(flint.zeros([2, 1, 7, 6])), {
    message: "LocallyConnected2d: expected input of shape [N, 1, 6, 6] (or [1, 6, 6]), got [2, 1, 7, 6]",
  });
});
