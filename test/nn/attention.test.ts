// nn.MultiheadAttention, F.scaledDotProductAttention and nn.AdditiveAttention against PyTorch
// goldens: outputs, attention weights, input and parameter gradients, with padding, bool, float
// and causal masks, kdim/vdim, batchFirst and unbatched inputs.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose } from "../helpers.js";
import { checkAgainstGolden, loadCases } from "./seq-fixture.js";

const { nn } = flint;
const F = nn.functional;
const cases = loadCases("attention.json");

test("MultiheadAttention golden: self-attention (one packed projection)", () => {
  const m = new nn.MultiheadAttention(8, 2);
  checkAgainstGolden(m, cases.get("mha_self")!, ([x]) => m.forward(x, x, x));
});

test("MultiheadAttention golden: kdim/vdim, batchFirst, key padding, per-head weights", () => {
  const m = new nn.MultiheadAttention(8, 2, { kdim: 5, vdim: 6, batchFirst: true });
  assert.deepEqual(Object.keys(m.stateDict()), ["q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]);
  checkAgainstGolden(m, cases.get("mha_kdim_vdim_batchfirst_padding_per_head")!, ([q, k, v, kpm]) => m.forward(q, k, v, { keyPaddingMask: kpm, averageAttnWeights: false }));
});

test("MultiheadAttention golden: bool attention mask with key padding", () => {
  const m = new nn.MultiheadAttention(8, 2);
  checkAgainstGolden(m, cases.get("mha_bool_mask_and_padding")!, ([q, k, v, am, kpm]) => m.forward(q, k, v, { attnMask: am, keyPaddingMask: kpm }));
});

test("MultiheadAttention golden: float 3-D attention mask", () => {
  const m = new nn.MultiheadAttention(8, 4);
  checkAgainstGolden(m, cases.get("mha_float_mask_3d")!, ([q, k, v, am]) => m.forward(q, k, v, { attnMask: am }));
});

test("MultiheadAttention golden: isCausal builds the causal mask", () => {
  const m = new nn.MultiheadAttention(8, 2, { batchFirst: true });
  checkAgainstGolden(m, cases.get("mha_causal_self_batchfirst")!, ([x]) => m.forward(x, x, x, { isCausal: true }));
});

test("MultiheadAttention golden: unbatched, no bias, needWeights false", () => {
  const m = new nn.MultiheadAttention(8, 2, { bias: false });
  assert.deepEqual(Object.keys(m.stateDict()), ["in_proj_weight", "out_proj.weight"]);
  checkAgainstGolden(m, cases.get("mha_unbatched_nobias_noweights")!, ([q, k, v, kpm]) => {
    const [out, weights] = m.forward(q, k, v, { keyPaddingMask: kpm, needWeights: false });
    assert.equal(weights, null);
    return [out];
  });
});

/** A parameterless module, so the shared golden checker can drive a plain function. */
class NoParameters extends nn.Module {
  forward(): void {}
}

test("F.scaledDotProductAttention golden: bool mask (True = attend), float mask with scale, isCausal", () => {
  const sdpa = new NoParameters();
  checkAgainstGolden(sdpa, cases.get("sdpa_bool_mask")!, ([q, k, v, am]) => [F.scaledDotProductAttention(q, k, v, { attnMask: am })]);
  checkAgainstGolden(sdpa, cases.get("sdpa_float_mask_scale")!, ([q, k, v, am]) => [F.scaledDotProductAttention(q, k, v, { attnMask: am, scale: 0.3 })]);
  checkAgainstGolden(sdpa, cases.get("sdpa_causal")!, ([q, k, v]) => [F.scaledDotProductAttention(q, k, v, { isCausal: true })]);
  const q = flint.randn([2, 3, 4]);
  assert.throws(() => F.scaledDotProductAttention(q, q, q, { isCausal: true, attnMask: flint.zeros([3, 3]) }), /scaledDotProductAttention: explicit attnMask should not be set when isCausal is true/);
  assert.throws(() => F.scaledDotProductAttention(q, flint.randn([2, 3, 5]), q), /must share the last dim/);
});

test("MultiheadAttention: init, repr, dropout and errors", () => {
  flint.manualSeed(0);
  const m = new nn.MultiheadAttention(8, 2);
  assert.equal(m.in_proj_bias!.abs().sum().item(), 0);
  assert.equal(m.out_proj.bias!.abs().sum().item(), 0);
  const bound = Math.sqrt(6 / (8 + 24));
  assert.ok(m.in_proj_weight!.abs().max().item() <= bound);
  assert.equal(m.toString(), "MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)\n)");
  const x = flint.randn([3, 2, 8]);
  const drop = new nn.MultiheadAttention(8, 2, { dropout: 0.5 });
  assert.ok(!drop.forward(x, x, x)[0].allclose(drop.forward(x, x, x)[0]));
  drop.eval();
  assertClose(drop.forward(x, x, x)[0], drop.forward(x, x, x)[0], { atol: 0, rtol: 0 });
  assert.throws(() => new nn.MultiheadAttention(10, 3), /MultiheadAttention: embedDim \(10\) must be divisible by numHeads \(3\)/);
  assert.throws(() => m.forward(x, x, flint.randn([3, 2, 7])), /value of shape \[3, 2, 7\] should have last dim 8/);
  assert.throws(() => m.forward(x, x, x, { attnMask: flint.zeros([2, 2]) }), /attnMask of shape \[2, 2\] should be \[3, 3\] or \[4, 3, 3\]/);
  assert.throws(() => m.forward(x, x, x, { keyPaddingMask: flint.zeros([3, 2], { dtype: "bool" }) }), /keyPaddingMask of shape \[3, 2\] should be \[2, 3\]/);
});

test("AdditiveAttention golden (Bahdanau: v^T tanh(W s + U h), masked softmax)", () => {
  const extras = loadCases("extras.json");
  const m = new nn.AdditiveAttention(6, 5, 7);
  assert.deepEqual(Object.keys(m.stateDict()), ["query_proj.weight", "key_proj.weight", "v.weight"]);
  checkAgainstGolden(m, extras.get("additive_attention_masked")!, ([s, h, mask]) => m.forward(s, h, { keyPaddingMask: mask }));
  const multi = new nn.AdditiveAttention(6, 5, 7, { bias: true });
  checkAgainstGolden(multi, extras.get("additive_attention_queries_values_bias")!, ([s, h, v]) => multi.forward(s, h, { values: v }));
});

test("gradcheck: multi-head attention with masks and additive attention", () => {
  flint.manualSeed(11);
  const mha = new nn.MultiheadAttention(4, 2, { kdim: 3, vdim: 5 });
  const q = flint.randn([3, 2, 4]).requiresGrad_();
  const k = flint.randn([4, 2, 3]).requiresGrad_();
  const v = flint.randn([4, 2, 5]).requiresGrad_();
  const kpm = flint.tensor([[false, false, true, true], [false, false, false, false]]);
  const attnMask = flint.randn([3, 4]);
  const mhaFn = (a: flint.Tensor, b: flint.Tensor, c: flint.Tensor): flint.Tensor => {
    const [out, weights] = mha.forward(a, b, c, { keyPaddingMask: kpm, attnMask });
    return out.sum().add(weights!.mul(weights!).sum());
  };
  assert.ok(flint.autograd.gradcheck(mhaFn, [q, k, v], { eps: 1e-2, atol: 1e-2, rtol: 1e-2 }));
  const additive = new nn.AdditiveAttention(4, 3, 6);
  const s = flint.randn([2, 4]).requiresGrad_();
  const h = flint.randn([2, 5, 3]).requiresGrad_();
  const mask = flint.tensor([[false, false, false, true, true], [false, false, false, false, false]]);
  assert.ok(flint.autograd.gradcheck((a, b) => additive.forward(a, b, { keyPaddingMask: mask })[0].sum(), [s, h], { eps: 1e-2, atol: 1e-2, rtol: 1e-2 }));
});

test("MultiheadAttention golden: addBiasKv and addZeroAttn with masks", () => {
  const m = new nn.MultiheadAttention(8, 2, { addBiasKv: true, addZeroAttn: true });
  assert.deepEqual(Object.keys(m.stateDict()), ["in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj.weight", "out_proj.bias"]);
  checkAgainstGolden(m, cases.get("mha_bias_kv_zero_attn_masks")!, ([q, k, v, am, kpm]) => m.forward(q, k, v, { attnMask: am, keyPaddingMask: kpm }));
});

test("F.multiHeadAttentionForward takes PyTorch's positional arguments and matches the module", () => {
  const c = cases.get("mha_bias_kv_zero_attn_masks")!;
  const m = new nn.MultiheadAttention(8, 2, { addBiasKv: true, addZeroAttn: true });
  checkAgainstGolden(m, c, ([q, k, v, am, kpm]) =>
    F.multiHeadAttentionForward(q, k, v, 8, 2, m.in_proj_weight!, m.in_proj_bias, m.bias_k, m.bias_v, true, 0, m.out_proj.weight, m.out_proj.bias, { attnMask: am, keyPaddingMask: kpm }));
  const x = flint.randn([3, 2, 8]);
  assert.throws(() => F.multiHeadAttentionForward(x, x, x, 6, 2, m.in_proj_weight!, null, null, null, false, 0, m.out_proj.weight, null), /multiHeadAttentionForward: was expecting embedding dimension of 6, but got 8/);
});
