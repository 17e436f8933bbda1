// API.md rule 6: bad input throws a FlintError whose message names the op and the offending
// shapes or values. Each message is pinned exactly, so a vaguer one fails the test.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";

const f = (shape: number[]) => flint.zeros(shape);
const i32 = (values: number[]) => flint.tensor(values, { dtype: "int32" });

const CASES: [() => unknown, string][] = [
  [() => f([2, 3]).matmul(f([4, 5])), "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)"],
  [() => f([3]).matmul(f([4])), "matmul: shapes [3] and [4] cannot be multiplied (3 != 4)"],
  [() => f([2, 2, 3]).matmul(f([2, 2, 3])), "matmul: shapes [2, 2, 3] and [2, 2, 3] cannot be multiplied (3 != 2)"],
  [() => f([2, 2, 3]).matmul(f([3, 3, 2])), "matmul: shapes [2] and [3] cannot be broadcast together (dimension -1: 2 vs 3)"],
  [() => flint.tensor(1).matmul(f([2])), "matmul: both arguments need at least 1 dimension, got shapes [] and [2]"],
  [() => f([2, 3]).matmul(i32([1, 2, 3])), "matmul: expected float32 tensors, got float32 and int32 (convert with .float())"],
  [() => f([2, 3]).mm(f([2, 3])), "mm: shapes [2, 3] and [2, 3] cannot be multiplied (3 != 2)"],
  [() => f([2, 3]).mm(f([3])), "mm: expected 2-D tensors, got shapes [2, 3] and [3]"],
  [() => f([2, 2, 3]).bmm(f([3, 3, 2])), "bmm: batch sizes differ: shapes [2, 2, 3] and [3, 3, 2]"],
  [() => f([2, 2, 3]).bmm(f([2, 2, 2])), "bmm: shapes [2, 2, 3] and [2, 2, 2] cannot be multiplied (3 != 2)"],
  [() => f([3]).dot(f([4])), "dot: inconsistent tensor size: 3 and 4"],
  [() => f([2, 3]).add(f([4])), "add: shapes [2, 3] and [4] cannot be broadcast together (dimension -1: 3 vs 4)"],
  [() => f([2, 3]).mul(f([2, 1, 4])), "mul: shapes [2, 3] and [2, 1, 4] cannot be broadcast together (dimension -1: 3 vs 4)"],
  [() => f([2, 3]).add("a" as never), "add: expected a Tensor or a number, got string"],
  [() => flint.where(flint.tensor([true, false, true]), f([2]), 0), "where: shapes [3] and [2] and [] cannot be broadcast together (dimension -1: 3 vs 2)"],
  [() => f([2, 3]).sum(2), "sum: dimension 2 is out of range for a tensor of 2 dimensions (expected in [-2, 1])"],
  [() => f([2, 3]).sum([0, -2]), "sum: dim [0,-2] appears multiple times in the list of dims"],
  [() => f([2, 3]).max(-3), "max: dimension -3 is out of range for a tensor of 2 dimensions (expected in [-2, 1])"],
  [() => f([0]).max(), "max: cannot reduce an empty tensor with no identity (specify a dim)"],
  [() => f([2, 0]).max(1), "max: cannot reduce over dimension 1 of size 0 (shape [2, 0])"],
  [() => f([0, 3]).amax(0), "amax: cannot reduce over dimension 0 of size 0 (shape [0, 3])"],
  [() => f([0]).argmax(), "argmax: cannot take the index of an empty tensor"],
  [() => f([2, 3]).reshape([4, 2]), "reshape: shape [4, 2] is invalid for input of shape [2, 3] (6 elements)"],
  [() => f([2, 3]).reshape([-1, -1]), "reshape: only one dimension can be inferred (-1), got [-1, -1]"],
  [() => f([2, 3]).view([4, -1]), "view: shape [4, -1] is invalid for input of shape [2, 3] (6 elements)"],
  [() => f([2, 3]).reshape(6 as never), "reshape: shape must be an array such as [2, 3], got 6"],
  [() => f([2, 3]).permute(1 as never), "permute: dims must be an array such as [1, 0], got 1"],
  [() => f([1, 3]).expand(3 as never), "expand: shape must be an array such as [2, 3], got 3"],
  [() => flint.zeros(3 as never), "zeros: shape must be an array of non-negative integers, got 3"],
  [() => f([2, 3]).permute([0]), "permute: number of dims don't match: got [0] for a tensor of shape [2, 3]"],
  [() => f([2, 3]).permute([0, 0]), "permute: repeated dim in [0, 0]"],
  [() => f([2, 3]).transpose(0, 2), "transpose: dimension 2 is out of range for a tensor of 2 dimensions (expected in [-2, 1])"],
  [() => f([2, 3, 4]).t(), "t: expects a tensor with <= 2 dimensions, but got shape [2, 3, 4]; use transpose(dim0, dim1)"],
  [() => f([2, 3]).expand([2, 4]), "expand: the expanded size of the tensor (4) must match the existing size (3) at non-singleton dimension 1; target [2, 4], tensor [2, 3]"],
  [() => f([2, 3]).expand([3]), "expand: the number of sizes provided (1) must be at least the number of dimensions (2) of shape [2, 3]"],
  [() => f([2, 3]).narrow(1, 2, 2), "narrow: start (2) + length (2) exceeds dimension 1 of size 3 (shape [2, 3])"],
  [() => f([2, 3]).select(0, 2), "select: index 2 is out of bounds for dimension 0 with size 2"],
  [() => f([2, 3]).slice(0, 0, 0), "slice: too many indices (3) for a tensor of shape [2, 3]"],
  [() => f([2, 3]).slice([0, 2, 0]), "slice: step must be a positive integer, got 0"],
  [() => f([5]).split([2, 2]), "split: split sizes [2, 2] sum to 4 but dimension 0 has size 5"],
  [() => f([5]).chunk(0), "chunk: chunks must be a positive integer, got 0"],
  [() => f([2, 3]).repeat([2]), "repeat: number of repeat dims (1) cannot be smaller than the number of tensor dims (2)"],
  [() => flint.cat([f([2, 3]), f([2, 4])], 0), "cat: sizes of tensors must match except in dimension 0: got [2, 3] and [2, 4] (tensor 1)"],
  [() => flint.cat([f([2, 3]), f([3])], 0), "cat: tensors must have the same number of dimensions: got [2, 3] and [3] (tensor 1)"],
  [() => flint.cat([], 0), "cat: expected a non-empty list of tensors"],
  [() => flint.stack([f([2]), f([3])]), "stack: expects each tensor to be equal size, but got [2] at entry 0 and [3] at entry 1"],
  [() => f([3, 4]).indexSelect(0, i32([0, 3])), "indexSelect: index 3 is out of bounds for dimension 0 with size 3"],
  [() => f([3, 4]).indexSelect(0, i32([-1])), "indexSelect: index -1 is out of bounds for dimension 0 with size 3"],
  [() => f([3, 4]).indexSelect(0, flint.tensor([0])), "indexSelect: index must be an int32 tensor, got float32"],
  [() => f([3, 4]).gather(1, flint.tensor([[0, 9]], { dtype: "int32" })), "gather: index 9 is out of bounds for dimension 1 with size 4"],
  [() => f([3, 4]).gather(1, i32([0])), "gather: index tensor must have the same number of dimensions as input: got [1] and [3, 4]"],
  [() => f([3, 4]).scatter(0, flint.zeros([1, 2], { dtype: "int32" }), f([2])), "scatter: index [1, 2] and src [2] must have the same number of dimensions"],
  [() => f([3, 4]).maskedFill(f([3, 4]).eq(0).int(), 1), "maskedFill: mask must be a bool tensor, got int32"],
  [() => f([3]).maskedFill(flint.tensor([[true], [false]]), 1), "maskedFill: mask of shape [2, 1] must broadcast to the input's shape [3]"],
  [() => i32([2, 3]).pow(-1), "pow: integers to negative integer powers are not allowed (exponent -1 on a int32 tensor); convert with .float()"],
  [() => i32([1, 2]).add_(0.5), "add_: result type float32 can't be cast to the desired output type int32"],
  [() => i32([1, 2]).div_(2), "div_: result type float32 can't be cast to the desired output type int32"],
  [() => f([2]).clamp(), "clamp: at least one of min and max must be given"],
  [() => flint.randn([2, -3]), "randn: shape must contain non-negative integers, got [2, -3]"],
  [() => flint.randperm(-1), "randperm: n must be a non-negative integer, got -1"],
  [() => flint.linspace(0, 1, -2), "linspace: steps must be a non-negative integer, got -2"],
  [() => flint.setBackend("cuda"), 'setBackend: unknown backend "cuda"'],
];

test("bad input throws FlintError naming the op and the values", () => {
  for (const [run, message] of CASES) {
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof flint.FlintError, `not a FlintError: ${String(error)}`);
      assert.ok(error instanceof Error);
      assert.ok(error.message.startsWith(message), `got "${error.message}", expected "${message}"`);
      return true;
    });
  }
});

test("awkward input that PyTorch defines (no error) gives PyTorch's values", () => {
  assert.deepEqual(flint.tensor([1, 2]).div(0).tolist(), [Infinity, Infinity]);
  assert.deepEqual(flint.tensor([-1]).sqrt().isnan().tolist(), [true]);
  assert.deepEqual(flint.zeros([0]).sum().tolist(), 0);
  assert.deepEqual(flint.zeros([0]).prod().tolist(), 1);
});
