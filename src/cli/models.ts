import * as flint from "../index.js";

const { nn } = flint;
const F = nn.functional;
type Tensor = flint.Tensor;

/**
 * The lectures' PyTorch LeNet (NYU DL 2021, "slightly different net"): two 5x5 convolutions with
 * ReLU and 2x2 max-pooling, then 800 -> 500 -> 10, log-softmax. 28x28 input. 431k parameters.
 */
export class LeNet extends nn.Module {
  conv1 = new nn.Conv2d(1, 20, 5, { stride: 1 });
  conv2 = new nn.Conv2d(20, 50, 5, { stride: 1 });
  fc1 = new nn.Linear(4 * 4 * 50, 500);
  fc2 = new nn.Linear(500, 10);

  forward(x: Tensor): Tensor {
    x = F.relu(this.conv1.forward(x));
    x = F.maxPool2d(x, 2, { stride: 2 });
    x = F.relu(this.conv2.forward(x));
    x = F.maxPool2d(x, 2, { stride: 2 });
    x = x.view([-1, 4 * 4 * 50]);
    x = F.relu(this.fc1.forward(x));
    x = this.fc2.forward(x);
    return F.logSoftmax(x, 1);
  }
}

/**
 * LeCun et al. 1998's LeNet-5 in the lectures' second PyTorch version (activatedgeek/LeNet-5):
 * C1 6@5x5, S2, C3 16@5x5, S4, C5 120@5x5, F6 84, output 10; 32x32 input. 62k parameters.
 */
export class LeNet5 extends nn.Module {
  convnet = new nn.Sequential(
    new Map<string, flint.nn.Module>([
      ["c1", new nn.Conv2d(1, 6, [5, 5])],
      ["relu1", new nn.ReLU()],
      ["s2", new nn.MaxPool2d([2, 2], { stride: 2 })],
      ["c3", new nn.Conv2d(6, 16, [5, 5])],
      ["relu3", new nn.ReLU()],
      ["s4", new nn.MaxPool2d([2, 2], { stride: 2 })],
      ["c5", new nn.Conv2d(16, 120, [5, 5])],
      ["relu5", new nn.ReLU()],
    ]),
  );
  fc = new nn.Sequential(
    new Map<string, flint.nn.Module>([
      ["f6", new nn.Linear(120, 84)],
      ["relu6", new nn.ReLU()],
      ["f7", new nn.Linear(84, 10)],
      ["sig7", new nn.LogSoftmax(-1)],
    ]),
  );

  forward(img: Tensor): Tensor {
    const output = this.convnet.forward(img) as Tensor;
    return this.fc.forward(output.view([img.size(0), -1])) as Tensor;
  }
}

export const MODEL_NAMES = ["lenet", "lenet5"] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

export function createModel(name: ModelName): flint.nn.Module {
  return name === "lenet" ? new LeNet() : new LeNet5();
}

/** Recognises which model a plain state dict belongs to (for checkpoints written by PyTorch). */
export function modelOfStateDict(keys: readonly string[]): ModelName | null {
  if (keys.includes("conv1.weight") && keys.includes("fc2.weight")) return "lenet";
  if (keys.includes("convnet.c1.weight") && keys.includes("fc.f7.weight")) return "lenet5";
  return null;
}

/** Pixels of padding around MNIST's 28x28 digits for the model's input size (LeNet-5 reads 32x32). */
export function inputPadding(name: ModelName): number {
  return name === "lenet5" ? 2 : 0;
}
