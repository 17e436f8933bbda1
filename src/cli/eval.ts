import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { parseOptions, type OptionSpec } from "./args.js";
import { loadCheckpoint } from "./checkpoint.js";
import { evaluate } from "./evaluate.js";
import { mnistSplit } from "./mnist-data.js";
import { createModel } from "./models.js";
import type { Output } from "./train.js";

export const EVAL_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { type: "string", description: "a checkpoint from flint train --save, or a LeNet/LeNet-5 state dict (safetensors)" },
  data: { type: "string", description: "folder with the MNIST IDX files" },
  json: { type: "flag", description: "print the results as one JSON object on the last stdout line" },
  limit: { type: "integer", description: "evaluate the first N test images only", hidden: true },
  help: { type: "flag", description: "show this help" },
};

const EVAL_USAGE = "Usage: flint eval --checkpoint PATH --data DIR [--json]\n\nReports the model's accuracy and loss on the MNIST test set.";

export async function evalCommand(argv: readonly string[], out: Output): Promise<number> {
  const options = parseOptions("eval", argv, EVAL_OPTIONS, EVAL_USAGE, out);
  if (options === null) return 0;
  if (typeof options.checkpoint !== "string") fail("eval", "--checkpoint PATH is required");
  if (typeof options.data !== "string") fail("eval", "--data DIR is required: the folder holding the MNIST IDX files");
  const checkpoint = loadCheckpoint("eval", options.checkpoint);
  const model = createModel(checkpoint.model);
  model.loadStateDict(checkpoint.modelState);
  const testSet = mnistSplit("eval", options.data, false, { model: checkpoint.model, limit: options.limit as number | undefined });
  const started = performance.now();
  const result = evaluate(model, testSet);
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    model: checkpoint.model,
    checkpoint: options.checkpoint,
    epochs: checkpoint.training?.epoch ?? null,
    test_accuracy: result.accuracy,
    test_loss: result.loss,
    test_samples: result.samples,
    eval_seconds: seconds,
  };
  if (options.json) out(JSON.stringify(summary));
  else out(`${checkpoint.model} from ${options.checkpoint}: test accuracy ${(100 * result.accuracy).toFixed(2)}% (${Math.round(result.accuracy * result.samples)}/${result.samples}), test loss ${result.loss.toFixed(4)}`);
  return 0;
}
