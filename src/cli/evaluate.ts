import * as flint from "../index.js";

const F = flint.nn.functional;

export interface Evaluation {
  accuracy: number;
  /** Mean negative log-likelihood per sample. */
  loss: number;
  samples: number;
  /** The predicted class of every sample, in dataset order. */
  predictions: Int32Array;
}

/** Test loss and accuracy of a log-softmax classifier, without recording gradients. */
export function evaluate(model: flint.nn.Module, dataset: flint.data.Dataset<[flint.Tensor, number]>, batchSize = 1000): Evaluation {
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let correct = 0;
  const predictions = new Int32Array(dataset.length);
  let offset = 0;
  flint.noGrad(() => {
    for (const [x, y] of new flint.data.DataLoader(dataset, { batchSize })) {
      const output = model.forward(x) as flint.Tensor;
      lossSum += F.nllLoss(output, y, { reduction: "sum" }).item();
      const predicted = output.argmax(1);
      correct += predicted.eq(y).sum().item();
      predictions.set(predicted.data() as Int32Array, offset);
      offset += y.shape[0];
    }
  });
  model.train(wasTraining);
  return { accuracy: correct / dataset.length, loss: lossSum / dataset.length, samples: dataset.length, predictions };
}
