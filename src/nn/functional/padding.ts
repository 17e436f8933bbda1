/**
 * F.pad: pads (or, with negative amounts, crops) the trailing dims of a tensor. `pad` lists
 * amounts in PyTorch's order, last dim first: [left, right] pads the last dim, [left, right, top,
 * bottom] the last two, and so on. Built from cat / narrow / indexSelect, so autograd needs no code here.
 */
import { fail, fmtShape } from "../../core/errors.js";
import { cat } from "../../ops/shape.js";
import { Layout } from "../../core/layout.js";
import { Tensor } from "../../tensor/tensor.js";
import { full } from "../../tensor/creation.js";

export type PadMode = "constant" | "reflect" | "replicate" | "circular";

export interface PadOptions {
  /** "constant" (default) fills with `value`; "reflect" mirrors without repeating the edge;
   * "replicate" repeats the edge; "circular" wraps around. */
  mode?: PadMode;
  /** Fill value for "constant" mode (default 0). */
  value?: number;
}

export function pad(input: Tensor, padding: number[], options: PadOptions = {}): Tensor {
  const mode = options.mode ?? "constant";
  if (!Array.isArray(padding) || padding.length % 2 !== 0) fail("pad", `padding length must be divisible by 2, got ${JSON.stringify(padding)}`);
  if (padding.length / 2 > input.ndim) fail("pad", `padding length ${padding.length} is too large for an input of shape ${fmtShape(input.shape)} (at most ${2 * input.ndim})`);
  if (padding.some((p) => !Number.isInteger(p))) fail("pad", `padding amounts must be integers, got ${JSON.stringify(padding)}`);
  if (mode !== "constant" && options.value !== undefined && options.value !== 0) fail("pad", `padding mode "${mode}" doesn't take in value argument`);
  let out = input;
  for (let i = 0; i < padding.length / 2; i++) {
    const dim = input.ndim - 1 - i;
    const before = padding[2 * i];
    const after = padding[2 * i + 1];
    if (before === 0 && after === 0) continue;
    switch (mode) {
      case "constant":
        out = padConstant(out, dim, before, after, options.value ?? 0);
        break;
      case "reflect": case "replicate": case "circular":
        out = padByIndex(out, dim, before, after, mode);
        break;
      default:
        fail("pad", `unknown padding mode ${JSON.stringify(mode)} (expected "constant", "reflect", "replicate" or "circular")`);
    }
  }
  return out;
}

function padConstant(x: Tensor, dim: number, before: number, after: number, value: number): Tensor {
  const size = x.shape[dim];
  if (size + before + after < 0) fail("pad", `the padded size of dim ${dim} would be negative (${size} + ${before} + ${after}) for input of shape ${fmtShape(x.shape)}`);
  // Negative amounts crop.
  const start = Math.max(0, -before);
  const kept = Math.max(0, size - start - Math.max(0, -after));
  let core = x.narrow(dim, start, kept);
  const parts: Tensor[] = [];
  const block = (n: number) => {
    const shape = core.shape.slice();
    shape[dim] = n;
    return full(shape, value, { dtype: x.dtype });
  };
  if (before > 0) parts.push(block(before));
  parts.push(core);
  if (after > 0) parts.push(block(after));
  if (parts.length > 1) core = cat(parts, dim);
  return core;
}

function padByIndex(x: Tensor, dim: number, before: number, after: number, mode: "reflect" | "replicate" | "circular"): Tensor {
  const size = x.shape[dim];
  if (mode === "reflect" && (before >= size || after >= size)) {
    fail("pad", `padding size should be less than the corresponding input dimension, but got padding (${before}, ${after}) at dimension ${dim} of input ${fmtShape(x.shape)}`);
  }
  if (mode === "circular" && (before > size || after > size)) {
    fail("pad", `padding value causes wrapping around more than once: padding (${before}, ${after}) at dimension ${dim} of input ${fmtShape(x.shape)}`);
  }
  if (size === 0) fail("pad", `cannot ${mode}-pad an empty dimension ${dim} of input ${fmtShape(x.shape)}`);
  const length = size + before + after;
  if (length < 0) fail("pad", `the padded size of dim ${dim} would be negative (${size} + ${before} + ${after})`);
  const source = (i: number): number => {
    if (i >= 0 && i < size) return i;
    if (mode === "replicate") return i < 0 ? 0 : size - 1;
    if (mode === "circular") return ((i % size) + size) % size;
    return i < 0 ? -i : 2 * (size - 1) - i;
  };
  const indices = new Int32Array(length);
  for (let j = 0; j < length; j++) indices[j] = source(j - before);
  return x.indexSelect(dim, new Tensor(indices, Layout.contiguous([length]), "int32"));
}
