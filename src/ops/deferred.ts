import type { Storage } from "../core/dtype.js";
import { Layout } from "../core/layout.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * Deferred outputs: float32 tensors whose elements are computed only when something reads them
 * (Tensor.deferred), so that an op able to read the inputs instead never makes them (max pooling
 * of a ReLU of a convolution: ./deferred-relu.ts, ./deferred-conv.ts). A deferred output must
 * come out as it would have at the call, so each input it reads is either copied at the call or
 * registered here: an in-place write first computes the pending outputs reading what it
 * overwrites (computeReadersOf, called by ./inplace.ts).
 */

/**
 * Pending outputs by what they read: an input's storage, or an input that is itself pending
 * (its readers move to its storage when it is computed).
 */
const readers = new WeakMap<object, Set<Tensor>>();

/**
 * Pending outputs one storage may hold. A storage that outlives many steps (a parameter read
 * through a view, say) would otherwise keep every step's pending output alive: past this many,
 * the oldest is computed, which lets it go.
 */
const MAX_PENDING_READERS = 8;

function register(key: object, reader: Tensor): void {
  let set = readers.get(key);
  if (set === undefined) {
    set = new Set();
    readers.set(key, set);
  }
  set.add(reader);
  // A set iterates in insertion order: the first is the oldest. Computing it removes it.
  if (set.size > MAX_PENDING_READERS) void set.values().next().value!.storage;
}

/**
 * A deferred float32 tensor of `shape` that `compute` makes on first read, from `reads` (the
 * inputs it reads in place, which must not change before then except through in-place ops).
 * Each input's storage holds its pending readers until they are computed (at most
 * MAX_PENDING_READERS), so `reads` should be tensors that die with the step (op outputs).
 */
export function deferOutput(shape: readonly number[], reads: readonly Tensor[], compute: () => Storage): Tensor {
  const out = Tensor.deferred(
    () => {
      for (const input of reads) {
        readers.get(input)?.delete(out);
        if (input.isMaterialized) readers.get(input.storage)?.delete(out);
      }
      const storage = compute();
      // What read this output while it was pending reads its storage from now on.
      const pending = readers.get(out);
      if (pending !== undefined) {
        readers.delete(out);
        for (const reader of pending) register(storage, reader);
      }
      return storage;
    },
    Layout.contiguous(shape),
    "float32",
  );
  for (const input of reads) register(input.isMaterialized ? input.storage : input, out);
  return out;
}

/** Computes every pending output that reads `storage`, before `storage` is overwritten. */
export function computeReadersOf(storage: Storage): void {
  const pending = readers.get(storage);
  if (pending === undefined) return;
  for (const reader of [...pending]) void reader.storage;
}

/**
 * One kind of deferred output (a ReLU, a convolution, a pooling gradient) with what each was
 * deferred with, so that an op able to read those operands instead can find them while the
 * output is pending. The operands are dropped once the output is computed.
 */
export class PendingOperands<T> {
  private readonly byOutput = new WeakMap<Tensor, T>();

  /** deferOutput(shape, reads, ...) of `compute(operands)`, recorded with `operands` until it is computed. */
  defer(shape: readonly number[], reads: readonly Tensor[], operands: T, compute: (operands: T) => Storage): Tensor {
    const out = deferOutput(shape, reads, () => {
      this.byOutput.delete(out);
      return compute(operands);
    });
    this.byOutput.set(out, operands);
    return out;
  }

  /** The operands `t` was deferred with while it is pending; null for any other tensor. */
  of(t: Tensor): T | null {
    return t.isMaterialized ? null : this.byOutput.get(t) ?? null;
  }
}
