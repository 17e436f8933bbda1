import { FlintError } from "../core/errors.js";
import { trainCharlmCommand } from "./charlm.js";
import { evalCommand } from "./eval.js";
import { generateCommand } from "./generate.js";
import { trainMusicCommand } from "./music.js";
import { classifyCommand, trainSentimentCommand } from "./sentiment.js";
import { trainCommand, type Output } from "./train.js";
import { trainTranslateCommand, translateCommand } from "./translate.js";

/** `flint train <name>` for workloads that are not MNIST classifiers: their own options. */
const OTHER_TRAINERS: Record<string, (argv: readonly string[], out: Output) => Promise<number>> = {
  charlm: trainCharlmCommand,
  music: trainMusicCommand,
  sentiment: trainSentimentCommand,
  translate: trainTranslateCommand,
};

const USAGE = `flint: deep learning for TypeScript with PyTorch's API

Usage:
  flint train <lenet|lenet5> --data DIR [--epochs 2] [--batch-size 64] [--lr 0.01] [--momentum 0.9]
              [--seed 0] [--augment] [--save PATH] [--resume PATH] [--download] [--json]
  flint eval --checkpoint PATH --data DIR [--json]
  flint train charlm --data FILE [--model lstm|gru|rnn|transformer] [--steps N] [--save PATH] [--json]
  flint train music --data FILE.abc [--tunes 20] [--output generated.abc] [--json]
  flint generate --checkpoint PATH [--prompt TEXT] [--length N] [--temperature T] [--top-k K]
  flint train sentiment --data DIR [--format sst2|uci] [--model cnn|bilstm|transformer] [--epochs N] [--save PATH] [--json]
  flint classify --checkpoint PATH "text" [...]
  flint train translate --data FILE [--epochs 10] [--hidden 256] [--no-attention] [--reverse-source] [--beam K]
              [--seed 0] [--save PATH] [--json]
  flint translate --checkpoint PATH [--beam K] [--attention FILE.svg] "i am cold ."
  flint <command> --help, flint train <model> --help`;

/**
 * The `flint` command. Returns the exit status: 0 on success, 1 for a failure (the message, which
 * names the problem, goes to stderr), 2 for a usage error.
 */
export async function main(argv: readonly string[], out: Output = (line) => process.stdout.write(`${line}\n`)): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "train": {
        const other = OTHER_TRAINERS[rest[0]];
        return await (other ? other(rest.slice(1), out) : trainCommand(rest, out));
      }
      case "generate":
        return await generateCommand(rest, out, (text) => process.stdout.write(text));
      case "eval":
        return await evalCommand(rest, out);
      case "classify":
        return await classifyCommand(rest, out);
      case "translate":
        return await translateCommand(rest, out);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`flint: unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    if (error instanceof FlintError) {
      process.stderr.write(`flint ${command}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
