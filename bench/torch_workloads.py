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


VOCAB = 65


class CharLSTM(nn.Module):
    """flint's CharRNN (src/apps/models.ts) at the issue's sizes: embedding 64, 2-layer LSTM x 256."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 64)
        self.rnn = nn.LSTM(64, 256, num_layers=2, batch_first=True)
        self.head = nn.Linear(256, VOCAB)

    def forward(self, ids):
        return self.head(self.rnn(self.embedding(ids))[0])


class CharTransformer(nn.Module):
    """flint's CharTransformer (src/apps/models.ts) at nanoGPT's Tiny Shakespeare CPU sizes: token +
    position embeddings, 4 pre-norm causal layers (4 heads, 128 dims, GELU MLP x4), final LayerNorm."""

    def __init__(self, d=128, heads=4, layers=4, block=64):
        super().__init__()
        self.token_embedding = nn.Embedding(VOCAB, d)
        self.position_embedding = nn.Embedding(block, d)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
            for _ in range(layers)
        )
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, VOCAB)
        self.register_buffer("positions", torch.arange(block), persistent=False)
        # PyTorch 1.13 has no is_causal: the causal mask is passed explicitly (True = not attended).
        self.register_buffer("causal_mask", torch.triu(torch.ones(block, block, dtype=torch.bool), diagonal=1), persistent=False)
        for name, p in self.named_parameters():  # nanoGPT's initialisation, as flint's gptInit
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.token_embedding(ids) + self.position_embedding(self.positions[:t])
        for block in self.blocks:
            x = block(x, src_mask=self.causal_mask[:t, :t])
        return self.head(self.norm(x))


def char_model_step(model, batch, time_steps):
    """One step as flint's apps trainStep: forward, cross-entropy, backward, AdamW (nanoGPT's
    grouping: weight decay 0.1 on matrices only, lr 1e-3, betas (0.9, 0.99)), no clipping."""
    params = list(model.parameters())
    opt = torch.optim.AdamW(
        [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1}, {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.99),
    )
    ids = torch.randint(0, VOCAB, (batch, time_steps))
    target = torch.randint(0, VOCAB, (batch, time_steps))
    model.train()

    def step():
        logits = model(ids)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()

    return step


WORKLOADS = {
    "gemm256": lambda: gemm(256),
    "gemm1024": lambda: gemm(1024),
    "lenetConv": lenet_conv,
    "lenetStep": lenet_step,
    "mlpStep": mlp_step,
    "charLstmStep": lambda: char_model_step(CharLSTM(), 32, 100),
    "transformerStep": lambda: char_model_step(CharTransformer(), 12, 64),
}

if __name__ == "__main__":
    wanted = sys.argv[1:] or list(WORKLOADS)
    print(json.dumps({name: median_ms(WORKLOADS[name]()) for name in wanted if name in WORKLOADS}))
