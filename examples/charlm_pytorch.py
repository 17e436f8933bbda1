"""PyTorch reference for `flint train charlm`: the same models, data split, batches, optimizer,
schedule and validation, for loss and timing comparisons.

    /usr/bin/python3 examples/charlm_pytorch.py --data ../shared/data/tinyshakespeare/input.txt --model transformer --steps 2000
    /usr/bin/python3 examples/charlm_pytorch.py --data ../shared/data/tinyshakespeare/input.txt --model lstm --steps 200

Transformer (default): nanoGPT's CPU recipe for Tiny Shakespeare (4 layers, 4 heads, 128 dims,
block 64, batch 12, AdamW lr 1e-3 betas (0.9, 0.99) weight decay 0.1 on matrices, 100 warm-up
steps then cosine to 1e-4, gradient clipping at 1, GELU MLP x4, pre-norm, causal attention, no
dropout), built from nn.TransformerEncoderLayer so the state-dict keys are flint's. lstm/gru/rnn:
embedding 64, 2 layers x 256, batch 32, lr 2e-3 (min 2e-4). val_loss is the mean cross-entropy in
nats per character over the last 10% of the text, read in consecutive windows of block size.
The last stdout line is one JSON object.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class CharRNN(nn.Module):
    def __init__(self, kind, vocab_size, embed_dim, hidden_size, num_layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
        self.rnn = cls(embed_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids):
        out, _ = self.rnn(self.embedding(ids))
        return self.head(out)


class CharTransformer(nn.Module):
    def __init__(self, vocab_size, d, num_layers, num_heads, block_size):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, d)
        self.position_embedding = nn.Embedding(block_size, d)
        self.blocks = nn.ModuleList([
            nn.TransformerEncoderLayer(d, num_heads, dim_feedforward=4 * d, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
            for _ in range(num_layers)
        ])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab_size)
        self.register_buffer("positions", torch.arange(block_size), persistent=False)
        # nanoGPT's initialisation: N(0, 0.02) for every matrix, zero biases.
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)
        self.mask = None

    def forward(self, ids):
        T = ids.shape[1]
        x = self.token_embedding(ids) + self.position_embedding(self.positions[:T])
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        for block in self.blocks:
            x = block(x, src_mask=mask)
        return self.head(self.norm(x))


def recipe(kind):
    opt = dict(weight_decay=0.1, betas=(0.9, 0.99), grad_clip=1.0, steps=2000, warmup=100)
    if kind == "transformer":
        return dict(embed_dim=128, layers=4, heads=4, block=64, batch=12, lr=1e-3, min_lr=1e-4, **opt)
    return dict(embed_dim=64, hidden=256, layers=2, block=64, batch=32, lr=2e-3, min_lr=2e-4, **opt)


def lr_at(step, r):
    if step < r["warmup"]:
        return r["lr"] * (step + 1) / (r["warmup"] + 1)
    if step >= r["steps"]:
        return r["min_lr"]
    ratio = (step - r["warmup"]) / max(1, r["steps"] - r["warmup"])
    return r["min_lr"] + 0.5 * (1 + math.cos(math.pi * ratio)) * (r["lr"] - r["min_lr"])


@torch.no_grad()
def evaluate(model, ids, block, max_chars=None):
    if max_chars is not None:
        ids = ids[: max_chars + 1]
    model.eval()
    total, count = 0.0, 0
    n = len(ids) - 1
    starts = list(range(0, n, block))
    full = [s for s in starts if s + block <= n]
    for i in range(0, len(full), 64):
        group = full[i:i + 64]
        x = torch.stack([ids[s:s + block] for s in group])
        y = torch.stack([ids[s + 1:s + 1 + block] for s in group])
        logits = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    tail = [s for s in starts if s + block > n]
    if tail:
        s = tail[0]
        x, y = ids[s:n].unsqueeze(0), ids[s + 1:n + 1].unsqueeze(0)
        logits = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train()
    return total / count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default="transformer", choices=["lstm", "gru", "rnn", "transformer"])
    parser.add_argument("--steps", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-chars", type=int)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    r = recipe(args.model)
    if args.steps:
        r["steps"] = args.steps

    text = open(args.data, encoding="utf-8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    cut = int(len(ids) * 0.9)
    train, val = ids[:cut], ids[cut:]

    if args.model == "transformer":
        model = CharTransformer(len(chars), r["embed_dim"], r["layers"], r["heads"], r["block"])
    else:
        model = CharRNN(args.model, len(chars), r["embed_dim"], r["hidden"], r["layers"])
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": r["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}], lr=r["lr"], betas=r["betas"])

    generator = torch.Generator().manual_seed(args.seed)
    block, batch = r["block"], r["batch"]
    losses = []
    started = time.perf_counter()
    for step in range(r["steps"]):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, r)
        ix = torch.randint(len(train) - block, (batch,), generator=generator)
        x = torch.stack([train[i:i + block] for i in ix])
        y = torch.stack([train[i + 1:i + 1 + block] for i in ix])
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), r["grad_clip"])
        optimizer.step()
        losses.append(loss.item())
        if (step + 1) % max(1, r["steps"] // 10) == 0:
            print(f"step {step + 1}/{r['steps']} loss {loss.item():.4f} {time.perf_counter() - started:.1f}s", flush=True)
    train_seconds = time.perf_counter() - started
    val_loss = evaluate(model, val, block, args.eval_chars)
    tail = losses[-max(1, math.ceil(len(losses) / 10)):]
    print(json.dumps({
        "model": args.model, "val_loss": val_loss, "train_loss": sum(tail) / len(tail), "first_loss": losses[0],
        "steps": r["steps"], "train_seconds": train_seconds, "chars_per_second": r["steps"] * batch * block / train_seconds,
        "parameters": sum(p.numel() for p in model.parameters()), "threads": torch.get_num_threads(), "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
