// Files written by Python's real safetensors library (test/fixtures/gen_safetensors.py) load in
// flint with PyTorch's values, converted the way torch's .float() / .int() convert them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { fixturePath, loadJsonFixture } from "../helpers.js";
import { assertThrowsFlint } from "./io-helpers.js";

interface ExpectedTensor {
  dtype: string;
  flintDtype: flint.DType;
  shape: number[];
  bits?: number[]; // float32 bit patterns (exact; covers inf, nan and -0)
  values?: number[];
}

function floatBits(t: flint.Tensor): number[] {
  return Array.from(new Uint32Array(new Float32Array(t.data() as Float32Array).buffer));
}

function assertTensorMatches(name: string, got: flint.Tensor | undefined, want: ExpectedTensor): void {
  assert.ok(got instanceof flint.Tensor, `${name}: missing`);
  assert.equal(got.dtype, want.flintDtype, `${name} (${want.dtype}): dtype`);
  assert.deepEqual([...got.shape], want.shape, `${name}: shape`);
  if (want.bits) {
    const gotBits = floatBits(got);
    gotBits.forEach((bits, i) => {
      const isNaN = (b: number) => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
      if (isNaN(want.bits![i])) assert.ok(isNaN(bits), `${name}[${i}]: expected NaN`);
      else assert.equal(bits.toString(16), want.bits![i].toString(16), `${name}[${i}]: float32 bits`);
    });
    assert.equal(gotBits.length, want.bits.length, `${name}: element count`);
  } else {
    assert.deepEqual(Array.from(got.data() as ArrayLike<number>), want.values, `${name}: values`);
  }
}

const state = loadJsonFixture<{ metadata: Record<string, string>; tensors: Record<string, ExpectedTensor> }>("safetensors/pytorch_state.json");

test("flint.load reads a PyTorch state dict saved by safetensors.torch.save_file, every dtype exact", () => {
  const loaded = flint.load(fixturePath("safetensors/pytorch_state.safetensors"));
  assert.deepEqual(Object.keys(loaded).sort(), Object.keys(state.tensors).sort());
  for (const [name, want] of Object.entries(state.tensors)) assertTensorMatches(name, loaded[name], want);
  // The fixture covers what the task promises: each dtype, a 0-d I64 counter, 0-d and empty tensors.
  const dtypes = new Set(Object.values(state.tensors).map((t) => t.dtype));
  for (const dtype of ["F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"]) assert.ok(dtypes.has(dtype), dtype);
  assert.deepEqual(state.tensors["bn.num_batches_tracked"], { dtype: "I64", flintDtype: "int32", shape: [], values: [2] });
  assert.equal(loaded["bn.num_batches_tracked"].item(), 2);
  assert.deepEqual([...loaded.empty.shape], [0, 3]);
  assert.deepEqual([...loaded.empty_ids.shape], [2, 0]);
  assert.equal(loaded.scalar.item(), 2.5);
});

test("the __metadata__ map comes back from loadWithMetadata and deserializeSafetensorsWithMetadata", () => {
  const file = fixturePath("safetensors/pytorch_state.safetensors");
  assert.deepEqual(flint.io.loadWithMetadata(file).metadata, state.metadata);
  const fromBytes = flint.io.deserializeSafetensorsWithMetadata(readFileSync(file));
  assert.deepEqual(fromBytes.metadata, { format: "pt", note: "fixture ü" });
  assertTensorMatches("fc.weight", fromBytes.tensors["fc.weight"], state.tensors["fc.weight"]);
  // A file without metadata gives an empty map.
  assert.deepEqual(flint.io.loadWithMetadata(fixturePath("safetensors/numpy_unsigned.safetensors")).metadata, {});
});

test("deserializeSafetensors accepts a Uint8Array view at an offset and an ArrayBuffer", () => {
  const bytes = readFileSync(fixturePath("safetensors/pytorch_state.safetensors"));
  const padded = new Uint8Array(bytes.length + 3);
  padded.set(bytes, 3); // misaligned view: every F32/I64 read must still be right
  const fromView = flint.io.deserializeSafetensors(padded.subarray(3));
  const fromBuffer = flint.io.deserializeSafetensors(padded.slice(3).buffer);
  for (const [name, want] of Object.entries(state.tensors)) {
    assertTensorMatches(name, fromView[name], want);
    assertTensorMatches(name, fromBuffer[name], want);
  }
});

test("unsigned integers written by safetensors.numpy (U16, U32, U64) load as int32", () => {
  const expected = loadJsonFixture<Record<string, { shape: number[]; values: number[] }>>("safetensors/numpy_unsigned.json");
  const loaded = flint.load(fixturePath("safetensors/numpy_unsigned.safetensors"));
  for (const [name, want] of Object.entries(expected)) {
    assert.equal(loaded[name].dtype, "int32", name);
    assert.deepEqual([...loaded[name].shape], want.shape, name);
    assert.deepEqual(Array.from(loaded[name].data() as Int32Array), want.values, name);
  }
});

test("integers that do not fit in int32 are an error naming the file, the tensor and the value", () => {
  const cases: [string, RegExp][] = [
    ["i64_too_big", /^load: ".*i64_too_big\.safetensors": tensor "num_batches_tracked" \(I64, shape \[\]\): value 2147483648 at flat index 0 does not fit in int32/],
    ["i64_too_small", /^load: ".*i64_too_small\.safetensors": tensor "ids" \(I64, shape \[3\]\): value -2147483649 at flat index 2 does not fit in int32/],
    ["u32_too_big", /tensor "u" \(U32, shape \[2\]\): value 2147483648 at flat index 1 does not fit in int32/],
    ["u64_too_big", /tensor "u" \(U64, shape \[1\]\): value 9223372036854775813 at flat index 0 does not fit in int32/],
  ];
  for (const [name, message] of cases) {
    assertThrowsFlint(() => flint.load(fixturePath(`safetensors/overflow/${name}.safetensors`)), message);
  }
});

test("a dtype flint cannot represent (C64) is a clear error listing the supported ones", () => {
  assertThrowsFlint(
    () => flint.load(fixturePath("safetensors/complex.safetensors")),
    /^load: ".*complex\.safetensors": tensor "z": unsupported dtype "C64" \(flint reads F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8, BOOL\)$/,
  );
});
