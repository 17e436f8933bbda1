// Resident arrays (WasmRuntime.allocateResident): long-lived float32 arrays in wasm memory that
// kernels read and update in place. They must be zeroed, never overlap each other or the
// per-call arena, stay valid when the memory grows, stay within their budget, be staged without
// a copy, and be freed for reuse once collected.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Layout } from "../../src/core/layout.js";
import { stage, stageArray } from "../../src/backend/wasm/operands.js";
import { WasmRuntime } from "../../src/backend/wasm/runtime.js";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

function sharedRuntime(): WasmRuntime | null {
  const rt = new WasmRuntime({ threads: 2 });
  return rt.shared ? rt : null;
}
const noSharedMemory = sharedRuntime() === null;

test("resident arrays are zeroed, disjoint, and survive arena use and memory growth", { skip: noSharedMemory }, () => {
  const rt = sharedRuntime()!;
  const lengths = [1, 15, 16, 1000, 65537];
  const arrays = lengths.map((n) => rt.allocateResident(n)!);
  arrays.forEach((a, i) => {
    assert.equal(a.length, lengths[i]);
    assert.ok(a.every((x) => x === 0), `array ${i} is zeroed`);
    assert.ok(rt.residentPointer(a) > 0 && rt.residentPointer(a) % 64 === 0, `array ${i} lives in wasm memory, 64-byte aligned`);
    a.fill(i + 1);
  });
  // An arena call that grows the memory by far and writes all over its arena.
  const before = rt.memory.buffer.byteLength;
  rt.reset();
  const bytes = 64 << 20;
  const ptr = rt.alloc(bytes);
  rt.f32(ptr, bytes / 4).fill(-7);
  assert.ok(rt.memory.buffer.byteLength > before, "the memory grew");
  arrays.forEach((a, i) => {
    assert.equal(a.length, lengths[i], `array ${i} keeps its length after the memory grew`);
    assert.ok(a.every((x) => x === i + 1), `array ${i} keeps its values`);
  });
  // Made after the growth: still disjoint from the others and from the next call's arena.
  // It takes the space the arena just filled with -7s, so zeroing it matters.
  const late = rt.allocateResident(100)!;
  assert.ok(late.every((x) => x === 0), "an array on used memory is zeroed");
  late.fill(42);
  rt.reset();
  rt.f32(rt.alloc(4096), 1024).fill(-1);
  assert.ok(late.every((x) => x === 42));
  arrays.forEach((a, i) => assert.ok(a.every((x) => x === i + 1), `array ${i} untouched by the later arena`));
});

test("residentPointer is -1 for arrays outside wasm memory, and private memory gives no resident arrays", () => {
  const rt = new WasmRuntime({ threads: 1 });
  assert.equal(rt.allocateResident(10), null, "a private memory would detach resident views when it grows");
  assert.equal(rt.residentPointer(new Float32Array(8)), -1);
});

test("a collected resident array's block is reused", { skip: noSharedMemory }, async () => {
  const rt = sharedRuntime()!;
  const keep = rt.allocateResident(256)!;
  const dropped = rt.residentPointer(rt.allocateResident(1000)!.fill(9));
  const above = rt.allocateResident(512)!;
  // Finalizers run between tasks, after a collection.
  let reused = -1;
  for (let attempt = 0; attempt < 20 && reused !== dropped; attempt++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const probe = rt.allocateResident(1000)!;
    reused = rt.residentPointer(probe);
    assert.ok(probe.every((x) => x === 0), "a reused block is zeroed");
    probe.fill(3);
    assert.ok(keep.every((x) => x === 0) && above.every((x) => x === 0), "reuse never touches live arrays");
  }
  assert.equal(reused, dropped, "the dropped array's block was handed out again");
});

