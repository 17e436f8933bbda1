// PyTorch goldens (test/fixtures/gen_nn_conv.py, first_layer_cases) for a first layer at the size
// flint fuses: max pooling of a deferred convolution (or of its ReLU) in one backend call, and the
// weight and bias gradients from the pooling's unscattered gradient (src/ops/deferred-conv.ts,
// src/ops/deferred-pool-gradient.ts), on both backends.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose, loadJsonFixture } from "../helpers.js";
import { decode, type Encoded } from "./conv-fixtures.js";

const F = flint.nn.functional;

interface FirstLayerCase {
  name: string;
  relu: boolean;
  padding: number;
  input: Encoded;
  weight: Encoded;
  bias: Encoded;
  pooledChannelSums: Encoded;
  gradWeight: Encoded;
  gradBias: Encoded;
}

const CASES = loadJsonFixture<FirstLayerCase[]>("nn_conv/first-layer.json");

for (const backendName of ["js", "wasm"] as const) {
  test(`${backendName}: a fused first layer (conv, ReLU, max pooling) matches PyTorch, forward and parameter gradients`, () => {
    const previous = flint.getBackend();
    flint.setBackend(backendName);
    try {
      for (const c of CASES) {
        const x = decode(c.input);
        const weight = decode(c.weight).requiresGrad_();
        const bias = decode(c.bias).requiresGrad_();
        const y = F.conv2d(x, weight, bias, { padding: c.padding });
        const pooled = F.maxPool2d(c.relu ? F.relu(y) : y, 2);
        assert.equal(y.isMaterialized, false, `${c.name}: the convolution ran fused with the pooling`);
        // The generator's upstream gradient: m[i] = ((7 i) mod 11 - 5) / 4.
        const m = flint.tensor(Float32Array.from({ length: pooled.numel() }, (_, i) => (((7 * i) % 11) - 5) / 4)).reshape(pooled.shape as number[]);
        pooled.mul(m).sum().backward();
        assertClose(pooled.sum([0, 2, 3]), decode(c.pooledChannelSums), { atol: 1e-3, rtol: 1e-4, message: `${c.name}: pooled sums` });
        assertClose(weight.grad!, decode(c.gradWeight), { atol: 1e-3, rtol: 1e-4, message: `${c.name}: weight gradient` });
        assertClose(bias.grad!, decode(c.gradBias), { atol: 1e-3, rtol: 1e-4, message: `${c.name}: bias gradient` });
      }
    } finally {
      flint.setBackend(previous);
    }
  });
}
