// Broken files give a clear FlintError naming the file and the tensor, never a crash, a hang or
// garbage. The files under fixtures/safetensors/malformed are checked by the generator to be
// rejected by the real safetensors library as well.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { fixturePath, loadJsonFixture } from "../helpers.js";
import { assertThrowsFlint } from "./io-helpers.js";

const EXPECTED: Record<string, RegExp> = {
  too_short: /: only 5 bytes, too short for the 8-byte header length/,
  header_past_end: /: header length 4096 runs past the end of the input \(68 bytes in all; truncated/,
  header_absurd: /: header length 1099511627776 exceeds the 100000000-byte limit/,
  header_not_utf8: /: the header is not valid UTF-8/,
  header_bad_json: /: the header is not valid JSON \(.*\); it starts with "\{\\"a\\":/,
  header_not_object: /: the header must be a JSON object mapping tensor names to entries, got an array/,
  entry_not_object: /: tensor "a": the entry must be an object with dtype, shape and data_offsets, got number 5/,
  missing_offsets: /: tensor "a": the entry has no "data_offsets" field/,
  missing_dtype: /: tensor "a": the entry has no "dtype" field/,
  negative_shape: /: tensor "a": shape must be a list of non-negative integers, got \[-2\]/,
  fractional_shape: /: tensor "a": shape must be a list of non-negative integers, got \[2.5\]/,
  unknown_dtype: /: tensor "a": unsupported dtype "Q4" \(flint reads F32, /,
  metadata_not_strings: /: "__metadata__" must map strings to strings; key "epoch" has number 3/,
  reversed_offsets: /: tensor "a": data_offsets \[8, 4\] are reversed \(begin > end\)/,
  offsets_past_end: /: tensor "b": data_offsets \[8, 12\] run past the end of the 8-byte data buffer/,
  truncated_data: /: tensor "b": data_offsets \[8, 12\] run past the end of the 8-byte data buffer \(truncated file\?\)/,
  overlapping: /: tensors "a" \(data_offsets \[0, 8\]\) and "b" \(data_offsets \[4, 12\]\) overlap/,
  hole: /: bytes \[4, 8\) of the data buffer belong to no tensor \(the format forbids holes; next is "b"/,
  trailing_bytes: /: the data buffer ends with 4 bytes that belong to no tensor \(bytes \[12, 16\): trailing garbage/,
  wrong_byte_count: /: tensor "a": F32 shape \[3\] needs 12 bytes \(3 elements x 4\), but data_offsets \[0, 8\] hold 8/,
  i64_wrong_byte_count: /: tensor "n": I64 shape \[\] needs 8 bytes \(1 elements x 8\), but data_offsets \[0, 4\] hold 4/,
  header_null: /: the header must be a JSON object mapping tensor names to entries, got null/,
  header_string: /: the header must be a JSON object mapping tensor names to entries, got the string "x"/,
  dtype_not_string: /: tensor "a": dtype must be a string such as "F32", got number 4/,
  shape_not_list: /: tensor "a": shape must be a list of non-negative integers, got 2/,
  three_offsets: /: tensor "a": data_offsets must be \[begin, end\], two non-negative integers, got \[0,8,8\]/,
  negative_offset: /: tensor "a": data_offsets must be \[begin, end\], two non-negative integers, got \[-8,0\]/,
  absurd_shape: /: tensor "a": shape \[4294967296, 4294967296\] is absurdly large/,
  metadata_array: /: "__metadata__" must be an object of strings, got an array/,
  empty_inside_other: /: tensors "a" \(data_offsets \[0, 8\]\) and "b" \(data_offsets \[4, 4\]\) overlap/,
  data_without_tensors: /: the data buffer ends with 8 bytes that belong to no tensor \(bytes \[0, 8\)/,
};

const malformedDir = fixturePath("safetensors/malformed");
const fixtureNames = readdirSync(malformedDir).filter((f) => f.endsWith(".safetensors")).map((f) => f.replace(/\.safetensors$/, "")).sort();

test("every malformed fixture has an expected error, and every expectation a fixture", () => {
  assert.deepEqual(fixtureNames, Object.keys(EXPECTED).sort());
});

for (const name of fixtureNames) {
  test(`malformed/${name}: load names the file and says what is wrong`, () => {
    const file = `${malformedDir}/${name}.safetensors`;
    assertThrowsFlint(() => flint.load(file), new RegExp(`^load: ${escapeRegExp(JSON.stringify(file))}${EXPECTED[name].source}`));
    assertThrowsFlint(() => flint.io.deserializeSafetensors(readFileSync(file)), new RegExp(`^deserializeSafetensors${EXPECTED[name].source}`));
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

test("unusual files the reference library loads (fixtures/safetensors/accepted) load in flint too", () => {
  const expected = loadJsonFixture<Record<string, Record<string, { shape: number[]; values: number[] }>>>("safetensors/accepted/expected.json");
  assert.ok(Object.keys(expected).length >= 6);
  for (const [name, tensors] of Object.entries(expected)) {
    const loaded = flint.load(fixturePath(`safetensors/accepted/${name}.safetensors`));
    const actual = Object.fromEntries(Object.entries(loaded).map(([key, t]) => [key, { shape: [...t.shape], values: Array.from(t.data() as Float32Array) }]));
    assert.deepEqual(actual, tensors, name);
  }
});

test("no truncation or corruption of a valid file crashes: each is a FlintError or a clean load", () => {
  const valid = readFileSync(fixturePath("safetensors/pytorch_state.safetensors"));
  for (let length = 0; length < valid.length; length++) {
    assert.throws(() => flint.io.deserializeSafetensors(valid.subarray(0, length)), flint.FlintError, `truncated to ${length} bytes`);
  }
  // Flip bytes at seeded random positions (mostly in the header, where parsing is most delicate).
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const headerEnd = 8 + new DataView(valid.buffer, valid.byteOffset).getUint32(0, true);
  for (let trial = 0; trial < 400; trial++) {
    const corrupted = new Uint8Array(valid);
    const position = trial % 4 === 0 ? Math.floor(random() * valid.length) : Math.floor(random() * headerEnd);
    corrupted[position] = Math.floor(random() * 256);
    try {
      flint.io.deserializeSafetensors(corrupted);
    } catch (error) {
      assert.ok(error instanceof flint.FlintError, `byte ${position} = ${corrupted[position]}: ${String(error)}`);
    }
  }
});
