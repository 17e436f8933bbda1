#!/usr/bin/env python3
"""The same recipe as `flint train lenet|lenet5`, in PyTorch, for comparing accuracy and time.

The lectures' LeNet (conv 1->20 5x5, ReLU, max-pool 2, conv 20->50 5x5, ReLU, max-pool 2,
fc 800->500, ReLU, fc 500->10, log-softmax) or the 1998 LeNet-5 (32x32 input by padding),
NLL loss, SGD lr 0.01 momentum 0.9, batch 64, shuffled every epoch, inputs scaled to [0, 1]
and normalised with mean 0.1307, std 0.3081. Reads the MNIST IDX files with numpy (no
torchvision needed). The last stdout line is a JSON object with the same keys as flint's --json.

  /usr/bin/python3 examples/lenet_mnist_pytorch.py --data ../shared/data/mnist --epochs 2
"""
import argparse
import gzip
import json
import os
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, 1)
        self.conv2 = nn.Conv2d(20, 50, 5, 1)
        self.fc1 = nn.Linear(4 * 4 * 50, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x, 2, 2)
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2, 2)
        x = x.view(-1, 4 * 4 * 50)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.convnet = nn.Sequential(OrderedDict([
            ("c1", nn.Conv2d(1, 6, kernel_size=(5, 5))),
            ("relu1", nn.ReLU()),
            ("s2", nn.MaxPool2d(kernel_size=(2, 2), stride=2)),
            ("c3", nn.Conv2d(6, 16, kernel_size=(5, 5))),
            ("relu3", nn.ReLU()),
            ("s4", nn.MaxPool2d(kernel_size=(2, 2), stride=2)),
            ("c5", nn.Conv2d(16, 120, kernel_size=(5, 5))),
            ("relu5", nn.ReLU()),
        ]))
        self.fc = nn.Sequential(OrderedDict([
            ("f6", nn.Linear(120, 84)),
            ("relu6", nn.ReLU()),
            ("f7", nn.Linear(84, 10)),
            ("sig7", nn.LogSoftmax(dim=-1)),
        ]))

    def forward(self, img):
        output = self.convnet(img)
        output = output.view(img.size(0), -1)
        return self.fc(output)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(data, train, padding, limit):
    prefix = "train" if train else "t10k"
    images = read_idx(os.path.join(data, prefix + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data, prefix + "-labels-idx1-ubyte.gz"))
    if limit:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.copy()).float().div(255).unsqueeze(1)
    if padding:
        x = F.pad(x, [padding] * 4)  # black border, as torchvision's Pad before ToTensor
    x = (x - 0.1307) / 0.3081
    return torch.utils.data.TensorDataset(x, torch.from_numpy(labels.astype(np.int64)))


def evaluate(model, dataset):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(dataset, batch_size=1000):
            out = model(x)
            loss += F.nll_loss(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
    return correct / len(dataset), loss / len(dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default="lenet", choices=["lenet", "lenet5"])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--eval-checkpoint", help="only evaluate this safetensors file (e.g. written by flint train --save; optimizer.* keys are skipped)")
    parser.add_argument("--save", help="write the trained state_dict here (safetensors if the package is installed)")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    padding = 2 if args.model == "lenet5" else 0
    train_set = load_split(args.data, True, padding, args.limit)
    test_set = load_split(args.data, False, padding, args.limit)
    model = LeNet() if args.model == "lenet" else LeNet5()
    if args.eval_checkpoint:
        from safetensors.torch import load_file
        state = {k: v for k, v in load_file(args.eval_checkpoint).items() if not k.startswith("optimizer.")}
        model.load_state_dict(state)
        accuracy, test_loss = evaluate(model, test_set)
        print(json.dumps({"framework": "pytorch " + torch.__version__, "model": args.model, "checkpoint": args.eval_checkpoint,
                          "test_accuracy": accuracy, "test_loss": test_loss, "test_samples": len(test_set)}))
        return
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    train_seconds, samples = 0.0, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
            samples += x.shape[0]
        seconds = time.perf_counter() - start
        train_seconds += seconds
        accuracy, test_loss = evaluate(model, test_set)
        print(f"epoch {epoch}: test loss {test_loss:.4f}, accuracy {100 * accuracy:.2f}%, {seconds:.1f} s training", flush=True)
    if args.save:
        from safetensors.torch import save_file
        save_file(model.state_dict(), args.save)
    print(json.dumps({
        "framework": "pytorch " + torch.__version__, "threads": torch.get_num_threads(), "model": args.model,
        "epochs": args.epochs, "test_accuracy": accuracy, "test_loss": test_loss, "train_seconds": train_seconds,
        "samples_per_second": samples / train_seconds, "train_samples": len(train_set), "test_samples": len(test_set),
        "batch_size": args.batch_size, "lr": args.lr, "momentum": args.momentum, "seed": args.seed,
    }))


if __name__ == "__main__":
    main()