test("scoped arrays: in wasm memory with slack, within a budget, freed by releaseScoped for reuse", { skip: noSharedMemory }, () => {
  const rt = sharedRuntime()!;
  const resident = rt.allocateResident(64)!.fill(5);
  const budget = 1 << 20;
  const first = rt.allocateScoped(1000, budget)!;
  const second = rt.allocateScoped(2000, budget)!;
  const [p1, p2] = [rt.residentPointer(first), rt.residentPointer(second)];
  assert.ok(p1 > 0 && p2 > 0 && p1 % 64 === 0, "scoped arrays live in wasm memory, 64-byte aligned");
  assert.ok(p2 >= p1 + 1004 * 4, "each has 4 floats of slack before the next block");
  // Each block: the floats and 4 of slack, in whole 64-byte lines.
  const blockBytes = (length: number): number => Math.ceil(((length + 4) * 4) / 64) * 64;
  assert.equal(rt.scopedBytes, blockBytes(1000) + blockBytes(2000));
  assert.equal(rt.allocateScoped(budget / 4, budget), null, "a request past the budget gets none");
  first.fill(1);
  second.fill(2);
  rt.reset();
  rt.f32(rt.alloc(1 << 16), 1 << 14).fill(-1);
  assert.ok(first.every((x) => x === 1) && second.every((x) => x === 2), "the arena never overlaps scoped arrays");
  rt.releaseScoped(first);
  rt.releaseScoped(first); // a second release is a no-op
  rt.releaseScoped(resident); // as is releasing any other array
  rt.releaseScoped(new Float32Array(10));
  assert.ok(resident.every((x) => x === 5), "a resident array is never freed by releaseScoped");
  assert.equal(rt.scopedBytes, blockBytes(2000));
  assert.equal(rt.residentPointer(rt.allocateScoped(1000, budget)!), p1, "a released block of the same size is reused");
  rt.releaseScoped(second);
  // The top block went back to the arena: a new block of another size starts where it did.
  assert.equal(rt.residentPointer(rt.allocateScoped(3000, budget)!), p2);
});

test("a scoped array dropped without releaseScoped is freed once collected", { skip: noSharedMemory }, async () => {
  const rt = sharedRuntime()!;
  const budget = 1 << 20;
  rt.allocateScoped(1000, budget);
  assert.ok(rt.scopedBytes >= 1004 * 4);
  for (let attempt = 0; attempt < 20 && rt.scopedBytes > 0; attempt++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(rt.scopedBytes, 0);
});

test("resident arrays stay within their budget, and a collected one gives its bytes back", { skip: noSharedMemory }, async () => {
  const rt = new WasmRuntime({ threads: 2, residentBudgetBytes: 64 * 1024 });
  const kept = rt.allocateResident(8 * 1024)!; // 32 KiB
  assert.equal(rt.residentArrayBytes, 32 * 1024);
  assert.equal(rt.allocateResident(8 * 1024 + 1), null, "one float past the budget gets none");
  assert.ok(rt.allocateResident(8 * 1024) !== null, "exactly the budget is allowed");
  assert.equal(rt.residentArrayBytes, 64 * 1024);
  assert.equal(rt.allocateResident(1), null, "a full budget gives no more");
  // The second array was dropped at once: once collected, its bytes count no more.
  for (let attempt = 0; attempt < 20 && rt.residentArrayBytes > 32 * 1024; attempt++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(rt.residentArrayBytes, 32 * 1024);
  assert.ok(rt.allocateResident(1000) !== null);
  assert.ok(kept.every((x) => x === 0));
});

test("stage and stageArray read resident arrays, and views of them, where they are", { skip: noSharedMemory }, () => {
  const rt = sharedRuntime()!;
  const resident = rt.allocateResident(64)!;
  resident.forEach((_, i) => (resident[i] = i));
  const base = rt.residentPointer(resident);
  rt.reset();
  // A transposed view at an offset: the kernel walks its strides from the resident block itself.
  const view = new Layout([4, 3], [1, 4], 5);
  const staged = stage(rt, resident, view);
  assert.equal(staged.ptr, base + 5 * 4);
  assert.deepEqual(staged.strides, [1, 4]);
  const window = resident.subarray(8, 24);
  assert.equal(stage(rt, window, Layout.contiguous([16])).ptr, base + 8 * 4, "a subarray of a resident array");
  assert.equal(stageArray(rt, window), base + 8 * 4);
  // With slack asked for, or from JavaScript memory, the values are copied into the arena.
  const withSlack = stageArray(rt, resident, 8);
  assert.notEqual(withSlack, base);
  assert.deepEqual(Array.from(rt.f32(withSlack, 64)), Array.from(resident));
  const plain = Float32Array.from({ length: 12 }, (_, i) => -i);
  const copied = stage(rt, plain, Layout.contiguous([3, 4]));
  assert.equal(rt.residentPointer(plain), -1);
  assert.deepEqual(Array.from(rt.f32(copied.ptr, 12)), Array.from(plain));
});
