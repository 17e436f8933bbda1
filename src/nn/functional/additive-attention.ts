// Additive (Bahdanau) attention as one node on the tape, on the backend's fused kernels: the
// composite (broadcast add, tanh, a width-1 linear layer, masked fill, softmax, batched matmul)
// records about ten ops per call and twice as many backward ops, which for a decoder attending
// once per step cost more than the arithmetic.
import type { AdditiveAttentionProblem } from "../../backend/backend.js";
import { backend } from "../../backend/registry.js";
import { fail, fmtShape } from "../../core/errors.js";
import { denseElements, fromStorage, record } from "../../ops/util.js";
import type { Tensor } from "../../tensor/tensor.js";

export interface AdditiveAttentionProjectedOptions {
  /** Bool [N, S], true at padding keys (their weight is 0); default none. */
  keyPaddingMask?: Tensor | null;
}

/**
 * Attention of projected queries over projected keys: t = tanh(query[n, l] + keys[n, s]),
 * scores = t . v, -inf where `keyPaddingMask` is true, weights = softmax over s, context =
 * weights @ values. query [N, L, H], keys [N, S, H], v [H], values [N, S, D] -> [context
 * [N, L, D], weights [N, L, S]]. (nn.AdditiveAttention projects the query and keys, then calls this.)
 */
export function additiveAttentionProjected(query: Tensor, keys: Tensor, v: Tensor, values: Tensor, options: AdditiveAttentionProjectedOptions = {}): [Tensor, Tensor] {
  const op = "additiveAttentionProjected";
  const keyPaddingMask = options.keyPaddingMask ?? null;
  for (const [name, t] of [["query", query], ["keys", keys], ["v", v], ["values", values]] as const) {
    if (t.dtype !== "float32") fail(op, `${name} must be float32, got ${t.dtype} (shape ${fmtShape(t.shape)})`);
  }
  if (query.ndim !== 3) fail(op, `query must be [N, L, H], got ${fmtShape(query.shape)}`);
  const [N, L, H] = query.shape;
  if (keys.ndim !== 3 || keys.shape[0] !== N || keys.shape[2] !== H) fail(op, `keys must be [${N}, S, ${H}] for query ${fmtShape(query.shape)}, got ${fmtShape(keys.shape)}`);
  const S = keys.shape[1];
  if (v.ndim !== 1 || v.shape[0] !== H) fail(op, `v must be [${H}], got ${fmtShape(v.shape)}`);
  if (values.ndim !== 3 || values.shape[0] !== N || values.shape[1] !== S) fail(op, `values must be [${N}, ${S}, D] for keys ${fmtShape(keys.shape)}, got ${fmtShape(values.shape)}`);
  if (keyPaddingMask !== null && (keyPaddingMask.dtype !== "bool" || keyPaddingMask.ndim !== 2 || keyPaddingMask.shape[0] !== N || keyPaddingMask.shape[1] !== S)) {
    fail(op, `keyPaddingMask must be a bool [${N}, ${S}] tensor, got ${keyPaddingMask.dtype} ${fmtShape(keyPaddingMask.shape)}`);
  }
  const D = values.shape[2];
  const problem: AdditiveAttentionProblem = {
    batch: N, queries: L, keys: S, hidden: H, valueSize: D,
    query: denseElements(query), key: denseElements(keys), v: denseElements(v), values: denseElements(values),
    mask: keyPaddingMask === null ? null : (keyPaddingMask.data() as Uint8Array),
  };
  const out = backend().additiveAttention(problem);
  // One output holding each row's context and weights, so a single node serves both.
  const inputs = [query, keys, v, values];
  const packed = record(op, fromStorage(out, [N, L, D + S], "float32"), inputs, (g) => {
    const grads = backend().additiveAttentionBackward(problem, out, denseElements(g));
    return [grads.query, grads.key, grads.v, grads.values].map((values, i) => (inputs[i].requiresGrad ? fromStorage(values, inputs[i].shape, "float32") : null));
  });
  return [packed.narrow(2, 0, D), packed.narrow(2, D, S)];
}
