import { GradientBuffer } from "../autograd/gradient-buffer.js";
import { backend } from "../backend/registry.js";
import { Layout } from "../core/layout.js";
import { Tensor } from "../tensor/tensor.js";
import { formatTensor } from "../tensor/format.js";

/**
 * A Tensor that a Module owns as a learnable weight (PyTorch's `nn.Parameter`). Assigning one to
 * a Module property registers it: it shows up in `parameters()` and in the state dict.
 *
 *   this.weight = new nn.Parameter(flint.empty([out, in]));
 *
 * It shares the given tensor's storage (no copy) and is always a leaf, even when made from the
 * output of an op. `requiresGrad` defaults to true; it may be passed positionally or, following
 * the options rule, as `{ requiresGrad }`. Backward writes its gradients into storage kept from
 * step to step (../autograd/gradient-buffer.ts).
 */
export class Parameter extends Tensor {
  constructor(data?: Tensor, requiresGrad: boolean | { requiresGrad?: boolean } = true) {
    const source = data ?? new Tensor(new Float32Array(0), Layout.contiguous([0]), "float32");
    super(source.storage, source.layout, source.dtype);
    const wanted = typeof requiresGrad === "boolean" ? requiresGrad : requiresGrad.requiresGrad ?? true;
    if (wanted) this.requiresGrad = true;
    if (this.dtype === "float32") this.gradientBuffer = new GradientBuffer(this.numel());
  }

  override toString(): string {
    return `Parameter containing:\n${formatTensor(this)}`;
  }
}

/**
 * A float32 tensor of `shape` filled with `value`, for a module to make a parameter from
 * (`new Parameter(parameterData([out, in]))`, then initialized in place). Its storage is the
 * backend's long-lived state (`allocateState`), which the wasm backend keeps in wasm memory: its
 * kernels read the weight, and the optimizers update it, where it is instead of copying it in
 * (and back out) at every call.
 */
export function parameterData(shape: readonly number[], value = 0): Tensor {
  const layout = Layout.contiguous(shape);
  const storage = backend().allocateState(layout.size);
  if (value !== 0) storage.fill(value);
  return new Tensor(storage, layout, "float32");
}
