// Result scopes (WasmRuntime.openResultScope, Backend.openResultScope): during a backward pass
// the wasm backend leaves results where its kernels wrote them and later calls read them there.
// Kept results must survive the calls that follow inside the scope, respect the budget, never
// be overlapped by resident blocks, and die with the scope; and every gradient that leaves a
// backward pass (.grad of leaves and of retained tensors, autograd.grad's results) must be a
// copy that later calls cannot overwrite, even when the pass fails half way.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backend } from "../../src/backend/registry.js";
import { WasmRuntime, wasmRuntime } from "../../src/backend/wasm/runtime.js";
import * as flint from "../../src/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";

const noSharedMemory = !new WasmRuntime({ threads: 2 }).shared;

/** One backend call's worth of arena use: `length` floats written with `value`, kept when a scope is open. */
function callWithResult(rt: WasmRuntime, length: number, value: number): Float32Array | null {
  rt.reset();
  rt.alloc(4096); // staging and scratch below the result
  const ptr = rt.alloc(length * 4);
  rt.f32(ptr, length).fill(value);
  rt.alloc(4096); // scratch above it
  return rt.keepResult(ptr, length);
}

test("outside a scope nothing is kept", { skip: noSharedMemory }, () => {
  const rt = new WasmRuntime({ threads: 2 });
  assert.equal(callWithResult(rt, 100, 1), null);
  assert.equal(rt.scopedResultPointer(new Float32Array(4)), -1);
});

test("kept results survive the scope's later calls, are read in place, and die with it", { skip: noSharedMemory }, () => {
  const rt = new WasmRuntime({ threads: 2 });
  rt.openResultScope(64 << 20);
  const first = callWithResult(rt, 1000, 1)!;
  const second = callWithResult(rt, 5000, 2)!;
  // A call that writes all over its arena (and grows the memory) after both.
  rt.reset();
  const big = rt.alloc(32 << 20);
  rt.f32(big, (32 << 20) / 4).fill(-9);
  assert.ok(first.every((v) => v === 1) && second.every((v) => v === 2), "kept results keep their values");
  assert.equal(rt.scopedResultPointer(first), first.byteOffset);
  assert.equal(rt.scopedResultPointer(second), second.byteOffset);
  assert.ok(second.byteOffset >= first.byteOffset + first.byteLength, "kept results are disjoint");
  assert.ok(big >= second.byteOffset + second.byteLength, "the next call's arena starts above them");
  rt.closeResultScope();
  assert.equal(rt.scopedResultPointer(first), -1, "after the scope nothing is read in place");
  rt.reset();
  assert.ok(rt.alloc(64) <= first.byteOffset, "the arena is reused from its base again");
});

test("a call may keep its results in any order: one allocated under a result kept first is kept too", { skip: noSharedMemory }, () => {
  const rt = new WasmRuntime({ threads: 2 });
  rt.openResultScope(64 << 20);
  rt.reset();
  const early = rt.alloc(1000 * 4);
  rt.f32(early, 1000).fill(1);
  rt.alloc(4096); // scratch between them
  const late = rt.alloc(500 * 4);
  rt.f32(late, 500).fill(2);
  const keptLate = rt.keepResult(late, 500)!;
  const keptEarly = rt.keepResult(early, 1000);
  assert.notEqual(keptEarly, null, "the block under the first kept result is kept, not copied out");
  rt.reset();
  rt.f32(rt.alloc(8 << 20), 2 << 20).fill(-9);
  assert.ok(keptEarly!.every((v) => v === 1) && keptLate.every((v) => v === 2), "both survive the next call");
  assert.equal(rt.scopedResultPointer(keptEarly!), early);
  rt.closeResultScope();
});

test("a scope keeps results only within its budget, and nested opens close with the outermost", { skip: noSharedMemory }, () => {
  const rt = new WasmRuntime({ threads: 2 });
  rt.openResultScope(1 << 20);
  assert.notEqual(callWithResult(rt, 100_000, 1), null, "400 KB fit in 1 MB");
  assert.equal(callWithResult(rt, 200_000, 2), null, "800 KB more do not");
  const small = callWithResult(rt, 1000, 3)!;
  rt.openResultScope(1 << 20);
  rt.closeResultScope();
  assert.equal(rt.scopedResultPointer(small), small.byteOffset, "the inner close leaves the scope open");
  rt.closeResultScope();
  assert.equal(rt.scopedResultPointer(small), -1);
});

