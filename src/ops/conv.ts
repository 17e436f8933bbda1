import type { ConvGeometry } from "../backend/backend.js";
import { backend } from "../backend/registry.js";
import { fail, fmtShape } from "../core/errors.js";
import { Tensor } from "../tensor/tensor.js";
import { isGradEnabled } from "../autograd/grad-mode.js";
import { canDeferConv, deferConv } from "./deferred-conv.js";
import { pendingMaxPoolGradient } from "./deferred-pool-gradient.js";
import { fromStorage, record } from "./util.js";
import { windowGeometry, type WindowOptions } from "./window.js";

/**
 * 2-D convolution as one recorded op: x [N, C, H, W], weight [O, C/groups, kH, kW], bias [O]
 * or null -> [N, O, outH, outW]. The backend runs it as im2col + GEMM with the bias in the
 * GEMM's epilogue; the backward pass is its own kernel call (the input gradient is a GEMM plus
 * col2im, the weight gradient a GEMM over the columns, the bias gradient a row sum), so the tape
 * holds one node. Shapes are checked by the caller (F.conv2d); this checks what the kernels need.
 * A recorded convolution with a large output may be deferred (./deferred-conv.ts) so that max
 * pooling can fuse with it.
 */
export function conv2dOp(x: Tensor, weight: Tensor, bias: Tensor | null, options: WindowOptions & { groups: number }): Tensor {
  const [outChannels, inPerGroup] = weight.shape;
  if (x.ndim !== 4 || weight.ndim !== 4 || x.shape[1] !== inPerGroup * options.groups || outChannels % options.groups !== 0) {
    fail("conv2d", `input of shape ${fmtShape(x.shape)} does not match weight of shape ${fmtShape(weight.shape)} with groups=${options.groups}`);
  }
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== outChannels)) fail("conv2d", `expected bias of shape [${outChannels}], got ${fmtShape(bias.shape)}`);
  for (const t of bias === null ? [x, weight] : [x, weight, bias]) {
    if (t.dtype !== "float32") fail("conv2d", `expected float32 input, weight and bias, got ${t.dtype}`);
  }
  const g: ConvGeometry = { ...windowGeometry("conv2d", x.shape, { ...options, padValue: 0 }), groups: options.groups, outChannels };
  const shape = [g.batch, outChannels, g.outHeight, g.outWidth];
  const inputs = bias === null ? [x, weight] : [x, weight, bias];
  const recorded = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  const out = recorded && canDeferConv(x, weight, bias, g)
    ? deferConv(x, weight, bias, g)
    : fromStorage(backend().conv2d(x.storage, x.layout, weight.storage, weight.layout, bias?.storage ?? null, bias?.layout ?? null, g), shape, "float32");
  return record("conv2d", out, inputs, (grad) => {
    const want = { input: x.requiresGrad, weight: weight.requiresGrad, bias: bias?.requiresGrad ?? false };
    // Max pooling's gradient, not scattered yet (./deferred-pool-gradient.ts), when no input gradient needs it scattered.
    const pooled = want.input ? null : pendingMaxPoolGradient(grad);
    const grads = pooled !== null
      ? backend().conv2dBackwardFromMaxPool(pooled.grad.storage, pooled.grad.layout, pooled.indices, pooled.g, pooled.reluPooled, x.storage, x.layout, weight.storage, weight.layout, g, want)
      : backend().conv2dBackward(grad.storage, grad.layout, x.storage, x.layout, weight.storage, weight.layout, g, want);
    const result = [
      grads.input && fromStorage(grads.input, x.shape, "float32"),
      grads.weight && fromStorage(grads.weight, weight.shape, "float32"),
    ];
    if (bias !== null) result.push(grads.bias && fromStorage(grads.bias, bias.shape, "float32"));
    return result;
  });
}
