"""PyTorch reference for `flint train translate`: the same pairs, split, vocabularies, batch order,
model, optimizer and BLEU, for BLEU and timing comparisons (single-threaded by default).

    /usr/bin/python3 examples/translate_pytorch.py --data ../shared/data/eng-fra/fra.txt --epochs 10
    /usr/bin/python3 examples/translate_pytorch.py --data ../shared/data/eng-fra/fra.txt --no-attention --reverse-source

Pairs: the PyTorch seq2seq tutorial's normalisation and filter (12,441 of fra.txt), a seeded
95/5 split (mulberry32 Fisher-Yates, as flint). GRU encoder (embedding 256, dropout 0.1), GRU-cell
decoder with additive (Bahdanau) attention over the encoder states, score = v^T tanh(W s + U h),
on [embedding; context], teacher forcing, Adam lr 1e-3, batch 32, cross-entropy ignoring padding.
BLEU: corpus BLEU-4 on the held-out pairs, uniform weights, brevity penalty, no smoothing, greedy
decoding (<= 10 tokens). The last stdout line is one JSON object.
"""
import argparse
import json
import math
import re
import time
import unicodedata
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

MAX_TOKENS = 10
ENGLISH_PREFIXES = ("i am ", "i m ", "he is", "he s ", "she is", "she s ", "you are", "you re ", "we are", "we re ", "they are", "they re ")
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]
PAD, UNK, BOS, EOS = 0, 1, 2, 3
MASK32 = 0xFFFFFFFF


def normalize(s):
    s = "".join(c for c in unicodedata.normalize("NFD", s.lower().strip()) if unicodedata.category(c) != "Mn")
    s = re.sub(r"([.!?])", r" \1", s)
    return re.sub(r"[^a-zA-Z.!?]+", r" ", s).strip()


def load_pairs(path):
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if not line.strip():
                continue
            cols = line.split("\t")
            en, fr = normalize(cols[0]), normalize(cols[1])
            if len(en.split(" ")) < MAX_TOKENS and len(fr.split(" ")) < MAX_TOKENS and en.startswith(ENGLISH_PREFIXES):
                pairs.append((en, fr))
    return pairs


class Mulberry32:
    """The same generator as flint's SplitRandom (src/apps/translate/data.ts)."""

    def __init__(self, seed):
        self.state = seed & MASK32

    def next(self):
        self.state = (self.state + 0x6D2B79F5) & MASK32
        t = self.state
        t = ((t ^ (t >> 15)) * (t | 1)) & MASK32
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & MASK32)) & MASK32
        return ((t ^ (t >> 14)) & MASK32) / 4294967296

    def permutation(self, n):
        order = list(range(n))
        for i in range(n - 1, 0, -1):
            j = int(self.next() * (i + 1))
            order[i], order[j] = order[j], order[i]
        return order


def build_vocab(sentences):
    counts = Counter(t for s in sentences for t in s.split(" ") if t)
    words = sorted(counts, key=lambda w: (-counts[w], w))
    itos = SPECIALS + words
    return itos, {w: i for i, w in enumerate(itos)}


def encode(stoi, sentence):
    return [stoi.get(t, UNK) for t in sentence.split(" ") if t]


def pad(seqs):
    T = max(len(s) for s in seqs)
    return torch.tensor([s + [PAD] * (T - len(s)) for s in seqs], dtype=torch.long)