test("no new resident block is carved out under kept results; free blocks and the arena's bottom serve again after", { skip: noSharedMemory }, () => {
  const rt = new WasmRuntime({ threads: 2 });
  const budget = 64 << 20;
  const reusable = rt.allocateScoped(1000, budget)!;
  const above = rt.allocateScoped(10, budget)!; // keeps the freed 1000-float block off the top
  rt.releaseScoped(reusable);
  rt.openResultScope(budget);
  const kept = callWithResult(rt, 1000, 5)!;
  assert.equal(rt.allocateScoped(3000, budget), null, "a new block would overlap the kept results");
  assert.equal(rt.allocateResident(3000), null);
  const again = rt.allocateScoped(1000, budget)!;
  assert.equal(again.byteOffset, reusable.byteOffset, "a freed block of the size is still handed out");
  assert.ok(kept.every((v) => v === 5));
  rt.closeResultScope();
  assert.notEqual(rt.allocateScoped(3000, budget), null);
  rt.releaseScoped(above);
});

test("private memory opens no scope", () => {
  const rt = new WasmRuntime({ threads: 1 });
  rt.openResultScope(64 << 20);
  assert.equal(callWithResult(rt, 100, 1), null);
  rt.closeResultScope();
});

/** Runs `body` on the wasm backend. */
function onWasm(body: () => void): void {
  const before = flint.getBackend();
  flint.setBackend("wasm");
  try {
    body();
  } finally {
    flint.setBackend(before);
  }
}

/** Large enough for the wasm kernels at every step; weights scaled so that tanh does not saturate. */
function problem(): { x: Tensor; w1: Tensor; w2: Tensor } {
  flint.manualSeed(11);
  const x = flint.randn([64, 96]).requiresGrad_();
  const w1 = flint.randn([96, 128]).mul(0.1).requiresGrad_();
  const w2 = flint.randn([128, 80]).mul(0.1).requiresGrad_();
  return { x, w1, w2 };
}

/** Backend calls that write all over the arena, in and out of result scopes. */
function churn(): void {
  flint.manualSeed(5);
  const a = flint.randn([300, 300]).requiresGrad_();
  a.matmul(a).tanh().sum().backward();
  a.matmul(a.t()).relu().sum();
}

function isKept(values: unknown): boolean {
  return values instanceof Float32Array && wasmRuntime().scopedResultPointer(values) >= 0;
}

test("a backward pass keeps its intermediate gradients in wasm memory and hands out copies", { skip: noSharedMemory }, () => {
  onWasm(() => {
    const { x, w1, w2 } = problem();
    const hidden = x.matmul(w1).tanh().retainGrad();
    const loss = hidden.matmul(w2).square().sum();
    const be = backend();
    const matmul = be.matmul;
    let keptInPass = 0;
    be.matmul = (...args) => {
      const out = matmul.apply(be, args);
      if (isKept(out)) keptInPass++;
      return out;
    };
    try {
      loss.backward();
      assert.ok(keptInPass >= 3, `the pass's GEMM results stay in wasm memory (${keptInPass} kept)`);
      assert.equal(isKept(flint.randn([64, 96]).matmul(w1).storage), false, "the scope closes with the pass");
    } finally {
      be.matmul = matmul;
    }
    const grads = [x.grad!, w1.grad!, w2.grad!, hidden.grad!];
    for (const g of grads) assert.equal(isKept(g.storage), false, "what leaves the pass is a copy");
    const before = grads.map((g) => Array.from(g.data() as Float32Array));
    churn();
    grads.forEach((g, i) => assert.deepEqual(Array.from(g.data() as Float32Array), before[i], `gradient ${i} is unchanged by later calls`));
    // And they are the gradients: the same pass on the JS backend.
    const reference = problem();
    flint.setBackend("js");
    const refHidden = reference.x.matmul(reference.w1).tanh().retainGrad();
    refHidden.matmul(reference.w2).square().sum().backward();
    flint.setBackend("wasm");
    const expected = [reference.x.grad!, reference.w1.grad!, reference.w2.grad!, refHidden.grad!];
    grads.forEach((g, i) => assert.ok(g.allclose(expected[i], { rtol: 1e-3, atol: 1e-4 }), `gradient ${i} matches the JS backend`));
  });
});

