// nn.functional (F): the stateless twin of every layer, and the losses.
export * from "./activation.js";
export * from "./linear.js";
export * from "./conv.js";
export * from "./pooling.js";
export * from "./normalization.js";
export * from "./loss.js";
export * from "./padding.js";
export { scaledDotProductAttention, multiHeadAttentionForward, type ScaledDotProductAttentionOptions, type MultiHeadAttentionForwardOptions } from "./attention.js";
export * from "./sampling.js";
export { additiveAttentionProjected, type AdditiveAttentionProjectedOptions } from "./additive-attention.js";
export { attentionGruDecoder, type AttentionDecoderWeights, type AttentionGruDecoderOptions } from "./attention-decoder.js";
