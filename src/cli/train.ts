import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { helpText, parseArgs, type OptionSpec } from "./args.js";
import { loadCheckpoint, saveCheckpoint, type TrainingState } from "./checkpoint.js";
import { evaluate } from "./evaluate.js";
import { mnistSplit } from "./mnist-data.js";
import { createModel, isModelName, MODEL_NAMES, type ModelName } from "./models.js";
import { formatDuration, ProgressBar } from "./progress.js";

const F = flint.nn.functional;

export const TRAIN_OPTIONS: Record<string, OptionSpec> = {
  data: { type: "string", description: "folder with the MNIST IDX files (.gz or raw)" },
  epochs: { type: "integer", description: "total epochs to train (default 2)" },
  "batch-size": { type: "integer", description: "samples per step (default 64)" },
  lr: { type: "number", description: "SGD learning rate (default 0.01)" },
  momentum: { type: "number", description: "SGD momentum (default 0.9)" },
  seed: { type: "integer", description: "seed for initialisation, shuffling and augmentation (default 0)" },
  augment: { type: "flag", description: "random affine augmentation (rotation, shift, scale)" },
  save: { type: "string", description: "write model + optimizer state (safetensors) after every epoch" },
  resume: { type: "string", description: "continue training from a checkpoint written by --save" },
  download: { type: "flag", description: "fetch missing MNIST files into --data (sha256-checked)" },
  json: { type: "flag", description: "print the results as one JSON object on the last stdout line" },
  limit: { type: "integer", description: "train and test on the first N samples only (quick runs)", hidden: true },
  help: { type: "flag", description: "show this help" },
};

export const TRAIN_USAGE = `Usage: flint train <${MODEL_NAMES.join("|")}> --data DIR [options]

Trains on MNIST with the lectures' recipe: SGD (lr 0.01, momentum 0.9), batch 64, NLL loss on
log-softmax outputs, inputs scaled to [0, 1] and normalised with mean 0.1307, std 0.3081.
  lenet   conv 1->20 5x5, ReLU, max-pool 2, conv 20->50 5x5, ReLU, max-pool 2, fc 800->500, ReLU, fc 500->10
  lenet5  LeCun 1998: C1 6@5x5, S2, C3 16@5x5, S4, C5 120, F6 84, output 10 (32x32 input by padding)`;

interface Settings {
  data: string;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  seed: number;
  augment: boolean;
  limit: number | undefined;
}

/** The options in effect: the checkpoint's (when resuming), overridden by what was given now. */
function settingsOf(given: Record<string, string | number | boolean>, saved: Record<string, string | number | boolean>): Settings {
  const pick = <V>(name: string, fallback: V): V => (given[name] ?? saved[name] ?? fallback) as V;
  const settings: Settings = {
    data: pick("data", ""),
    epochs: pick("epochs", 2),
    batchSize: pick("batch-size", 64),
    lr: pick("lr", 0.01),
    momentum: pick("momentum", 0.9),
    seed: pick("seed", 0),
    augment: pick("augment", false),
    limit: pick<number | undefined>("limit", undefined),
  };
  if (settings.data === "") fail("train", "--data DIR is required: the folder holding the MNIST IDX files (e.g. --data ../shared/data/mnist)");
  if (settings.epochs < 1) fail("train", `--epochs must be at least 1, got ${settings.epochs}`);
  if (settings.batchSize < 1) fail("train", `--batch-size must be at least 1, got ${settings.batchSize}`);
  if (!(settings.lr > 0)) fail("train", `--lr must be positive, got ${settings.lr}`);
  if (!(settings.momentum >= 0)) fail("train", `--momentum must be non-negative, got ${settings.momentum}`);
  return settings;
}

/** Prints to stdout; the caller decides what is the last line. */
export type Output = (line: string) => void;

