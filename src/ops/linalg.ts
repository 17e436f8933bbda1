import { backend } from "../backend/registry.js";
import { fail, fmtShape } from "../core/errors.js";
import { broadcastShapes } from "../core/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { fromStorage, record } from "./util.js";

function checkFloat(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== "float32" || b.dtype !== "float32") fail(op, `expected float32 tensors, got ${a.dtype} and ${b.dtype} (convert with .float())`);
}

/** The one matmul primitive: [B, M, K] @ [B, K, N] -> [B, M, N]; any strides (transposes are free). */
function batchedMatmul(a: Tensor, b: Tensor): Tensor {
  const [batch, m] = a.shape;
  const n = b.shape[2];
  const out = fromStorage(backend().matmul(a.storage, a.layout, b.storage, b.layout), [batch, m, n], "float32");
  return record("matmul", out, [a, b], (g) => [
    a.requiresGrad ? batchedMatmul(g, b.transpose(1, 2)) : null,
    b.requiresGrad ? batchedMatmul(a.transpose(1, 2), g) : null,
  ]);
}

/**
 * x [rows, in] @ weight [out, in]^T + bias [out] as one recorded op (F.linear): weight^T is a
 * strided view the GEMM packs as it reads, and the bias is added in the GEMM's epilogue rather
 * than by a second pass over the output.
 */
export function linear2d(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  checkFloat("linear", x, weight);
  if (bias !== null) checkFloat("linear", x, bias);
  const [rows, inFeatures] = x.shape;
  const outFeatures = weight.shape[0];
  if (x.ndim !== 2 || weight.ndim !== 2 || weight.shape[1] !== inFeatures || (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== outFeatures))) {
    fail("linear", `input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)} and bias ${bias === null ? "null" : fmtShape(bias.shape)} do not fit [rows, in], [out, in], [out]`);
  }
  const a = x.unsqueeze(0);
  const b = weight.t().unsqueeze(0);
  const storage = backend().matmul(a.storage, a.layout, b.storage, b.layout, bias?.storage, bias?.layout);
  const out = fromStorage(storage, [rows, outFeatures], "float32");
  return record("linear", out, bias === null ? [x, weight] : [x, weight, bias], (g) => {
    const g3 = g.unsqueeze(0);
    const grads = [
      x.requiresGrad ? batchedMatmul(g3, weight.unsqueeze(0)).squeeze(0) : null,
      weight.requiresGrad ? batchedMatmul(g3.transpose(1, 2), a).squeeze(0) : null,
    ];
    if (bias !== null) grads.push(bias.requiresGrad ? g.sum(0) : null);
    return grads;
  });
}

function mismatch(op: string, a: Tensor, b: Tensor, k1: number, k2: number): never {
  fail(op, `shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied (${k1} != ${k2})`);
}

export function mm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 2 || b.ndim !== 2) fail("mm", `expected 2-D tensors, got shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  checkFloat("mm", a, b);
  if (a.shape[1] !== b.shape[0]) mismatch("mm", a, b, a.shape[1], b.shape[0]);
  return batchedMatmul(a.unsqueeze(0), b.unsqueeze(0)).squeeze(0);
}

export function bmm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 3 || b.ndim !== 3) fail("bmm", `expected 3-D tensors, got shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  checkFloat("bmm", a, b);
  if (a.shape[0] !== b.shape[0]) fail("bmm", `batch sizes differ: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.shape[2] !== b.shape[1]) mismatch("bmm", a, b, a.shape[2], b.shape[1]);
  return batchedMatmul(a, b);
}

export function dot(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1) fail("dot", `expected 1-D tensors, got shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.shape[0] !== b.shape[0]) fail("dot", `inconsistent tensor size: ${a.shape[0]} and ${b.shape[0]}`);
  return matmul(a, b);
}

/** torch.matmul: 1-D operands are promoted and the added dim removed; batch dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) fail("matmul", `both arguments need at least 1 dimension, got shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  checkFloat("matmul", a, b);
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  const k = a2.shape[a2.ndim - 1];
  if (k !== b2.shape[b2.ndim - 2]) mismatch("matmul", a, b, k, b2.shape[b2.ndim - 2]);
  const m = a2.shape[a2.ndim - 2];
  const n = b2.shape[b2.ndim - 1];
  let out: Tensor;
  if (b2.ndim === 2) {
    // [..., M, K] @ [K, N]: fold the batch into rows, one GEMM (the Linear-layer case).
    const batchShape = a2.shape.slice(0, -2);
    const rows = a2.reshape([batchShape.reduce((x, y) => x * y, m), k]); // not -1: k may be 0
    out = batchedMatmul(rows.unsqueeze(0), b2.unsqueeze(0)).reshape([...batchShape, m, n]);
  } else {
    const batchShape = broadcastShapes("matmul", a2.shape.slice(0, -2), b2.shape.slice(0, -2));
    const batch = batchShape.reduce((x, y) => x * y, 1);
    const a3 = a2.expand([...batchShape, m, k]).reshape([batch, m, k]);
    const b3 = b2.expand([...batchShape, k, n]).reshape([batch, k, n]);
    out = batchedMatmul(a3, b3).reshape([...batchShape, m, n]);
  }
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}
