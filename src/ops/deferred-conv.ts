import type { ConvGeometry } from "../backend/backend.js";
import { backend } from "../backend/registry.js";
import type { Storage } from "../core/dtype.js";
import { Layout } from "../core/layout.js";
import type { Tensor } from "../tensor/tensor.js";
import { PendingOperands } from "./deferred.js";

/**
 * The deferred convolution. A recorded 2-D convolution whose output is large next to what it
 * reads returns a tensor whose elements are computed only when something reads them
 * (./deferred.ts), so that max pooling of it (or of its deferred ReLU) can run the convolution
 * and the pooling as one backend call (conv2dMaxPool) that never hands the convolution's output
 * over: for LeNet's first layer, 2.9 MB copied out of wasm memory and back in per step. The
 * backward pass needs only the inputs, and anything else reading the output computes it on
 * first read, from the inputs as they were at the call. The weight and bias are copied then
 * (optimizers update parameters in place directly, and they are small next to the output), and
 * so is an input that no recorded op produced (a batch of data, or a parameter): such a tensor
 * often outlives many steps (a fixed batch), and registering every step's pending output on it
 * would keep them all alive. An input a recorded op produced is read in place, registered so
 * that an in-place write computes the output first.
 */

const MIN_ELEMENTS = 16 * 1024;
/** Deferring pays only when the copies taken at the call are this many times smaller than the output. */
const MIN_OUTPUT_TO_COPIES = 8;

/** A pending convolution's operands (copies where the note above says) and geometry. */
export interface ConvOperands {
  x: Storage;
  xl: Layout;
  weight: Storage;
  wl: Layout;
  bias: Storage | null;
  bl: Layout | null;
  g: ConvGeometry;
}

const pendingConvs = new PendingOperands<ConvOperands>();

const copied = (t: Tensor): { storage: Storage; layout: Layout } => ({ storage: backend().copy(t.storage, t.layout, t.dtype), layout: Layout.contiguous(t.shape) });

/** Whether conv2d(x, weight, bias) with output geometry `g` is worth deferring (the caller records it). */
export function canDeferConv(x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGeometry): boolean {
  const outElements = g.batch * g.outChannels * g.outHeight * g.outWidth;
  const copies = weight.numel() + (bias?.numel() ?? 0) + (copiesInput(x) ? x.numel() : 0);
  return outElements >= MIN_ELEMENTS && copies * MIN_OUTPUT_TO_COPIES <= outElements;
}

/** An input no recorded op produced is copied at the call; others are read in place. */
function copiesInput(x: Tensor): boolean {
  return x.gradFn === null;
}

/** conv2d(x, weight, bias) as a deferred tensor of shape [N, O, outH, outW]. */
export function deferConv(x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const input = copiesInput(x) ? copied(x) : { storage: x.storage, layout: x.layout };
  const w = copied(weight);
  const b = bias === null ? null : copied(bias);
  const operands: ConvOperands = { x: input.storage, xl: input.layout, weight: w.storage, wl: w.layout, bias: b?.storage ?? null, bl: b?.layout ?? null, g };
  const shape = [g.batch, g.outChannels, g.outHeight, g.outWidth];
  return pendingConvs.defer(shape, copiesInput(x) ? [] : [x], operands, (o) => backend().conv2d(o.x, o.xl, o.weight, o.wl, o.bias, o.bl, o.g));
}

/** The operands of a deferred convolution whose elements are not computed yet; null for any other tensor. */
export function pendingConv(t: Tensor): ConvOperands | null {
  return pendingConvs.of(t);
}
