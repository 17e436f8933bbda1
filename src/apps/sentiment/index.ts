// Sentence sentiment classification: data files, models, the training recipe, checkpoints, inference.
export * from "./data.js";
export * from "./models.js";
export * from "./batches.js";
export * from "./train.js";
export * from "./averaging.js";
export * from "./checkpoint.js";
export * from "./classify.js";