export async function trainCommand(argv: readonly string[], out: Output): Promise<number> {
  const { positional, options } = parseArgs("train", argv, TRAIN_OPTIONS);
  if (options.help) {
    out(helpText(TRAIN_USAGE, TRAIN_OPTIONS));
    return 0;
  }
  const resumed = typeof options.resume === "string" ? loadCheckpoint("train", options.resume) : null;
  if (resumed && resumed.training === null) fail("train", `--resume ${options.resume}: the file holds model weights only, not a training checkpoint written by --save`);
  const requested = positional[0] ?? resumed?.model;
  if (requested === undefined) fail("train", `which model? flint train <${MODEL_NAMES.join("|")}> --data DIR`);
  if (!isModelName(requested)) fail("train", `unknown model "${requested}" (choose one of: ${MODEL_NAMES.join(", ")})`);
  if (positional.length > 1) fail("train", `unexpected argument "${positional[1]}"`);
  if (resumed && resumed.model !== requested) fail("train", `--resume ${options.resume} holds a ${resumed.model} checkpoint, not ${requested}`);
  const modelName: ModelName = requested;
  const settings = settingsOf(options, resumed?.training?.args ?? {});

  flint.manualSeed(settings.seed);
  const model = createModel(modelName);
  const optimizer = new flint.optim.SGD(model.parameters(), { lr: settings.lr, momentum: settings.momentum });
  const shuffleGenerator = new flint.Generator(settings.seed);
  const augmentGenerator = new flint.Generator(settings.seed + 1);
  let startEpoch = 0;
  if (resumed?.training) {
    model.loadStateDict(resumed.modelState);
    optimizer.loadStateDict(resumed.training.optimizer);
    shuffleGenerator.setState(resumed.training.generators.shuffle);
    augmentGenerator.setState(resumed.training.generators.augment);
    startEpoch = resumed.training.epoch;
    if (startEpoch >= settings.epochs) fail("train", `--resume ${options.resume} has already completed ${startEpoch} epochs; ask for more with --epochs N (N > ${startEpoch})`);
  }

  const splitOptions = { model: modelName, limit: settings.limit, download: Boolean(options.download) };
  const trainSet = mnistSplit("train", settings.data, true, { ...splitOptions, augment: settings.augment, augmentGenerator });
  const testSet = mnistSplit("train", settings.data, false, splitOptions);
  const loader = new flint.data.DataLoader(trainSet, { batchSize: settings.batchSize, shuffle: true, generator: shuffleGenerator });
  const json = Boolean(options.json);
  if (!json) out(`flint train ${modelName}: ${trainSet.length} training / ${testSet.length} test images, ${settings.epochs} epochs, batch ${settings.batchSize}, SGD lr ${settings.lr} momentum ${settings.momentum}, seed ${settings.seed}${settings.augment ? ", augmented" : ""}, backend ${flint.getBackend()}`);

  let trainSeconds = 0;
  let samplesSeen = 0;
  let result = { accuracy: NaN, loss: NaN };
  // Resident memory after each epoch, so a leak shows up as growth across epochs (issue 4: flat over 5).
  const rssMbPerEpoch: number[] = [];
  for (let epoch = startEpoch + 1; epoch <= settings.epochs; epoch++) {
    model.train();
    const steps = loader.length;
    const progress = new ProgressBar(epoch, settings.epochs, steps);
    const started = performance.now();
    let step = 0;
    let epochSamples = 0;
    let runningLoss = 0;
    for (const [x, y] of loader as Iterable<[flint.Tensor, flint.Tensor]>) {
      optimizer.zeroGrad();
      const loss = F.nllLoss(model.forward(x) as flint.Tensor, y);
      loss.backward();
      optimizer.step();
      step++;
      epochSamples += y.shape[0];
      const value = loss.item();
      runningLoss = step === 1 ? value : 0.95 * runningLoss + 0.05 * value;
      const elapsed = (performance.now() - started) / 1000;
      const rate = epochSamples / elapsed;
      progress.update(step, runningLoss, rate, ((steps - step) * settings.batchSize) / rate);
    }
    const epochSeconds = (performance.now() - started) / 1000;
    trainSeconds += epochSeconds;
    samplesSeen += epochSamples;
    const evaluation = evaluate(model, testSet);
    result = { accuracy: evaluation.accuracy, loss: evaluation.loss };
    const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
    rssMbPerEpoch.push(rssMb);
    if (!json) out(`epoch ${epoch}: test loss ${evaluation.loss.toFixed(4)}, accuracy ${(100 * evaluation.accuracy).toFixed(2)}% (${Math.round(evaluation.accuracy * evaluation.samples)}/${evaluation.samples}), ${formatDuration(epochSeconds)} training, ${(epochSamples / epochSeconds).toFixed(0)} samples/s, ${rssMb} MB resident`);
    if (typeof options.save === "string") {
      const args: Record<string, string | number | boolean> = { data: settings.data, epochs: settings.epochs, "batch-size": settings.batchSize, lr: settings.lr, momentum: settings.momentum, seed: settings.seed, augment: settings.augment };
      if (settings.limit !== undefined) args.limit = settings.limit;
      const generators = { shuffle: shuffleGenerator.getState(), augment: augmentGenerator.getState() };
      const state: TrainingState = { model: modelName, args, epoch, generators };
      saveCheckpoint(options.save, model, optimizer, state);
      if (!json) out(`saved ${options.save} (epoch ${epoch})`);
    }
  }
  const summary = {
    model: modelName,
    epochs: settings.epochs,
    epochs_run: settings.epochs - startEpoch,
    test_accuracy: result.accuracy,
    test_loss: result.loss,
    train_seconds: trainSeconds,
    samples_per_second: samplesSeen / trainSeconds,
    train_samples: trainSet.length,
    test_samples: testSet.length,
    batch_size: settings.batchSize,
    lr: settings.lr,
    momentum: settings.momentum,
    seed: settings.seed,
    augment: settings.augment,
    backend: flint.getBackend(),
    rss_mb_per_epoch: rssMbPerEpoch,
  };
  if (json) out(JSON.stringify(summary));
  else out(`done: test accuracy ${(100 * result.accuracy).toFixed(2)}%, ${formatDuration(trainSeconds)} training (${summary.samples_per_second.toFixed(0)} samples/s)`);
  return 0;
}
