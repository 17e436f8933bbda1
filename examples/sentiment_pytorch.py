"""PyTorch reference of flint's sentiment recipe (src/apps/sentiment), for figures.

Same data handling as `flint train sentiment`: SST-2 (GLUE train.tsv/dev.tsv) or the UCI files
(every fifth line of each file is dev), lowercased word tokens, vocabulary from the training
sentences minus a 5% validation slice (min count 2), length-bucketed batches of 64, Adam,
cross-entropy, gradient-norm clipping at 5, embeddings initialised N(0, 0.1) (PyTorch's default
N(0, 1) learns markedly slower here), the epoch with the best validation accuracy kept,
dev accuracy measured once with it. Models: cnn (Kim CNN-rand), bilstm, transformer.
--average-epochs N validates and keeps an exponential moving average of the weights over about N
epochs (decay 1 - 1 / (N * steps per epoch); it starts at the initial weights and is updated after
every step). Off by default: for the CNN it gained nothing measurable over the 2-epoch raw weights (PyTorch seeds 0 / 1:
0.833 / 0.835 after 3 averaged epochs against 0.833 / 0.8165 raw; flint, seeds 0-3: 0.812 / 0.810 /
0.836 / 0.822 against 0.823 / 0.810 / 0.830 / 0.814) and costs a third epoch.

    python3 examples/sentiment_pytorch.py --data ../shared/data/sentiment/sst2 --model cnn
Prints per-epoch lines and, last, one JSON line with dev_accuracy and train_seconds.
"""
import argparse
import json
import math
import os
import random
import re
import time
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

TOKEN = re.compile(r"(?:[^\W]|')+|[^\s\w']")
UCI_FILES = ["amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"]


def read_rows(path, header):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = lines[1:] if header else lines
    rows = [line.rstrip("\r").split("\t") for line in lines]
    return [r[0].strip() for r in rows], [int(r[1]) for r in rows]


def load(data, fmt):
    if fmt == "sst2":
        return read_rows(os.path.join(data, "train.tsv"), True), read_rows(os.path.join(data, "dev.tsv"), True)
    train, dev = ([], []), ([], [])
    for name in UCI_FILES:
        sentences, labels = read_rows(os.path.join(data, name), False)
        for i, (s, y) in enumerate(zip(sentences, labels)):
            target = dev if i % 5 == 4 else train
            target[0].append(s)
            target[1].append(y)
    return train, dev


def tokenize(text):
    return TOKEN.findall(text.lower())


class Vocab:
    def __init__(self, sentences, min_freq):
        counts = Counter(t for s in sentences for t in tokenize(s))
        kept = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
        self.itos = ["<pad>", "<unk>", "<bos>", "<eos>"] + kept
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def encode(self, s, max_len):
        return [self.stoi.get(t, 1) for t in tokenize(s)][:max_len]


def word_embedding(V, E, std=0.1):
    embedding = nn.Embedding(V, E, padding_idx=0)
    with torch.no_grad():
        embedding.weight.normal_(0, std)
        embedding.weight[0].zero_()
    return embedding


def padding_mask(lengths, T):
    return torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]


class CNN(nn.Module):
    def __init__(self, V, C, E=128, H=100, widths=(3, 4, 5), dropout=0.5):
        super().__init__()
        self.widths = widths
        self.embedding = word_embedding(V, E)
        self.convs = nn.ModuleList(nn.Conv1d(E, H, k) for k in widths)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(len(widths) * H, C)

    def forward(self, ids, lengths):
        if ids.shape[1] < max(self.widths):
            ids = F.pad(ids, (0, max(self.widths) - ids.shape[1]))
        T = ids.shape[1]
        x = self.embedding(ids).transpose(1, 2)
        feats = []
        for k, conv in zip(self.widths, self.convs):
            a = F.relu(conv(x))
            windows = T - k + 1
            invalid = padding_mask([min(windows, max(1, n - k + 1)) for n in lengths], windows)[:, None, :]
            feats.append(a.masked_fill(invalid, 0).amax(2))
        return self.fc(self.dropout(torch.cat(feats, 1)))


class BiLSTM(nn.Module):
    def __init__(self, V, C, E=128, H=128, dropout=0.5):
        super().__init__()
        self.embedding = word_embedding(V, E)
        self.lstm = nn.LSTM(E, H, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * H, C)

    def forward(self, ids, lengths):
        lengths = [max(1, n) for n in lengths]
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        pooled = out.masked_fill(padding_mask(lengths, ids.shape[1])[:, :, None], -1e9).amax(1)
        return self.fc(self.dropout(pooled))


class PositionalEncoding(nn.Module):
    def __init__(self, d, dropout, max_len=1024):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe = torch.zeros(max_len, 1, d)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):  # [N, L, d]
        return self.dropout(x + self.pe[: x.shape[1]].transpose(0, 1))


class Transformer(nn.Module):
    def __init__(self, V, C, d=128, ff=256, layers=2, heads=4, dropout=0.1):
        super().__init__()
        self.d = d
        self.embedding = word_embedding(V, d)
        self.positional = PositionalEncoding(d, dropout)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=ff, dropout=dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.fc = nn.Linear(d, C)

    def forward(self, ids, lengths):
        lengths = [max(1, n) for n in lengths]
        mask = padding_mask(lengths, ids.shape[1])
        x = self.encoder(self.positional(self.embedding(ids) * math.sqrt(self.d)), src_key_padding_mask=mask)
        return self.fc(x.masked_fill(mask[:, :, None], 0).sum(1) / torch.tensor(lengths, dtype=torch.float32)[:, None])


