// optim: optimizers (PyTorch's torch.optim) and learning-rate schedulers (optim.lrScheduler).
export { Optimizer, type HyperParams, type ParamGroup, type ParamGroupSpec, type Params, type ParamState, type OptimizerStateDict } from "./optimizer.js";
export { SGD, type SGDHyperParams, type SGDOptions } from "./sgd.js";
export { Adam, AdamW, type AdamHyperParams, type AdamOptions } from "./adam.js";
export { RMSprop, type RMSpropHyperParams, type RMSpropOptions } from "./rmsprop.js";
export { Adagrad, type AdagradHyperParams, type AdagradOptions } from "./adagrad.js";
export * as lrScheduler from "./lr-scheduler/index.js";
