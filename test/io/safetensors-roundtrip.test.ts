// flint writes safetensors that the reference library reads (the generator checks the committed
// flint_written.safetensors with safetensors.torch.load_file), laid out byte for byte like
// safetensors.torch.save, and reads its own files back exactly.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { fixturePath } from "../helpers.js";
import { FLINT_FIXTURE, FLINT_METADATA, flintFixtureRecord } from "./flint-fixture-record.js";
import { assertThrowsFlint } from "./io-helpers.js";

/** Values as comparable plain numbers; float32 as bit patterns so that -0 and NaN count. */
function valuesOf(t: flint.Tensor): number[] {
  const data = t.data();
  if (data instanceof Float32Array) return Array.from(new Uint32Array(new Float32Array(data).buffer));
  return Array.from(data);
}

function assertSameTensors(actual: Record<string, flint.Tensor>, expected: Record<string, flint.Tensor>): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name];
    assert.equal(got.dtype, want.dtype, `${name}: dtype`);
    assert.deepEqual([...got.shape], [...want.shape], `${name}: shape`);
    assert.deepEqual(valuesOf(got), valuesOf(want), `${name}: values`);
  }
}

test("flint's serializer reproduces the committed flint_written.safetensors that the reference library verified", () => {
  // If this fails after an intended format change: regenerate with write-flint-fixture.js and
  // re-run test/fixtures/gen_safetensors.py, which checks the new file with safetensors.torch.
  const committed = readFileSync(fixturePath(FLINT_FIXTURE));
  const bytes = flint.io.serializeSafetensors(flintFixtureRecord(), FLINT_METADATA);
  assert.deepEqual(Buffer.from(bytes), committed);
  const { tensors, metadata } = flint.io.loadWithMetadata(fixturePath(FLINT_FIXTURE));
  assertSameTensors(tensors, flintFixtureRecord());
  assert.deepEqual(metadata, FLINT_METADATA);
});

test("re-serializing a file written by safetensors.torch.save_file gives the same bytes", () => {
  const original = readFileSync(fixturePath("safetensors/flint_dtypes.safetensors"));
  const { tensors, metadata } = flint.io.deserializeSafetensorsWithMetadata(original);
  assert.deepEqual(metadata, { format: "pt" });
  assert.deepEqual(Buffer.from(flint.io.serializeSafetensors(tensors, metadata)), original);
});

test("round trip in memory: every dtype, 0-d, empty and strided views, bit for bit", () => {
  flint.manualSeed(3);
  const base = flint.randn([3, 4]);
  const record: Record<string, flint.Tensor> = {
    "layer.weight": base,
    transposed: base.t(),
    narrowed: base.narrow(1, 1, 2),
    flipped: base.flip([0]),
    expanded: flint.tensor([1, 2, 3]).expand([2, 3]),
    ints: flint.tensor([[-2147483648, 2147483647], [0, -7]], { dtype: "int32" }),
    bools: flint.tensor([true, false, false, true]),
    scalar_int: flint.tensor(5, { dtype: "int32" }),
    scalar: flint.tensor(-0.0),
    empty: flint.zeros([2, 0, 3]),
    empty_bool: flint.zeros([0], { dtype: "bool" }),
    specials: flint.tensor([NaN, Infinity, -Infinity, 1e-45, 3.4028234663852886e38]),
    trained: flint.randn([2], { requiresGrad: true }),
  };
  const bytes = flint.io.serializeSafetensors(record);
  assertSameTensors(flint.io.deserializeSafetensors(bytes), record);
  assert.deepEqual(flint.io.deserializeSafetensorsWithMetadata(bytes).metadata, {});
});

test("the header is padded with spaces so the data starts 8-byte aligned, and tensors keep their itemsize alignment", () => {
  for (const names of [["a"], ["ab"], ["abc", "d"], ["a_much_longer_tensor_name"]]) {
    const record = Object.fromEntries(names.map((n, i) => [n, flint.ones([i + 1])]));
    record.flag = flint.tensor([true]);
    record.count = flint.tensor([1, 2, 3], { dtype: "int32" });
    const bytes = flint.io.serializeSafetensors(record);
    const headerLength = new DataView(bytes.buffer).getUint32(0, true);
    assert.equal((8 + headerLength) % 8, 0, names.join());
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    assert.match(header, /^\{.*\} *$/);
    const entries = JSON.parse(header) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    for (const { dtype, data_offsets: [begin] } of Object.values(entries)) assert.equal(begin % (dtype === "BOOL" ? 1 : 4), 0);
  }
});

