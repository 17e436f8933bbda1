import type { Tensor } from "./tensor.js";

/** PyTorch-like repr: `tensor([[1.0000, 2.0000]], requiresGrad=true)`; long dims are elided. */
export function formatTensor(t: Tensor): string {
  const values = t.data() as ArrayLike<number>;
  const isFloat = t.dtype === "float32";
  // Formatting is decided by the values shown (a long tensor is elided), as in PyTorch.
  const shown: number[] = [];
  let cell = (v: number): string => {
    shown.push(v);
    return "";
  };
  const fmt = (v: number): string => {
    if (t.dtype === "bool") return v ? "true" : "false";
    if (!isFloat) return String(v);
    if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
    return allIntegral ? `${v}.` : v.toFixed(4);
  };
  const edge = 3;
  const build = (dim: number, offset: number, indent: string): string => {
    if (t.ndim === 0) return cell(values[0]);
    const size = t.shape[dim];
    const stride = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    const indices = size > 2 * edge + 1 && t.numel() > 1000 ? [...range(0, edge), -1, ...range(size - edge, size)] : range(0, size);
    if (dim === t.ndim - 1) return "[" + indices.map((i) => (i < 0 ? "..." : cell(values[offset + i]))).join(", ") + "]";
    const sep = ",\n" + "\n".repeat(t.ndim - dim - 2) + indent + " ";
    return "[" + indices.map((i) => (i < 0 ? "..." : build(dim + 1, offset + i * stride, indent + " "))).join(sep) + "]";
  };
  build(0, 0, "");
  const finite = shown.filter((v) => Number.isFinite(v));
  const allIntegral = finite.every((v) => Number.isInteger(v));
  // Right-align every value to the widest finite one, as PyTorch does (nan and inf do not widen).
  const width = (isFloat ? finite : shown).reduce((w, v) => Math.max(w, fmt(v).length), 0);
  cell = (v: number): string => fmt(v).padStart(width);
  const extras: string[] = [];
  if (t.dtype !== "float32") extras.push(`dtype=${t.dtype}`);
  if (t.gradFn) extras.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push("requiresGrad=true");
  if (t.numel() === 0) extras.unshift(`size=[${t.shape.join(", ")}]`);
  return `tensor(${build(0, 0, "       ")}${extras.length ? ", " + extras.join(", ") : ""})`;
}

function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}
