// Transformer layers against PyTorch goldens (train mode, dropout 0): outputs and all gradients,
// with padding and causal masks, pre/post norm, relu/gelu and batchFirst; state dicts loaded
// strictly, which proves PyTorch's keys.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose } from "../helpers.js";
import { checkAgainstGolden, loadCases } from "./seq-fixture.js";

const { nn } = flint;
const cases = loadCases("transformer.json");
const base = { dimFeedforward: 16, dropout: 0 };

test("TransformerEncoderLayer golden: post-norm relu with key padding", () => {
  const m = new nn.TransformerEncoderLayer(8, 2, base);
  checkAgainstGolden(m, cases.get("encoder_layer_post_relu_padding")!, ([x, p]) => [m.forward(x, { srcKeyPaddingMask: p })]);
});

test("TransformerEncoderLayer golden: pre-norm gelu batchFirst with a float causal mask", () => {
  const m = new nn.TransformerEncoderLayer(8, 2, { ...base, activation: "gelu", batchFirst: true, normFirst: true, layerNormEps: 1e-6 });
  checkAgainstGolden(m, cases.get("encoder_layer_pre_gelu_batchfirst_causal")!, ([x, mask]) => [m.forward(x, { srcMask: mask })]);
  // isCausal gives the same result as the explicit mask.
  const x = flint.randn([2, 5, 8]);
  assertClose(m.forward(x, { isCausal: true }), m.forward(x, { srcMask: nn.Transformer.generateSquareSubsequentMask(5) }), { atol: 1e-6 });
});

test("TransformerEncoder golden: 2 layers + final norm, key padding", () => {
  const m = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, base), 2, { norm: new nn.LayerNorm(8) });
  const keys = Object.keys(m.stateDict());
  assert.ok(keys.includes("layers.0.self_attn.in_proj_weight") && keys.includes("layers.1.linear2.bias") && keys.includes("norm.weight"));
  checkAgainstGolden(m, cases.get("encoder_2layers_norm_padding")!, ([x, p]) => [m.forward(x, { srcKeyPaddingMask: p })]);
});

test("TransformerDecoderLayer golden: causal tgt mask and memory padding; pre-norm batchFirst", () => {
  const m = new nn.TransformerDecoderLayer(8, 2, base);
  checkAgainstGolden(m, cases.get("decoder_layer_masks")!, ([t, mem, tm, kpm]) => [m.forward(t, mem, { tgtMask: tm, memoryKeyPaddingMask: kpm })]);
  const pre = new nn.TransformerDecoderLayer(8, 2, { ...base, normFirst: true, batchFirst: true });
  checkAgainstGolden(pre, cases.get("decoder_layer_prenorm_batchfirst")!, ([t, mem, kpm]) => [pre.forward(t, mem, { tgtKeyPaddingMask: kpm })]);
});

test("Transformer golden: full encoder-decoder, batchFirst, masks", () => {
  const m = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 16, dropout: 0, batchFirst: true });
  const keys = Object.keys(m.stateDict());
  assert.equal(keys.length, 2 * 12 + 2 + 2 * 18 + 2);
  assert.ok(keys.includes("decoder.layers.1.multihead_attn.out_proj.weight") && keys.includes("encoder.norm.bias") && keys.includes("decoder.layers.0.norm3.weight"));
  checkAgainstGolden(m, cases.get("transformer_full_batchfirst")!, ([src, tgt, tm, kpm]) =>
    [m.forward(src, tgt, { tgtMask: tm, srcKeyPaddingMask: kpm, memoryKeyPaddingMask: kpm })], { atol: 2e-4, rtol: 2e-4 });
});

test("generateSquareSubsequentMask is PyTorch's float mask", () => {
  const mask = nn.Transformer.generateSquareSubsequentMask(3);
  assert.deepEqual(mask.tolist(), [[0, -Infinity, -Infinity], [0, 0, -Infinity], [0, 0, 0]]);
});

test("TransformerEncoder copies its layer; Transformer validates shapes", () => {
  flint.manualSeed(0);
  const layer = new nn.TransformerEncoderLayer(8, 2, base);
  const enc = new nn.TransformerEncoder(layer, 3);
  assert.equal(enc.layers.length, 3);
  assertClose(enc.getParameter("layers.2.linear1.weight"), layer.linear1.weight, { atol: 0, rtol: 0 });
  assert.notEqual(enc.getParameter("layers.2.linear1.weight"), layer.linear1.weight);
  const t = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16 });
  assert.throws(() => t.forward(flint.randn([5, 2, 8]), flint.randn([4, 3, 8])), /Transformer\.forward: the batch number of src and tgt must be equal/);
  assert.throws(() => t.forward(flint.randn([5, 2, 6]), flint.randn([4, 2, 6])), /must be equal to dModel \(8\)/);
  assert.throws(() => new nn.TransformerEncoderLayer(8, 3), /dModel \(8\) must be divisible by nhead \(3\)/);
  // Dropout is on by default in training and off in eval.
  const x = flint.randn([5, 2, 8]);
  const tgt = flint.randn([4, 2, 8]);
  assert.ok(!t.forward(x, tgt).allclose(t.forward(x, tgt)));
  t.eval();
  assertClose(t.forward(x, tgt), t.forward(x, tgt), { atol: 0, rtol: 0 });
});

test("TransformerEncoderLayer repr is PyTorch's", () => {
  assert.equal(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 }).toString(), [
    "TransformerEncoderLayer(",
    "  (self_attn): MultiheadAttention(",
    "    (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)",
    "  )",
    "  (linear1): Linear(in_features=8, out_features=16, bias=True)",
    "  (dropout): Dropout(p=0.1, inplace=False)",
    "  (linear2): Linear(in_features=16, out_features=8, bias=True)",
    "  (norm1): LayerNorm((8,), eps=1e-05, elementwise_affine=True)",
    "  (norm2): LayerNorm((8,), eps=1e-05, elementwise_affine=True)",
    "  (dropout1): Dropout(p=0.1, inplace=False)",
    "  (dropout2): Dropout(p=0.1, inplace=False)",
    ")",
  ].join("\n"));
});
