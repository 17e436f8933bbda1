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
 * the options rule, as `{ requiresGrad }`.
 */
export class Parameter extends Tensor {
  constructor(data?: Tensor, requiresGrad: boolean | { requiresGrad?: boolean } = true) {
    const source = data ?? new Tensor(new Float32Array(0), Layout.contiguous([0]), "float32");
    super(source.storage, source.layout, source.dtype);
    const wanted = typeof requiresGrad === "boolean" ? requiresGrad : requiresGrad.requiresGrad ?? true;
    if (wanted) this.requiresGrad = true;
  }

  override toString(): string {
    return `Parameter containing:\n${formatTensor(this)}`;
  }
}
