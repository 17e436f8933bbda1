// optim.lrScheduler: learning-rate schedules (PyTorch's torch.optim.lr_scheduler).
export { LRScheduler, type SchedulerOptions, type SchedulerStateDict } from "./scheduler.js";
export { StepLR, MultiStepLR, ExponentialLR, LambdaLR, MultiplicativeLR, PolynomialLR, type StepLROptions, type PolynomialLROptions } from "./schedules.js";
export { LinearLR, ConstantLR, type LinearLROptions, type ConstantLROptions } from "./warmup.js";
export { CosineAnnealingLR, CosineAnnealingWarmRestarts, type CosineAnnealingLROptions, type CosineAnnealingWarmRestartsOptions } from "./cosine.js";
export { OneCycleLR, type OneCycleLROptions } from "./one-cycle.js";
export { SequentialLR, ChainedScheduler } from "./sequential.js";
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from "./plateau.js";
