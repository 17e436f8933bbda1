import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { modelOfStateDict, isModelName, type ModelName } from "./models.js";

type Tensor = flint.Tensor;

/** What a training checkpoint records besides the tensors, so that --resume continues exactly. */
export interface TrainingState {
  model: ModelName;
  /** The training options in effect (batch size, lr, seed, ...). */
  args: Record<string, string | number | boolean>;
  /** Epochs completed. */
  epoch: number;
  /** Generator states: the shuffling order and the augmentation draws. */
  generators: Record<string, number[]>;
}

const FORMAT = "flint-train-checkpoint/1";
const OPTIMIZER_PREFIX = "optimizer.";

/**
 * Writes the model's state dict under PyTorch's keys, the optimizer's tensors flattened as
 * `optimizer.state.<i>.<name>` (param_groups and scalar state as JSON in the metadata) and the
 * training state, as one safetensors file, atomically (flint.io.save writes a temp file and renames).
 */
export function saveCheckpoint(path: string, model: flint.nn.Module, optimizer: flint.optim.Optimizer<any>, state: TrainingState): void {
  const tensors: Record<string, Tensor> = { ...model.stateDict() };
  const optimizerState = optimizer.stateDict();
  const scalars: Record<string, Record<string, unknown>> = {};
  for (const [index, entry] of Object.entries(optimizerState.state)) {
    for (const [name, value] of Object.entries(entry)) {
      if (value instanceof flint.Tensor) tensors[`${OPTIMIZER_PREFIX}state.${index}.${name}`] = value;
      else (scalars[index] ??= {})[name] = value;
    }
  }
  const metadata = {
    format: FORMAT,
    model: state.model,
    epoch: String(state.epoch),
    args: JSON.stringify(state.args),
    generators: JSON.stringify(state.generators, (_, v) => (typeof v === "number" && Number.isNaN(v) ? "NaN" : v)),
    optimizer: JSON.stringify({ param_groups: optimizerState.param_groups, state: scalars }),
  };
  flint.io.save(tensors, path, metadata);
}

export interface LoadedCheckpoint {
  model: ModelName;
  modelState: Record<string, Tensor>;
  /** null for a plain state dict (e.g. one saved by PyTorch). */
  training: (TrainingState & { optimizer: flint.optim.OptimizerStateDict }) | null;
}

/** Reads a checkpoint written by saveCheckpoint, or a plain LeNet state dict saved by PyTorch. */
export function loadCheckpoint(command: string, path: string): LoadedCheckpoint {
  const { tensors, metadata } = flint.io.loadWithMetadata(path);
  const modelState: Record<string, Tensor> = {};
  const optimizerTensors: Record<string, Tensor> = {};
  for (const [key, value] of Object.entries(tensors)) {
    if (key.startsWith(OPTIMIZER_PREFIX)) optimizerTensors[key.slice(OPTIMIZER_PREFIX.length)] = value;
    else modelState[key] = value;
  }
  if (metadata.format !== FORMAT) {
    const model = modelOfStateDict(Object.keys(modelState));
    if (model === null) fail(command, `${path} is neither a flint training checkpoint nor a LeNet/LeNet-5 state dict (keys: ${Object.keys(modelState).slice(0, 6).join(", ")}...)`);
    return { model, modelState, training: null };
  }
  if (!isModelName(metadata.model)) fail(command, `${path}: unknown model "${metadata.model}" in the checkpoint`);
  const saved = JSON.parse(metadata.optimizer) as { param_groups: flint.optim.OptimizerStateDict["param_groups"]; state: Record<string, Record<string, unknown>> };
  const state: Record<number, Record<string, unknown>> = {};
  for (const [index, scalars] of Object.entries(saved.state)) state[Number(index)] = { ...scalars };
  for (const [key, value] of Object.entries(optimizerTensors)) {
    const match = /^state\.(\d+)\.(.+)$/.exec(key);
    if (!match) fail(command, `${path}: unexpected optimizer entry "${OPTIMIZER_PREFIX}${key}"`);
    (state[Number(match[1])] ??= {})[match[2]] = value;
  }
  const generators = JSON.parse(metadata.generators, (_, v) => (v === "NaN" ? NaN : v)) as Record<string, number[]>;
  return {
    model: metadata.model,
    modelState,
    training: {
      model: metadata.model,
      args: JSON.parse(metadata.args),
      epoch: Number(metadata.epoch),
      generators,
      optimizer: { param_groups: saved.param_groups, state: state as flint.optim.OptimizerStateDict["state"] },
    },
  };
}
