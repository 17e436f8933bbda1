// End to end: a character-level LSTM language model on Tiny Shakespeare, built from flint.text,
// nn.Embedding, nn.LSTM (fused recurrence), nn.Linear, F.crossEntropy and optim.Adam, learns:
// its loss falls well below the uniform-guess loss within a few dozen steps.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import * as text from "../../src/text/index.js";
import { dataDir } from "../helpers.js";

const { nn, optim } = flint;
const F = nn.functional;

class CharLM extends nn.Module {
  embed: flint.nn.Embedding;
  lstm: flint.nn.LSTM;
  head: flint.nn.Linear;
  constructor(vocab: number) {
    super();
    this.embed = new nn.Embedding(vocab, 16);
    this.lstm = new nn.LSTM(16, 32, { batchFirst: true });
    this.head = new nn.Linear(32, vocab);
  }
  forward(ids: flint.Tensor): flint.Tensor {
    const [out] = this.lstm.forward(this.embed.forward(ids));
    return this.head.forward(out);
  }
}

test("a char-level LSTM language model trains on Tiny Shakespeare", () => {
  flint.manualSeed(0);
  const corpus = readFileSync(join(dataDir(), "tinyshakespeare", "input.txt"), "utf8").slice(0, 20000);
  const tokenizer = text.CharTokenizer.fit([corpus]);
  const model = new CharLM(tokenizer.vocabSize);
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
  const batches = [...text.languageModelBatches(tokenizer.encode(corpus), 16, 32)];
  const losses: number[] = [];
  for (let step = 0; step < 40; step++) {
    const { input, target } = batches[step % batches.length];
    const logits = model.forward(input);
    const loss = F.crossEntropy(logits.reshape([-1, tokenizer.vocabSize]), target.reshape([-1]));
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    losses.push(loss.item());
  }
  const uniform = Math.log(tokenizer.vocabSize);
  assert.ok(Math.abs(losses[0] - uniform) < 0.5, `first loss ${losses[0]} should be near ln(V) = ${uniform}`);
  const last = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
  assert.ok(last < 3.1, `loss should fall from ${losses[0].toFixed(3)} to below 3.1, got ${last.toFixed(3)}`);
});
