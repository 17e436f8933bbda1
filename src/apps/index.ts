// Applications built on flint: character language models (text and ABC music), their training
// loop, sampling, checkpoints, the ABC validity rule, and speed workloads for the benchmarks.
export * from "./models.js";
export * from "./corpus.js";
export * from "./train.js";
export * from "./sample.js";
export * from "./checkpoint.js";
export * from "./abc.js";
export * from "./recipes.js";
export * from "./workloads.js";
