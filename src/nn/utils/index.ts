// nn.utils: gradient clipping and parameter/vector conversion (PyTorch's torch.nn.utils).
export { clipGradNorm, clipGradValue, type ClipGradNormOptions, type TensorOrTensors } from "./clip-grad.js";
export { parametersToVector, vectorToParameters } from "./convert-parameters.js";
export * as rnn from "./rnn.js";
