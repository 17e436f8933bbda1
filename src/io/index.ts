/**
 * Checkpoints in the safetensors format, interchangeable with PyTorch's
 * `safetensors.torch.save_file` / `load_file`.
 *
 * - bytes (Node and browsers): `serializeSafetensors(record, metadata?)`,
 *   `deserializeSafetensors(bytes)`, `deserializeSafetensorsWithMetadata(bytes)` -> `{ tensors, metadata }`.
 * - files (Node >= 20.16): `save(stateDict, path, metadata?)` (atomic), `load(path)`,
 *   `loadWithMetadata(path)` -> `{ tensors, metadata }`.
 */
export { serializeSafetensors, deserializeSafetensors, deserializeSafetensorsWithMetadata, MAX_HEADER_BYTES, type SafetensorsContents } from "./safetensors.js";
export { save, load, loadWithMetadata } from "./checkpoint.js";