test("tensor names that JS objects treat specially survive: integer-like keys, __proto__, unicode", () => {
  const record: Record<string, flint.Tensor> = {};
  for (const [name, value] of [["10", 1], ["2", 2], ["__proto__", 3], ["emb.ü😀", 4], ["", 5]] as const) {
    Object.defineProperty(record, name, { value: flint.tensor([value]), enumerable: true });
  }
  const loaded = flint.io.deserializeSafetensors(flint.io.serializeSafetensors(record));
  assert.deepEqual(Object.keys(loaded).sort(), ["", "10", "2", "__proto__", "emb.ü😀"]);
  assert.equal(Object.getPrototypeOf(loaded), Object.prototype);
  assert.equal((Object.getOwnPropertyDescriptor(loaded, "__proto__")?.value as flint.Tensor).item(), 3);
  assert.equal(loaded["emb.ü😀"].item(), 4);
});

test("metadata round trips, including quotes, newlines and non-ASCII", () => {
  const metadata = { format: "pt", note: 'say "hi"\n\\ ü 😀', empty: "" };
  const bytes = flint.io.serializeSafetensors({ x: flint.ones([1]) }, metadata);
  assert.deepEqual(flint.io.deserializeSafetensorsWithMetadata(bytes).metadata, metadata);
});

test("loaded tensors own their memory: changing the input bytes afterwards changes nothing", () => {
  const bytes = flint.io.serializeSafetensors({ w: flint.tensor([1, 2]), n: flint.tensor([3], { dtype: "int32" }) });
  const loaded = flint.io.deserializeSafetensors(bytes);
  bytes.fill(0xff, 8 + new DataView(bytes.buffer).getUint32(0, true));
  assert.deepEqual(Array.from(loaded.w.data()), [1, 2]);
  assert.deepEqual(Array.from(loaded.n.data()), [3]);
});

test("serializeSafetensors rejects what is not a Record<string, Tensor> or string metadata", () => {
  const x = flint.ones([2]);
  const cases: [() => unknown, RegExp][] = [
    [() => flint.io.serializeSafetensors(null as never), /^serializeSafetensors: expected a Record<string, Tensor> such as model\.stateDict\(\), got null$/],
    [() => flint.io.serializeSafetensors([x] as never), /expected a Record<string, Tensor> .*, got an array$/],
    [() => flint.io.serializeSafetensors(x as never), /expected a Record<string, Tensor> .*, got a Tensor of shape \[2\]$/],
    [() => flint.io.serializeSafetensors({ stateDict: () => ({}) } as never), /got a Module; pass model\.stateDict\(\)$/],
    [() => flint.io.serializeSafetensors({ w: [1, 2] } as never), /^serializeSafetensors: entry "w" is not a Tensor \(got an array\)$/],
    [() => flint.io.serializeSafetensors({ w: 3 } as never), /entry "w" is not a Tensor \(got number 3\)$/],
    [() => flint.io.serializeSafetensors({ __metadata__: x }), /the tensor name "__metadata__" is reserved/],
    [() => flint.io.serializeSafetensors({ x }, { epoch: 3 } as never), /metadata must map strings to strings; key "epoch" has number 3$/],
    [() => flint.io.serializeSafetensors({ x }, "pt" as never), /metadata must be a Record<string, string>, got the string "pt"$/],
  ];
  for (const [fn, message] of cases) assertThrowsFlint(fn, message);
});

test("deserializeSafetensors rejects input that is not bytes", () => {
  assertThrowsFlint(() => flint.io.deserializeSafetensors("abc" as never), /^deserializeSafetensors: expected a Uint8Array or ArrayBuffer, got the string "abc"$/);
  assertThrowsFlint(() => flint.io.deserializeSafetensors([1, 2, 3] as never), /expected a Uint8Array or ArrayBuffer, got an array$/);
  const bytes = flint.io.serializeSafetensors({ a: flint.tensor([1.5, -2]) });
  const asDataView = new DataView(bytes.buffer);
  assert.deepEqual(flint.io.deserializeSafetensors(asDataView).a.tolist(), [1.5, -2]);
});
