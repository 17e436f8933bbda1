// flint.data: datasets, batching and splitting (torch.utils.data).
export { Dataset, TensorDataset, Subset, randomSplit } from "./dataset.js";
export { DataLoader, type DataLoaderOptions } from "./dataloader.js";
export { defaultCollate } from "./collate.js";
export { RawImage } from "./image.js";
