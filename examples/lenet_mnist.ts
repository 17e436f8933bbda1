// The lectures' LeNet on MNIST, written with flint the way the PyTorch version is written
// (compare examples/lenet_mnist_pytorch.py). `flint train lenet` runs the same recipe with a
// progress bar, checkpoints and --json output.
//
//   npm run build && node dist/examples/lenet_mnist.js ../shared/data/mnist [epochs]
import * as flint from "../src/index.js"; // in your project: import * as flint from "flint";

const { nn, optim, data, datasets, transforms: T } = flint;
const F = nn.functional;

class Net extends nn.Module {
  conv1 = new nn.Conv2d(1, 20, 5, { stride: 1 });
  conv2 = new nn.Conv2d(20, 50, 5, { stride: 1 });
  fc1 = new nn.Linear(4 * 4 * 50, 500);
  fc2 = new nn.Linear(500, 10);

  forward(x: flint.Tensor): flint.Tensor {
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

const root = process.argv[2] ?? "../shared/data/mnist";
const epochs = Number(process.argv[3] ?? 1);
flint.manualSeed(0);
const transform = new T.Compose([new T.ToTensor(), new T.Normalize([0.1307], [0.3081])]);
const trainLoader = new data.DataLoader(new datasets.MNIST(root, { train: true, transform }), { batchSize: 64, shuffle: true });
const testLoader = new data.DataLoader(new datasets.MNIST(root, { train: false, transform }), { batchSize: 1000 });

const model = new Net();
const optimizer = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });

for (let epoch = 1; epoch <= epochs; epoch++) {
  model.train();
  let step = 0;
  for (const [x, y] of trainLoader) {
    optimizer.zeroGrad();
    const loss = F.nllLoss(model.forward(x), y);
    loss.backward();
    optimizer.step();
    if (++step % 100 === 0) console.log(`epoch ${epoch} step ${step}/${trainLoader.length} loss ${loss.item().toFixed(4)}`);
  }
  model.eval();
  let correct = 0;
  flint.noGrad(() => {
    for (const [x, y] of testLoader) correct += model.forward(x).argmax(1).eq(y).sum().item();
  });
  console.log(`epoch ${epoch}: test accuracy ${((100 * correct) / 10000).toFixed(2)}%`);
}
