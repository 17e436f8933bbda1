"""PyTorch side of `npm run bench`: times the same workloads as bench/workloads.ts and prints
one JSON object {workload: median_ms}. Thread settings come from the environment (the runner
tries several and keeps the best), e.g. OPENBLAS_NUM_THREADS=1 FLINT_TORCH_THREADS=2."""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("FLINT_TORCH_THREADS", torch.get_num_threads())))
torch.manual_seed(0)
BUDGET_S = float(os.environ.get("FLINT_BENCH_BUDGET", "1.5"))


def median_ms(fn, min_reps=5, max_reps=200):
    for _ in range(2):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - start < BUDGET_S):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


class LeNet(nn.Module):
    """The PyTorch MNIST example's LeNet (lecture 001): conv 1->20->50, fc 800->500->10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, 1)
        self.conv2 = nn.Conv2d(20, 50, 5, 1)
        self.fc1 = nn.Linear(4 * 4 * 50, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = F.relu(self.fc1(x.view(-1, 4 * 4 * 50)))
        return F.log_softmax(self.fc2(x), dim=1)


def gemm(n):
    a, b = torch.randn(n, n), torch.randn(n, n)
    return lambda: torch.mm(a, b)


def lenet_conv():
    x = torch.randn(64, 1, 28, 28)
    conv1, conv2 = nn.Conv2d(1, 20, 5), nn.Conv2d(20, 50, 5)

    def step():
        y = conv2(F.max_pool2d(F.relu(conv1(x)), 2, 2))
        conv1.zero_grad()
        conv2.zero_grad()
        y.sum().backward()

    return step


def train_step(model, x, target):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)

    def step():
        opt.zero_grad()
        F.nll_loss(model(x), target).backward()
        opt.step()

    return step


def lenet_step():
    return train_step(LeNet(), torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,)))


def mlp_step():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10), nn.LogSoftmax(dim=1))
    return train_step(model, torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,)))


WORKLOADS = {
    "gemm256": lambda: gemm(256),
    "gemm1024": lambda: gemm(1024),
    "lenetConv": lenet_conv,
    "lenetStep": lenet_step,
    "mlpStep": mlp_step,
}

if __name__ == "__main__":
    wanted = sys.argv[1:] or list(WORKLOADS)
    print(json.dumps({name: median_ms(WORKLOADS[name]()) for name in wanted if name in WORKLOADS}))
