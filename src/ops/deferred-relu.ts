import type { Storage } from "../core/dtype.js";
import { Layout } from "../core/layout.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * The deferred ReLU. relu(x) of a large tensor that a recorded op produced returns a tensor whose
 * elements are computed only when something reads them (Tensor.deferred). Max pooling reads x
 * instead and pools relu(x) directly (the backends' maxPool `reluFirst`, exact values and
 * indices), so conv -> relu -> pool never writes the ReLU's output: for LeNet's first layer a
 * 2.9 MB pass and its copies into and out of wasm memory. Anything else computes it on first
 * read, from x as it was then, which is x as it was at the call:
 * - x requires grad (its op was recorded), so in grad mode in-place ops refuse to write it;
 * - an in-place write under noGrad first computes the pending outputs of what it overwrites
 *   (computeReadersOf, called by ops/inplace.ts);
 * - leaves (parameters, which optimizers update in place directly) are never deferred.
 */

const MIN_ELEMENTS = 16 * 1024;

/** Pending outputs -> their input, and each input storage -> the pending outputs reading it. */
const inputOf = new WeakMap<Tensor, Tensor>();
const readersOf = new WeakMap<Storage, Set<Tensor>>();

/** Whether relu(x) may be deferred: float32, large enough to matter, produced by a recorded op. */
export function canDeferRelu(x: Tensor): boolean {
  return x.dtype === "float32" && x.gradFn !== null && x.numel() >= MIN_ELEMENTS;
}

/** relu(x) as a deferred tensor; `compute` makes its storage (the ReLU kernel on x). */
export function deferRelu(x: Tensor, compute: () => Storage): Tensor {
  const storage = x.storage;
  const out = Tensor.deferred(
    () => {
      inputOf.delete(out);
      readersOf.get(storage)?.delete(out);
      return compute();
    },
    Layout.contiguous(x.shape),
    "float32",
  );
  inputOf.set(out, x);
  let readers = readersOf.get(storage);
  if (readers === undefined) {
    readers = new Set();
    readersOf.set(storage, readers);
  }
  readers.add(out);
  return out;
}

/** The input x of a deferred relu(x) whose elements are not computed yet; null for any other tensor. */
export function pendingReluInput(t: Tensor): Tensor | null {
  return t.isMaterialized ? null : inputOf.get(t) ?? null;
}

/** Computes every pending ReLU output that reads `storage`, before `storage` is overwritten. */
export function computeReadersOf(storage: Storage): void {
  const readers = readersOf.get(storage);
  if (readers === undefined) return;
  for (const reader of [...readers]) void reader.storage;
}
