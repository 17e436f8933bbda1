/**
 * The loop every kernel thread runs, in Node (worker_threads) and browsers (Web Workers) alike.
 * It is shipped to the thread as source text (`String(workerLoop)`), so it must stay
 * self-contained: no imports, no closures, plain JavaScript.
 *
 * Control block (Int32Array at `ctrlBase` in the shared memory; indices as in runtime.ts):
 * 2 kernel id, 3 args pointer, 4 share count (job << 11 | count), 5 job number, 6 next share
 * (job << 11 | index), 7 shares done, 8 error flag; per worker w: 16+w ready flag, 144+w go (the
 * job it is called for), 208+w set while it sleeps.
 *
 * A job is cut into more shares than threads; every thread, the caller included, claims shares
 * with a compare-and-swap until none is left, so a descheduled worker delays a job by at most
 * the one share it holds. Both words a claim reads carry the job number: a worker delayed
 * between reading its job's exhausted next share and the share count could otherwise read the
 * count of the job posted meanwhile, and its compare-and-swap, landing before that job's next
 * share is published, would claim a share of the new job that another thread runs too.
 */
export function workerLoop(module: WebAssembly.Module, memory: WebAssembly.Memory, ctrlBase: number, worker: number, kernelNames: string[]): void {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as Record<string, (args: number, share: number, shares: number) => void>;
  const kernels = kernelNames.map((name) => exports[name]);
  const ctrl = new Int32Array(memory.buffer, ctrlBase, 512);
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
    const tag = seen & 0xfffff;
    for (;;) {
      const next = Atomics.load(ctrl, 6);
      if (next >>> 11 !== tag) break;
      const count = Atomics.load(ctrl, 4);
      if (count >>> 11 !== tag) break;
      const share = next & 0x7ff;
      const shares = count & 0x7ff;
      if (share >= shares) break;
      if (Atomics.compareExchange(ctrl, 6, next, next + 1) !== next) continue;
      try {
        kernels[Atomics.load(ctrl, 2)](Atomics.load(ctrl, 3), share, shares);
      } catch {
        Atomics.store(ctrl, 8, 1);
      }
      if (Atomics.add(ctrl, 7, 1) + 1 === shares) Atomics.notify(ctrl, 7);
    }
  }
}
