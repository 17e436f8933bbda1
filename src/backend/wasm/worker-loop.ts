/**
 * The loop every kernel thread runs, in Node (worker_threads) and browsers (Web Workers) alike.
 * It is shipped to the thread as source text (`String(workerLoop)`), so it must stay
 * self-contained: no imports, no closures, plain JavaScript.
 *
 * Control block (Int32Array at `ctrlBase` in the shared memory; indices as in runtime.ts):
 * 2 kernel id, 3 args pointer, 4 thread count, 5 job number; per worker w: 16+w ready flag,
 * 80+w thread index of its share, 144+w go (the job number it is called for), 208+w set while
 * it sleeps, 272+w claim (the last job whose share someone took), 336+w done (the last job
 * whose share it finished), 400+w error flag.
 *
 * A share is claimed with a compare-and-swap, by the worker or, if the worker is late (the
 * machine is busy), by the calling thread itself, so a descheduled worker never stalls a job.
 */
export function workerLoop(module: WebAssembly.Module, memory: WebAssembly.Memory, ctrlBase: number, worker: number, kernelNames: string[]): void {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as Record<string, (args: number, tid: number, nthreads: number) => void>;
  const kernels = kernelNames.map((name) => exports[name]);
  const ctrl = new Int32Array(memory.buffer, ctrlBase, 512);
  const go = 144 + worker;
  const claim = 272 + worker;
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
    const last = Atomics.load(ctrl, claim);
    if (last >= seen || Atomics.compareExchange(ctrl, claim, last, seen) !== last) continue;
    try {
      kernels[Atomics.load(ctrl, 2)](Atomics.load(ctrl, 3), Atomics.load(ctrl, 80 + worker), Atomics.load(ctrl, 4));
    } catch {
      Atomics.store(ctrl, 400 + worker, 1);
    }
    Atomics.store(ctrl, 336 + worker, seen);
    Atomics.notify(ctrl, 336 + worker);
  }
}
