// TensorFlow.js side of `npm run bench` (4.22, wasm and cpu backends): the same workloads as
// bench/workloads.ts, in TensorFlow.js's own NHWC layout. Each factory returns one timed step;
// results are read back synchronously so each step includes the full computation.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";

export type TfWorkload = () => () => void;

function param(shape: number[], fanIn: number): tf.Variable {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.variable(tf.randomUniform(shape, -bound, bound));
}

function gemm(n: number): () => void {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  return () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
}

/** conv (valid, stride 1) + bias + relu + 2x2 max pool, NHWC. */
function convBlock(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  return tf.maxPool(tf.relu(tf.add(tf.conv2d(x, w as tf.Tensor4D, 1, "valid"), b)) as tf.Tensor4D, 2, 2, "valid");
}

function lenetForward(p: Record<string, tf.Variable>, x: tf.Tensor4D): tf.Tensor2D {
  const y = convBlock(convBlock(x, p.c1w, p.c1b), p.c2w, p.c2b);
  const h = tf.relu(tf.add(tf.matMul(tf.reshape(y, [-1, 800]), p.f1w), p.f1b));
  return tf.logSoftmax(tf.add(tf.matMul(h, p.f2w), p.f2b)) as tf.Tensor2D;
}

function trainStep(params: Record<string, tf.Variable>, forward: (x: tf.Tensor4D) => tf.Tensor2D): () => void {
  const x = tf.randomNormal([64, 28, 28, 1]) as tf.Tensor4D;
  const target = tf.oneHot(tf.randomUniform([64], 0, 10, "int32") as tf.Tensor1D, 10);
  const optimizer = tf.train.momentum(0.01, 0.5);
  return () => {
    const loss = optimizer.minimize(() => tf.neg(tf.mean(tf.sum(tf.mul(forward(x), target), 1))) as tf.Scalar, true, Object.values(params));
    loss?.dataSync();
    loss?.dispose();
  };
}

function lenetStep(): () => void {
  const p = {
    c1w: param([5, 5, 1, 20], 25), c1b: param([20], 25),
    c2w: param([5, 5, 20, 50], 500), c2b: param([50], 500),
    f1w: param([800, 500], 800), f1b: param([500], 800),
    f2w: param([500, 10], 500), f2b: param([10], 500),
  };
  return trainStep(p, (x) => lenetForward(p, x));
}

function mlpStep(): () => void {
  const p = {
    w1: param([784, 256], 784), b1: param([256], 784),
    w2: param([256, 128], 256), b2: param([128], 256),
    w3: param([128, 10], 128), b3: param([10], 128),
  };
  return trainStep(p, (x) => {
    let y = tf.relu(tf.add(tf.matMul(tf.reshape(x, [-1, 784]), p.w1), p.b1));
    y = tf.relu(tf.add(tf.matMul(y, p.w2), p.b2));
    return tf.logSoftmax(tf.add(tf.matMul(y, p.w3), p.b3)) as tf.Tensor2D;
  });
}

function lenetConv(): () => void {
  const x = tf.randomNormal([64, 28, 28, 1]) as tf.Tensor4D;
  const w1 = param([5, 5, 1, 20], 25), b1 = param([20], 25);
  const w2 = param([5, 5, 20, 50], 500), b2 = param([50], 500);
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
    const y = convBlock(x, a, b);
    return tf.sum(tf.add(tf.conv2d(y, c as tf.Tensor4D, 1, "valid"), d));
  };
  const grads = tf.grads(f);
  return () => {
    const gs = tf.tidy(() => grads([w1, b1, w2, b2]));
    for (const g of gs) g.dataSync();
    tf.dispose(gs);
  };
}

export const TF_WORKLOADS: Record<string, TfWorkload> = {
  gemm256: () => gemm(256),
  gemm1024: () => gemm(1024),
  lenetConv,
  lenetStep,
  mlpStep,
};

/** Switches TensorFlow.js to "wasm" or "cpu" (the wasm backend loads its binary asynchronously). */
export async function useTfBackend(name: "wasm" | "cpu"): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`TensorFlow.js backend ${name} did not initialise`);
}

export { tf };
