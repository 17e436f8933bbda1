import { existsSync, statSync } from "node:fs";
import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { inputPadding, type ModelName } from "./models.js";

const T = flint.transforms;

/** The lectures' MNIST normalisation: inputs scaled to [0, 1], then (x - 0.1307) / 0.3081. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

export interface SplitOptions {
  model: ModelName;
  /** Random affine augmentation (training split only): +-10 degrees, 10% shifts, 0.9-1.1 scale. */
  augment?: boolean;
  augmentGenerator?: flint.Generator;
  /** Keep only the first `limit` samples (quick runs and tests). */
  limit?: number;
  download?: boolean;
}

/**
 * One MNIST split as the CLI trains on it. Without augmentation the transform is batchable, so
 * the DataLoader gathers each batch straight from the decoded IDX buffer.
 */
export function mnistSplit(command: string, dir: string, train: boolean, options: SplitOptions): flint.data.Dataset<[flint.Tensor, number]> {
  if (!options.download && (!existsSync(dir) || !statSync(dir).isDirectory())) {
    fail(command, `--data ${dir}: no such directory (it should hold the MNIST IDX files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; add --download to fetch them there)`);
  }
  const padding = inputPadding(options.model);
  const steps: flint.transforms.Transform[] = [new T.ToTensor()];
  if (train && options.augment) {
    steps.push(new T.RandomAffine(10, { translate: [0.1, 0.1], scale: [0.9, 1.1], generator: options.augmentGenerator }));
  }
  // Padding before normalising fills with black, like torchvision's Pad on the image.
  if (padding > 0) steps.push(new T.Pad(padding));
  steps.push(new T.Normalize([MNIST_MEAN], [MNIST_STD]));
  const dataset = new flint.datasets.MNIST(dir, { train, download: options.download, transform: new T.Compose(steps) });
  const limit = options.limit;
  if (limit === undefined || limit >= dataset.length) return dataset;
  if (!(limit > 0)) fail(command, `--limit must be a positive integer, got ${limit}`);
  return new flint.data.Subset(dataset, Array.from({ length: limit }, (_, i) => i));
}
