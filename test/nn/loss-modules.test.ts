import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose } from "../helpers.js";

const { nn } = flint;
const F = nn.functional;

describe("loss modules", () => {
  const x = flint.randn([4, 3]);
  const y = flint.randn([4, 3]);
  const labels = flint.tensor([0, 2, 1, -100], { dtype: "int32" });
  const weight = flint.tensor([0.5, 1, 2]);

  it("call their functional twins with the stored options", () => {
    assertClose(new nn.MSELoss().forward(x, y), F.mseLoss(x, y));
    assertClose(new nn.L1Loss({ reduction: "sum" }).forward(x, y), F.l1Loss(x, y, { reduction: "sum" }));
    assertClose(new nn.SmoothL1Loss({ beta: 0.5, reduction: "none" }).forward(x, y), F.smoothL1Loss(x, y, { beta: 0.5, reduction: "none" }));
    assertClose(new nn.HuberLoss({ delta: 2 }).forward(x, y), F.huberLoss(x, y, { delta: 2 }));
    assertClose(new nn.CrossEntropyLoss({ weight, labelSmoothing: 0.1 }).forward(x, labels), F.crossEntropy(x, labels, { weight, labelSmoothing: 0.1 }));
    assertClose(new nn.NLLLoss({ ignoreIndex: 1 }).forward(F.logSoftmax(x, 1), flint.tensor([0, 1, 1, 2], { dtype: "int32" })), F.nllLoss(F.logSoftmax(x, 1), flint.tensor([0, 1, 1, 2], { dtype: "int32" }), { ignoreIndex: 1 }));
    const p = x.sigmoid();
    const t = y.sigmoid();
    assertClose(new nn.BCELoss({ weight }).forward(p, t), F.binaryCrossEntropy(p, t, { weight }));
    assertClose(new nn.BCEWithLogitsLoss({ posWeight: weight }).forward(x, t), F.binaryCrossEntropyWithLogits(x, t, { posWeight: weight }));
    const lp = F.logSoftmax(x, 1);
    assertClose(new nn.KLDivLoss({ reduction: "batchmean", logTarget: true }).forward(lp, F.logSoftmax(y, 1)), F.kldiv(lp, F.logSoftmax(y, 1), { reduction: "batchmean", logTarget: true }));
  });

  it("keep class weights as buffers under PyTorch's state-dict keys", () => {
    assert.deepEqual(Object.keys(new nn.CrossEntropyLoss().stateDict()), []);
    assert.deepEqual(Object.keys(new nn.CrossEntropyLoss({ weight }).stateDict()), ["weight"]);
    assert.deepEqual(Object.keys(new nn.BCEWithLogitsLoss({ weight, posWeight: weight }).stateDict()), ["weight", "pos_weight"]);
    assert.equal(new nn.MSELoss().parameters().length, 0);
  });

  it("print like PyTorch", () => {
    assert.equal(new nn.CrossEntropyLoss().toString(), "CrossEntropyLoss()");
    assert.equal(new nn.MSELoss().toString(), "MSELoss()");
  });

  it("backpropagate into a model's parameters", () => {
    const linear = new nn.Linear(3, 3);
    const loss = new nn.CrossEntropyLoss().forward(linear.forward(x), flint.tensor([0, 2, 1, 1], { dtype: "int32" }));
    loss.backward();
    assert.deepEqual(linear.weight.grad?.shape, [3, 3]);
  });
});
