// optim.lrScheduler: learning-rate schedules (PyTorch's torch.optim.lr_scheduler).
export { LRScheduler, type SchedulerOptions, type SchedulerStateDict } from "./scheduler.js";
export { StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LambdaLR, LinearLR, type StepLROptions, type CosineAnnealingLROptions, type LinearLROptions } from "./schedules.js";
export { OneCycleLR, type OneCycleLROptions } from "./one-cycle.js";
export { SequentialLR } from "./sequential.js";
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from "./plateau.js";
