// The tensors flint writes into test/fixtures/safetensors/flint_written.safetensors. The Python
// generator (test/fixtures/gen_safetensors.py, flint_record) builds the same tensors with torch
// and checks that the real safetensors library reads flint's file back to exactly them.
import * as flint from "../../src/index.js";

export const FLINT_FIXTURE = "safetensors/flint_written.safetensors";
export const FLINT_METADATA: Record<string, string> = { format: "pt", written_by: "flint ü" };

export function flintFixtureRecord(): Record<string, flint.Tensor> {
  return {
    "linear.weight": flint.arange(12).reshape([3, 4]).sub(5).div(8),
    "linear.bias": flint.tensor([0.1, -2.5, 1e-3]),
    "bn.num_batches_tracked": flint.tensor(7, { dtype: "int32" }),
    "bn.running_var": flint.tensor([1.0, 0.5, 0.25, 2.0]),
    mask: flint.tensor([[true, false, true], [false, true, true]]),
    empty: flint.zeros([0, 5]),
    ids: flint.tensor([-2147483648, -1, 0, 1, 2147483647], { dtype: "int32" }),
    scalar: flint.tensor(3.25),
    "0": flint.tensor([-0]),
    transposed: flint.arange(6).reshape([2, 3]).t(), // a non-contiguous view: written as its values
    specials: flint.tensor([Infinity, -Infinity, NaN, 1e-45]),
  };
}
