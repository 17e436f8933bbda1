// flint side of `npm run bench`: the same workloads as bench/torch_workloads.py and (all but the
// sequence models of bench/sequence-workloads.ts) bench/tfjs-workloads.ts. Each factory builds its
// inputs once and returns one timed step.
import * as flint from "../src/index.js";
import { charLstmStep, transformerStep } from "./sequence-workloads.js";

const F = flint.nn.functional;
type Tensor = flint.Tensor;
export type Workload = () => () => void;

function maxPool2d(x: Tensor, k: number): Tensor {
  return F.maxPool2d(x, k, { stride: k });
}

function param(shape: number[], fanIn: number): Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return flint.rand(shape).mul(2 * bound).sub(bound).requiresGrad_();
}

function nllLoss(logProbs: Tensor, target: Tensor): Tensor {
  return F.nllLoss(logProbs, target);
}

/** F.linear, as PyTorch's side uses nn.Linear (one fused op with the bias added in the GEMM). */
function linear(x: Tensor, w: Tensor, b: Tensor): Tensor {
  return F.linear(x, w, b);
}

/** The PyTorch MNIST example's LeNet (lecture 001): conv 1->20->50, fc 800->500->10. */
function lenet() {
  const p = {
    c1w: param([20, 1, 5, 5], 25), c1b: param([20], 25),
    c2w: param([50, 20, 5, 5], 500), c2b: param([50], 500),
    f1w: param([500, 800], 800), f1b: param([500], 800),
    f2w: param([10, 500], 500), f2b: param([10], 500),
  };
  const forward = (x: Tensor) => {
    let y = maxPool2d(F.conv2d(x, p.c1w, { bias: p.c1b }).relu(), 2);
    y = maxPool2d(F.conv2d(y, p.c2w, { bias: p.c2b }).relu(), 2);
    y = linear(y.reshape([-1, 800]), p.f1w, p.f1b).relu();
    return F.logSoftmax(linear(y, p.f2w, p.f2b), 1);
  };
  return { params: Object.values(p), forward };
}

function mlp() {
  const p = {
    w1: param([256, 784], 784), b1: param([256], 784),
    w2: param([128, 256], 256), b2: param([128], 256),
    w3: param([10, 128], 128), b3: param([10], 128),
  };
  const forward = (x: Tensor) => {
    let y = linear(x.reshape([-1, 784]), p.w1, p.b1).relu();
    y = linear(y, p.w2, p.b2).relu();
    return F.logSoftmax(linear(y, p.w3, p.b3), 1);
  };
  return { params: Object.values(p), forward };
}

function trainStep(model: { params: Tensor[]; forward: (x: Tensor) => Tensor }): () => void {
  const x = flint.randn([64, 1, 28, 28]);
  const target = flint.randint(0, 10, [64]);
  const optimizer = new flint.optim.SGD(model.params, { lr: 0.01, momentum: 0.5 });
  return () => {
    optimizer.zeroGrad();
    nllLoss(model.forward(x), target).backward();
    optimizer.step();
  };
}

function gemm(n: number): () => void {
  const a = flint.randn([n, n]);
  const b = flint.randn([n, n]);
  return () => void a.mm(b);
}

function lenetConv(): () => void {
  const x = flint.randn([64, 1, 28, 28]);
  const w1 = param([20, 1, 5, 5], 25), b1 = param([20], 25);
  const w2 = param([50, 20, 5, 5], 500), b2 = param([50], 500);
  return () => {
    for (const t of [w1, b1, w2, b2]) t.grad = null;
    const y = F.conv2d(maxPool2d(F.conv2d(x, w1, { bias: b1 }).relu(), 2), w2, { bias: b2 });
    y.sum().backward();
  };
}

export const WORKLOADS: Record<string, Workload> = {
  gemm256: () => gemm(256),
  gemm1024: () => gemm(1024),
  lenetConv,
  lenetStep: () => trainStep(lenet()),
  mlpStep: () => trainStep(mlp()),
  charLstmStep,
  transformerStep,
};

/**
 * Time budgets (ms) for steps that take seconds: with the default 1.5 s budget such a step would
 * be timed once (see medianMs); these leave room for a median of several runs instead.
 */
export const MIN_BUDGET_MS: Record<string, number> = {
  charLstmStep: 12000,
  transformerStep: 6000,
};

/** What each workload is, for the table. */
export const DESCRIPTIONS: Record<string, string> = {
  gemm256: "GEMM 256x256 @ 256x256",
  gemm1024: "GEMM 1024x1024 @ 1024x1024",
  lenetConv: "LeNet conv layers fwd+bwd, batch 64",
  lenetStep: "LeNet training step (SGD), batch 64",
  mlpStep: "MLP 784-256-128-10 step, batch 64",
  charLstmStep: "char-LSTM step (AdamW): emb 64, 2x256, batch 32, 100 steps",
  transformerStep: "Transformer step (AdamW): 4x128, 4 heads, block 64, batch 12",
};