class Encoder(nn.Module):
    def __init__(self, vocab, hidden, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)

    def forward(self, ids, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(self.dropout(self.embedding(ids)), lengths, batch_first=True, enforce_sorted=False)
        out, h = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        return out, h.squeeze(0)


class AdditiveAttention(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.query_proj = nn.Linear(hidden, hidden, bias=False)
        self.key_proj = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, 1, bias=False)


class Decoder(nn.Module):
    def __init__(self, vocab, hidden, dropout, attention):
        super().__init__()
        self.use_attention = attention
        self.embedding = nn.Embedding(vocab, hidden)
        self.dropout = nn.Dropout(dropout)
        self.attention = AdditiveAttention(hidden) if attention else None
        self.gru = nn.GRUCell(2 * hidden if attention else hidden, hidden)
        self.out = nn.Linear(hidden, vocab)

    def memory(self, states, padding_mask):
        keys = self.attention.key_proj(states) if self.use_attention else None
        return states, keys, padding_mask

    def step(self, embedded, state, memory):
        if not self.use_attention:
            return self.gru(embedded, state), None
        states, keys, padding_mask = memory
        scores = self.attention.v(torch.tanh(self.attention.query_proj(state).unsqueeze(1) + keys)).squeeze(-1)
        weights = F.softmax(scores.masked_fill(padding_mask, float("-inf")), dim=-1)
        context = torch.bmm(weights.unsqueeze(1), states).squeeze(1)
        return self.gru(torch.cat([embedded, context], 1), state), weights

    def forward(self, inputs, state, memory):
        embedded = self.dropout(self.embedding(inputs))
        outs = []
        for t in range(inputs.shape[1]):
            state, _ = self.step(embedded[:, t], state, memory)
            outs.append(state)
        return self.out(torch.stack(outs, 1))


class Translator(nn.Module):
    def __init__(self, src_vocab, tgt_vocab, hidden, attention, dropout=0.1):
        super().__init__()
        self.encoder = Encoder(src_vocab, hidden, dropout)
        self.decoder = Decoder(tgt_vocab, hidden, dropout, attention)

    def encode(self, ids, lengths):
        states, last = self.encoder(ids, lengths)
        return last, self.decoder.memory(states, ids == PAD)


def greedy(model, sources, max_length):
    model.eval()
    with torch.no_grad():
        ids = pad(sources)
        state, memory = model.encode(ids, [len(s) for s in sources])
        B = len(sources)
        inp = torch.full((B,), BOS, dtype=torch.long)
        out = [[] for _ in range(B)]
        done = [False] * B
        for _ in range(max_length):
            if all(done):
                break
            state, _ = model.decoder.step(model.decoder.embedding(inp), state, memory)
            logits = model.decoder.out(state)
            logits[:, PAD] = float("-inf")
            logits[:, BOS] = float("-inf")
            inp = logits.argmax(-1)
            for b, tok in enumerate(inp.tolist()):
                if done[b]:
                    continue
                if tok == EOS:
                    done[b] = True
                else:
                    out[b].append(tok)
    return out


def corpus_bleu(hyps, refs, max_order=4):
    matches, totals, hl, rl = [0] * max_order, [0] * max_order, 0, 0
    for h, r in zip(hyps, refs):
        hl += len(h)
        rl += len(r)
        for n in range(1, max_order + 1):
            rc = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            hc = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
            matches[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
            totals[n - 1] += max(0, len(h) - n + 1)
    p = [m / t if t else 0 for m, t in zip(matches, totals)]
    if min(p) == 0:
        return 0.0
    bp = 1.0 if hl > rl else math.exp(1 - rl / hl)
    return bp * math.exp(sum(math.log(x) for x in p) / max_order)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--no-attention", action="store_true")
    ap.add_argument("--reverse-source", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    pairs = load_pairs(args.data)
    if args.limit:
        pairs = pairs[: args.limit]
    order = Mulberry32(args.seed).permutation(len(pairs))
    n_train = math.floor(0.95 * len(pairs))
    train = [pairs[i] for i in order[:n_train]]
    test = [pairs[i] for i in order[n_train:]]
    src_itos, src_stoi = build_vocab(p[0] for p in train)
    tgt_itos, tgt_stoi = build_vocab(p[1] for p in train)
    rev = args.reverse_source

    def source(en):
        ids = encode(src_stoi, en)
        return ids[::-1] if rev else ids

    encoded = [(source(en), encode(tgt_stoi, fr) + [EOS]) for en, fr in train]
    torch.manual_seed(args.seed)
    model = Translator(len(src_itos), len(tgt_itos), args.hidden, not args.no_attention)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    shuffle = Mulberry32(args.seed + 1)
    train_seconds = 0.0
    bleu = float("nan")
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = shuffle.permutation(len(encoded))
        started = time.perf_counter()
        loss_sum, tokens = 0.0, 0
        for s in range(0, len(perm), 32):
            batch = [encoded[i] for i in perm[s:s + 32]]
            src = pad([b[0] for b in batch])
            dec_in = pad([[BOS] + b[1][:-1] for b in batch])
            tgt = pad([b[1] for b in batch])
            opt.zero_grad()
            state, memory = model.encode(src, [len(b[0]) for b in batch])
            logits = model.decoder(dec_in, state, memory)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=PAD)
            loss.backward()
            opt.step()
            n = sum(len(b[1]) for b in batch)
            loss_sum += loss.item() * n
            tokens += n
        seconds = time.perf_counter() - started
        train_seconds += seconds
        hyps = greedy(model, [source(en) for en, _ in test], MAX_TOKENS)
        bleu = 100 * corpus_bleu([[tgt_itos[i] for i in h] for h in hyps], [fr.split(" ") for _, fr in test])
        print(f"epoch {epoch}: train loss {loss_sum / tokens:.4f}, test BLEU {bleu:.2f}, {seconds:.1f} s training", flush=True)
    print(json.dumps({"framework": "pytorch", "bleu": bleu, "train_seconds": train_seconds, "pairs": len(pairs), "train_pairs": len(train),
                      "test_pairs": len(test), "epochs": args.epochs, "hidden": args.hidden, "attention": not args.no_attention,
                      "reverse_source": rev, "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