test("autograd.grad's results and accumulated .grads leave the scope as copies", { skip: noSharedMemory }, () => {
  onWasm(() => {
    const { x, w1, w2 } = problem();
    const hidden = x.matmul(w1).tanh();
    const [dHidden, dW1] = flint.autograd.grad(hidden.matmul(w2).sum(), [hidden, w1]);
    for (const g of [dHidden!, dW1!]) assert.equal(isKept(g.storage), false);
    // A second backward adds into existing .grads.
    x.matmul(w1).sum().backward();
    x.matmul(w1).sum().backward();
    assert.equal(isKept(w1.grad!.storage), false);
    const snapshots = [dHidden!, dW1!, w1.grad!].map((g) => Array.from(g.data() as Float32Array));
    churn();
    [dHidden!, dW1!, w1.grad!].forEach((g, i) => assert.deepEqual(Array.from(g.data() as Float32Array), snapshots[i]));
  });
});

test("a backward pass that fails half way closes its scope and copies out the gradients it retained", { skip: noSharedMemory }, () => {
  onWasm(() => {
    const { x, w1, w2 } = problem();
    const hidden = x.matmul(w1).retainGrad();
    const loss = hidden.matmul(w2).sum();
    // A first pass sets hidden.grad; in the second, the retained gradient is a sum made in wasm memory.
    loss.backward(undefined, { retainGraph: true });
    const be = backend();
    const matmul = be.matmul;
    let calls = 0;
    be.matmul = (...args) => {
      if (++calls === 3) throw new Error("injected failure");
      return matmul.apply(be, args);
    };
    try {
      assert.throws(() => loss.backward(), /injected failure/);
    } finally {
      be.matmul = matmul;
    }
    assert.ok(hidden.grad !== null, "the gradient retained before the failure is there");
    const detached = hidden.detach().requiresGrad_();
    const [expected] = flint.autograd.grad(detached.matmul(w2).sum(), [detached]);
    assert.ok(hidden.grad.allclose(expected!.mul(2), { rtol: 1e-5, atol: 1e-5 }), "it is the sum of both passes' gradients");
    assert.equal(isKept(hidden.grad.storage), false);
    const snapshot = Array.from(hidden.grad.data() as Float32Array);
    churn();
    assert.deepEqual(Array.from(hidden.grad.data() as Float32Array), snapshot);
    assert.equal(isKept(flint.randn([64, 96]).matmul(w1).storage), false, "no scope is left open");
  });
});

test("a weight shared by many steps sums its gradients in the scope: the JS backend's sum, copied out", { skip: noSharedMemory }, () => {
  const run = (name: string): Float32Array[] => {
    flint.setBackend(name);
    flint.manualSeed(21);
    const w = flint.randn([256, 256]).mul(0.05).requiresGrad_();
    let h = flint.randn([32, 256]);
    for (let t = 0; t < 6; t++) h = h.matmul(w).tanh();
    h.square().sum().backward();
    if (name === "wasm") assert.equal(isKept(w.grad!.storage), false);
    return [w.grad!.data() as Float32Array];
  };
  const before = flint.getBackend();
  try {
    const [wasm] = run("wasm");
    const [js] = run("js");
    // FMA and summation order differ between the backends: compare against the gradient's scale.
    const scale = js.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let worst = 0;
    for (let i = 0; i < js.length; i++) worst = Math.max(worst, Math.abs(wasm[i] - js[i]));
    assert.ok(scale > 0 && worst < 1e-4 * scale, `worst difference ${worst} at scale ${scale}`);
  } finally {
    flint.setBackend(before);
  }
});

test("two leaves handed the same gradient by add get copies of their own", { skip: noSharedMemory }, () => {
  onWasm(() => {
    flint.manualSeed(3);
    const a = flint.randn([300, 300]).requiresGrad_();
    const b = flint.randn([300, 300]).requiresGrad_();
    const w = flint.randn([300, 300]);
    a.add(b).mul(w).sum().backward();
    assert.ok(a.grad !== null && b.grad !== null);
    assert.notEqual(a.grad.storage, b.grad.storage, "no shared storage");
    for (const g of [a.grad, b.grad]) assert.equal(isKept(g.storage), false);
    const expected = Array.from(w.data() as Float32Array);
    flint.noGrad(() => a.grad!.mul_(0));
    assert.deepEqual(Array.from(b.grad.data() as Float32Array), expected, "b's gradient is w, untouched by an edit of a's");
  });
});
