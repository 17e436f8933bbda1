/** `flint.save` / `flint.load`: state dicts to and from safetensors files (Node only). */
import { fail } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { readFileBytes, writeFileAtomically } from "./node-fs.js";
import { decodeSafetensors, encodeSafetensors, type SafetensorsContents } from "./safetensors.js";

function checkPath(op: string, file: unknown): asserts file is string {
  if (typeof file !== "string" || file.length === 0) fail(op, `expected a file path (non-empty string), got ${file === "" ? "an empty string" : typeof file}`);
}

/**
 * Writes a state dict as a safetensors file that `safetensors.torch.load_file` reads. The write is
 * atomic: an existing file is replaced only once the new one is complete and flushed to disk.
 */
export function save(stateDict: Record<string, Tensor>, path: string, metadata?: Record<string, string>): void {
  checkPath("save", path);
  writeFileAtomically("save", path, encodeSafetensors("save", stateDict, metadata));
}

/** Reads a safetensors file (for example one written by `safetensors.torch.save_file`) into a state dict. */
export function load(path: string): Record<string, Tensor> {
  return readCheckpoint("load", path).tensors;
}

/** Like `load`, also returning the file's `__metadata__` (empty when it has none). */
export function loadWithMetadata(path: string): SafetensorsContents {
  return readCheckpoint("loadWithMetadata", path);
}

function readCheckpoint(op: string, path: string): SafetensorsContents {
  checkPath(op, path);
  return decodeSafetensors(op, `${JSON.stringify(path)}: `, readFileBytes(op, path));
}
