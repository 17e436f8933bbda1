import { fail } from "../core/errors.js";
import { tensor } from "../tensor/creation.js";
import { stack } from "../ops/shape.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * PyTorch's default_collate: stacks tensors along a new first dimension, turns numbers into a
 * 1-D tensor (int32 when all are integers, float32 otherwise) and booleans into a bool tensor,
 * and recurses into arrays (tuples) and plain objects, keeping their structure.
 */
export function defaultCollate(samples: readonly unknown[]): unknown {
  if (samples.length === 0) fail("defaultCollate", "cannot collate an empty batch");
  const first = samples[0];
  if (first instanceof Tensor) {
    return stack(samples.map((s, i) => expectKind(s, i, "a Tensor", (v): v is Tensor => v instanceof Tensor)));
  }
  if (typeof first === "number") {
    const values = samples.map((s, i) => expectKind(s, i, "a number", (v): v is number => typeof v === "number"));
    return tensor(values, { dtype: values.every(Number.isInteger) ? "int32" : "float32" });
  }
  if (typeof first === "boolean") {
    return tensor(samples.map((s, i) => expectKind(s, i, "a boolean", (v): v is boolean => typeof v === "boolean")));
  }
  if (Array.isArray(first)) {
    const width = first.length;
    const rows = samples.map((s, i) => {
      const row = expectKind(s, i, "an array", (v): v is unknown[] => Array.isArray(v));
      if (row.length !== width) fail("defaultCollate", `each element in the batch should be of equal size: element 0 has ${width} fields, element ${i} has ${row.length}`);
      return row;
    });
    return Array.from({ length: width }, (_, k) => defaultCollate(rows.map((r) => r[k])));
  }
  if (first !== null && typeof first === "object" && Object.getPrototypeOf(first) === Object.prototype) {
    const keys = Object.keys(first);
    const out: Record<string, unknown> = {};
    for (const key of keys) out[key] = defaultCollate(samples.map((s) => (s as Record<string, unknown>)[key]));
    return out;
  }
  const kind = first === null ? "null" : typeof first === "object" ? (first.constructor?.name ?? "object") : typeof first;
  return fail("defaultCollate", `batch must contain tensors, numbers, booleans, arrays or plain objects; found ${kind} (convert images with transforms.ToTensor())`);
}

function expectKind<V>(value: unknown, index: number, kind: string, is: (v: unknown) => v is V): V {
  if (!is(value)) fail("defaultCollate", `element ${index} of the batch is not ${kind} like element 0`);
  return value;
}
