/**
 * The loop every kernel thread runs, in Node (worker_threads) and browsers (Web Workers) alike.
 * It is shipped to the thread as source text (`String(workerLoop)`), so it must stay
 * self-contained: no imports, no closures, plain JavaScript.
 *
 * Control block (Int32Array at `ctrlBase` in the shared memory), indices in CTRL of control.ts:
 * 0 done counter, 1 error flag, 2 kernel id, 3 args pointer, 4 thread count,
 * 16+w ready flag of worker w, 80+w its thread index for the current job, 144+w its go counter,
 * 208+w set while it sleeps in Atomics.wait (so the caller notifies only sleepers, a syscall saved).
 */
export function workerLoop(module: WebAssembly.Module, memory: WebAssembly.Memory, ctrlBase: number, worker: number, kernelNames: string[]): void {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as Record<string, (args: number, tid: number, nthreads: number) => void>;
  const kernels = kernelNames.map((name) => exports[name]);
  const ctrl = new Int32Array(memory.buffer, ctrlBase, 320);
  const go = 144 + worker;
  let seen = Atomics.load(ctrl, go);
  Atomics.store(ctrl, 16 + worker, 1);
  for (;;) {
    // A short spin catches back-to-back jobs without the cost of a futex wake-up.
    for (let spin = 0; spin < 20000 && Atomics.load(ctrl, go) === seen; spin++);
    if (Atomics.load(ctrl, go) === seen) {
      Atomics.store(ctrl, 208 + worker, 1);
      Atomics.wait(ctrl, go, seen);
      Atomics.store(ctrl, 208 + worker, 0);
    }
    seen = Atomics.load(ctrl, go);
    try {
      kernels[Atomics.load(ctrl, 2)](Atomics.load(ctrl, 3), Atomics.load(ctrl, 80 + worker), Atomics.load(ctrl, 4));
    } catch {
      Atomics.store(ctrl, 1, 1);
    }
    Atomics.add(ctrl, 0, 1);
    Atomics.notify(ctrl, 0);
  }
}