MODELS = {"cnn": CNN, "bilstm": BiLSTM, "transformer": Transformer}


def make_batch(ids, labels, idx):
    seqs = [ids[i] for i in idx]
    T = max(1, max(len(s) for s in seqs))
    x = torch.zeros(len(seqs), T, dtype=torch.long)
    for b, s in enumerate(seqs):
        x[b, : len(s)] = torch.tensor(s, dtype=torch.long)
    return x, [len(s) for s in seqs], torch.tensor([labels[i] for i in idx])


def training_batches(ids, labels, batch_size, rng):
    order = list(range(len(ids)))
    rng.shuffle(order)
    groups, pool = [], batch_size * 50
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: len(ids[i]))
        groups += [chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size)]
    rng.shuffle(groups)
    return [make_batch(ids, labels, g) for g in groups]


@torch.no_grad()
def accuracy(model, ids, labels, batch_size=256):
    model.eval()
    correct = 0
    for start in range(0, len(ids), batch_size):
        x, lengths, y = make_batch(ids, labels, list(range(start, min(len(ids), start + batch_size))))
        correct += (model(x, lengths).argmax(1) == y).sum().item()
    model.train()
    return correct / len(ids)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--format", default="sst2", choices=["sst2", "uci"])
    p.add_argument("--model", default="cnn", choices=list(MODELS))
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--valid-fraction", type=float, default=0.05)
    p.add_argument("--min-freq", type=int, default=2)
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--average-epochs", type=float, default=None)
    a = p.parse_args()
    epochs = a.epochs if a.epochs is not None else 2
    average_epochs = a.average_epochs if a.average_epochs is not None else 0.0
    lr = a.lr if a.lr is not None else {"cnn": 1e-3, "bilstm": 2e-3, "transformer": 5e-4}[a.model]
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    (train_s, train_y), (dev_s, dev_y) = load(a.data, a.format)
    order = list(range(len(train_s)))
    rng.shuffle(order)
    n_valid = max(1, round(len(train_s) * a.valid_fraction))
    valid_idx, fit_idx = sorted(order[:n_valid]), sorted(order[n_valid:])
    vocab = Vocab([train_s[i] for i in fit_idx], a.min_freq)
    enc = lambda idx, S, Y: ([vocab.encode(S[i], a.max_len) for i in idx], [Y[i] for i in idx])
    fit_ids, fit_y = enc(fit_idx, train_s, train_y)
    valid_ids, valid_y = enc(valid_idx, train_s, train_y)
    dev_ids, dev_y2 = enc(range(len(dev_s)), dev_s, dev_y)
    model = MODELS[a.model](len(vocab.itos), 2)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    pool = a.batch_size * 50
    steps_per_epoch = len(fit_ids) // pool * 50 + math.ceil(len(fit_ids) % pool / a.batch_size)
    decay = 1 - 1 / max(1.0, average_epochs * steps_per_epoch) if average_epochs > 0 else 0.0
    averages = [p.detach().clone() for p in model.parameters()] if decay > 0 else None

    def with_average(fn):
        if averages is None:
            return fn()
        trained = [p.detach().clone() for p in model.parameters()]
        with torch.no_grad():
            for p, q in zip(model.parameters(), averages):
                p.copy_(q)
        try:
            return fn()
        finally:
            with torch.no_grad():
                for p, q in zip(model.parameters(), trained):
                    p.copy_(q)
    best = (-1.0, 0, None)
    train_seconds, epochs_run = 0.0, 0
    for epoch in range(1, epochs + 1):
        batches = training_batches(fit_ids, fit_y, a.batch_size, rng)
        start = time.perf_counter()
        loss_sum = 0.0
        for x, lengths, y in batches:
            opt.zero_grad()
            loss = F.cross_entropy(model(x, lengths), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5)
            opt.step()
            if averages is not None:
                with torch.no_grad():
                    for q, p in zip(averages, model.parameters()):
                        q.mul_(decay).add_(p, alpha=1 - decay)
            loss_sum += loss.item() * len(lengths)
        seconds = time.perf_counter() - start
        train_seconds += seconds
        epochs_run = epoch
        acc = with_average(lambda: accuracy(model, valid_ids, valid_y))
        if acc > best[0]:
            best = (acc, epoch, with_average(lambda: {k: v.clone() for k, v in model.state_dict().items()}))
        print(f"epoch {epoch}: train loss {loss_sum / len(fit_ids):.4f}, validation accuracy {100 * acc:.2f}%, {seconds:.1f}s", flush=True)
        if epoch - best[1] >= a.patience:
            break
    model.load_state_dict(best[2])
    dev_acc = accuracy(model, dev_ids, dev_y2)
    print(json.dumps({"model": a.model, "dev_accuracy": dev_acc, "valid_accuracy": best[0], "best_epoch": best[1], "epochs_run": epochs_run, "average_epochs": average_epochs, "average_decay": decay, "train_seconds": train_seconds, "vocab_size": len(vocab.itos), "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
