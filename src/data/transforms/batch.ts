import { Compose } from "./compose.js";
import type { Tensor } from "../../tensor/tensor.js";
import { ToTensor, type RawImageBatch } from "./to-tensor.js";

/**
 * When `transform` is deterministic and works on whole batches (ToTensor, optionally followed by
 * transforms with `forwardBatch`, such as Normalize), returns the function that applies it to a
 * packed batch of raw images; otherwise null (random transforms must run per sample).
 */
export function batchTransformOf(transform: unknown): ((batch: RawImageBatch) => Tensor) | null {
  const steps = transform instanceof Compose ? transform.transforms : [transform];
  const [first, ...rest] = steps;
  if (!(first instanceof ToTensor)) return null;
  const tail: ((x: Tensor) => Tensor)[] = [];
  for (const step of rest) {
    const forwardBatch = (step as { forwardBatch?: unknown } | null)?.forwardBatch;
    if (typeof forwardBatch !== "function") return null;
    tail.push((x) => forwardBatch.call(step, x) as Tensor);
  }
  return (batch) => tail.reduce((x, f) => f(x), first.forwardBatch(batch));
}
