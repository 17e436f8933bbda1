// flint.transforms: torchvision-style image transforms on float CHW tensors, seeded by flint's RNG.
export { applyTransform, type Transform, type RandomTransformOptions } from "./transform.js";
export { Compose } from "./compose.js";
export { ToTensor, type RawImageBatch } from "./to-tensor.js";
export { Normalize } from "./normalize.js";
export { Pad, pad, crop, type PaddingMode } from "./pad.js";
export { RandomCrop, type RandomCropOptions } from "./crop.js";
export { RandomHorizontalFlip } from "./flip.js";
export { ColorJitter, adjustBrightness, adjustContrast, adjustSaturation, adjustHue, type ColorJitterOptions } from "./color.js";
export { GaussianBlur, gaussianBlur, gaussianKernel1d } from "./blur.js";
export { RandomAffine, RandomRotation, affine, rotate, inverseAffineMatrix, type AffineOptions, type RandomAffineOptions, type Interpolation } from "./affine.js";
export { batchTransformOf } from "./batch.js";
