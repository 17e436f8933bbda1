// The kernels module's exports. Every threaded kernel takes (args, share, shares): `args` points
// at its fields in linear memory, and each call computes one of `shares` disjoint parts of the
// job (the threads claim shares until none is left; see src/backend/wasm/worker-loop.ts).
export { matmul, gemmScratchBytes, gemmPackB, gemmPackedBBytes } from "./gemm";
export { unfold, fold } from "./window";
export { convGradRows, convForward, convBackward } from "./conv";
export { convDirectForward } from "./conv-direct";
export { convWeightGradFromMaxPool } from "./conv-pool";
export { winogradScratchBytes, winogradWeights, winogradForward, winogradBackward, winogradWeightGrad } from "./winograd";
export { binary, unary } from "./elementwise";
export { reduce, sumPartials } from "./reduce";
export { maxPool, maxPoolBackward, avgPool, avgPoolBackward } from "./pool";
export { recurrentForwardSave, recurrentForwardStep, recurrentForwardGates, recurrentForwardFused, recurrentForwardProjected, recurrentForwardEnd } from "./recurrent";
export { recurrentBackwardBegin, recurrentBackwardInput, recurrentBackwardStep, recurrentBackwardGates, recurrentBackwardFused, recurrentBackwardBias } from "./recurrent";
export { adamUpdate, sgdMomentumUpdate } from "./optim";
export { crossEntropyForward, crossEntropyBackward } from "./loss";
export { attentionSoftmax, attentionSoftmaxBackward } from "./attention";
export { additiveAttentionForward, additiveAttentionBackward } from "./additive-attention";
export { stridedCopy } from "./copy";
export { layerNormForward, layerNormBackward } from "./normalization";
