// nn: modules, their functional twins (nn.functional), init and utils.
export * as functional from "./functional/index.js";
export * as init from "./init.js";
export * as utils from "./utils/index.js";
export * from "./modules/container.js";
export * from "./modules/linear.js";
export * from "./modules/activation.js";
export * from "./modules/dropout.js";
export * from "./modules/embedding.js";
export * from "./modules/flatten.js";
export * from "./modules/conv.js";
export * from "./modules/pooling.js";
export * from "./modules/normalization.js";
export * from "./modules/locally-connected.js";
export * from "./modules/loss.js";
