import { fail } from "../../core/errors.js";
import { relaxedPrivate, relaxedShared, simdPrivate, simdShared } from "./kernels.generated.js";
import { workerLoop } from "./worker-loop.js";

/**
 * One WebAssembly instance of the kernels plus its linear memory, a bump arena in that memory
 * (reset by every backend call: operands are copied in, results copied out, nothing stays),
 * and a pool of threads that share the memory and run the same kernels on their share of a job.
 * Below the arena sit the resident arrays: long-lived state (an optimizer's moments) that the
 * kernels update in place instead of copying it in and out at every step, and scoped arrays that
 * a backward pass reads where its forward wrote them (freed when the backward is done with them).
 * While a result scope is open (a backward pass), results stay in the arena where their kernels
 * wrote them, and later calls read them there; the arena is reset only when the scope closes.
 */

/** Names of the threaded kernels, indexed by the id that travels in the control block. */
const KERNELS = ["matmul", "unfold", "fold", "convGradRows", "convForward", "convBackward", "winogradWeights", "winogradForward", "winogradBackward", "winogradWeightGrad", "sumPartials", "binary", "unary", "reduce", "maxPool", "maxPoolBackward", "avgPool", "avgPoolBackward", "adamUpdate", "sgdMomentumUpdate", "crossEntropyForward", "crossEntropyBackward", "attentionSoftmax", "attentionSoftmaxBackward", "stridedCopy", "recurrentForwardGates", "recurrentBackwardGates", "recurrentForwardFused", "recurrentBackwardFused", "layerNormForward", "layerNormBackward", "convDirectForward", "convWeightGradFromMaxPool", "additiveAttentionForward", "additiveAttentionBackward"] as const;
export type KernelName = (typeof KERNELS)[number];

const PAGE = 65536;
const CTRL_BASE = 1024; // the control block (see worker-loop.ts); address 0 stays unused
const ARENA_BASE = PAGE;
const MAX_WORKERS = 64;
/** A job's share count and index share a control word with its job number (worker-loop.ts): 11 bits. */
const MAX_SHARES = 0x7ff;
const C = { kernel: 2, args: 3, shares: 4, job: 5, next: 6, done: 7, error: 8, ready: 16, go: 144, sleeping: 208 } as const;
/** Shares per thread: finer shares let a busy machine's late worker cost less. */
const SHARES_PER_THREAD = 4;
/**
 * Checks of the done counter before the caller sleeps on it (~0.1 ms): waking from Atomics.wait
 * costs tens of microseconds, and a step of small kernels waits hundreds of times (measured: LeNet
 * step ~5% faster, char-LSTM step 2-13%, two threads).
 */
const DONE_SPINS = 50000;

type KernelFn = (args: number, tid: number, nthreads: number) => void;

interface NodeWorker {
  unref(): void;
}
interface WorkerThreads {
  Worker: new (code: string, options: { eval: boolean; workerData: unknown }) => NodeWorker;
}
interface NodeProcess {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (name: string) => unknown;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/**
 * By default at most this much long-lived state (parameters, optimizer moments) lives in wasm
 * memory, which never shrinks and holds at most 4 GiB with the arena; past it, state stays in
 * JavaScript memory.
 */
const RESIDENT_BUDGET_BYTES = 1 << 30;

/** A resident block's size: whole 64-byte lines, at least one. */
function residentBytes(length: number): number {
  return Math.max(64, Math.ceil((length * 4) / 64) * 64);
}

function nodeProcess(): NodeProcess | undefined {
  return (globalThis as unknown as { process?: NodeProcess }).process;
}

/** Threads need shared memory, which browsers grant only to cross-origin-isolated pages. */
function canShareMemory(): boolean {
  if (typeof SharedArrayBuffer === "undefined" || typeof Atomics === "undefined") return false;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return isolated !== false;
}

function requestedThreads(): number {
  const proc = nodeProcess();
  const fromEnv = Number(proc?.env?.FLINT_NUM_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv >= 1) return fromEnv;
  const os = proc?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined;
  if (os?.availableParallelism) return os.availableParallelism();
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 1;
}

export interface RuntimeOptions {
  /** Use the relaxed-SIMD FMA build; default: when the engine validates it. */
  relaxedSimd?: boolean;
  /** Threads including the caller; default: $FLINT_NUM_THREADS, else all cores (1 without shared memory). */
  threads?: number;
  /** Bytes that live `allocateResident` arrays may hold (default 1 GiB). */
  residentBudgetBytes?: number;
}

export class WasmRuntime {
  readonly relaxedSimd: boolean;
  readonly shared: boolean;
  readonly memory: WebAssembly.Memory;
  private readonly exports: Record<string, WebAssembly.ExportValue>;
  private readonly kernels: KernelFn[];
  private buffer: ArrayBuffer | SharedArrayBuffer;
  private readonly ctrl: Int32Array | null;
  private top = ARENA_BASE;
  /** Arena resets so far, and the current call's shared scratch block (see callScratch). */
  private resets = 0;
  private scratch = { ptr: 0, bytes: 0, resets: -1 };
  /** Where the arena starts: the resident arrays occupy [ARENA_BASE, arenaBase). */
  private arenaBase = ARENA_BASE;
  /** Freed resident blocks by size in bytes, and by end address (to give the top one back to the arena). */
  private readonly freeBySize = new Map<number, number[]>();
  private readonly freeByEnd = new Map<number, { ptr: number; bytes: number }>();
  /** Every buffer object this memory has had: views made before a grow keep the old one. */
  private readonly ownBuffers = new WeakSet<ArrayBufferLike>();
  /** Bytes held by live `allocateResident` arrays, and the most they may hold. */
  private residentLive = 0;
  private readonly residentBudget: number;
  private readonly residentRegistry = new FinalizationRegistry<{ ptr: number; bytes: number }>((block) => {
    this.residentLive -= block.bytes;
    this.releaseResident(block.ptr, block.bytes);
  });
  /** The block of each live scoped array, the bytes they hold, and the fallback that frees one garbage collected before its release. */
  private readonly scopedBlocks = new WeakMap<Float32Array, { ptr: number; bytes: number }>();
  private scopedLive = 0;
  private readonly scopedRegistry = new FinalizationRegistry<{ ptr: number; bytes: number }>((block) => this.freeScoped(block));
  private readonly workerCount: number;
  private readyWorkers: number[] = [];
  /** The main thread of a browser page may not block; it spins on the done counter instead. */
  private readonly canBlock: boolean;
  /**
   * The open result scope: results kept so far lie in [start, floor), and every call's arena
   * starts at the floor; `depth` counts nested opens. Null when no scope is open.
   */
  private scope: { start: number; floor: number; budgetEnd: number; depth: number } | null = null;

  constructor(options: RuntimeOptions = {}) {
    const threads = options.threads ?? requestedThreads();
    this.residentBudget = options.residentBudgetBytes ?? RESIDENT_BUDGET_BYTES;
    this.shared = threads > 1 && canShareMemory();
    const relaxedBytes = decode(this.shared ? relaxedShared : relaxedPrivate);
    this.relaxedSimd = options.relaxedSimd ?? WebAssembly.validate(relaxedBytes);
    const bytes = this.relaxedSimd ? relaxedBytes : decode(this.shared ? simdShared : simdPrivate);
    const module = new WebAssembly.Module(bytes);
    this.memory = new WebAssembly.Memory({ initial: 32, maximum: 65536, shared: this.shared } as WebAssembly.MemoryDescriptor);
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports;
    this.kernels = KERNELS.map((name) => this.exports[name] as KernelFn);
    this.buffer = this.memory.buffer;
    this.ownBuffers.add(this.buffer);
    this.ctrl = this.shared ? new Int32Array(this.buffer, CTRL_BASE, 512) : null;
    this.canBlock = typeof (globalThis as { window?: unknown }).window === "undefined";
    this.workerCount = this.shared ? Math.min(MAX_WORKERS, threads - 1) : 0;
    if (this.workerCount > 0) this.startWorkers(module);
  }

  /** Threads that can take part in a job now (workers start asynchronously; the main thread always can). */
  get threads(): number {
    this.refreshReady();
    return 1 + this.readyWorkers.length;
  }

  /**
   * Blocks until every worker thread has started or `timeoutMs` passed (Node and workers only;
   * a page's main thread cannot block) and returns the thread count. Kernels never need this:
   * they use the threads that are up. Tests and benchmarks do, to measure all of them.
   */
  waitForThreads(timeoutMs = 5000): number {
    const until = Date.now() + timeoutMs;
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    while (this.threads < 1 + this.workerCount && Date.now() < until && this.canBlock) Atomics.wait(sleeper, 0, 0, 5);
    return this.threads;
  }

  exported(name: string): (...args: number[]) => number {
    return this.exports[name] as (...args: number[]) => number;
  }

  /** Frees everything allocated since the last reset (the start of the current backend call), except results a scope keeps. */
  reset(): void {
    this.top = this.scope === null ? this.arenaBase : Math.max(this.arenaBase, this.scope.floor);
    this.resets++;
  }

  /**
   * A block of at least `bytes` for kernels' private scratch (a GEMM's packed panels), shared by
   * every job of the current backend call (until the next `reset`): jobs run one after another,
   * so a call running many GEMMs packs into the same warm block instead of a fresh, cache-cold
   * one each time.
   */
  callScratch(bytes: number): number {
    const block = this.scratch;
    if (block.resets === this.resets && block.bytes >= bytes) return block.ptr;
    this.scratch = { ptr: this.alloc(bytes), bytes, resets: this.resets };
    return this.scratch.ptr;
  }

  /**
   * Opens a result scope (or nests in the open one): until the matching `closeResultScope`,
   * `keepResult` leaves results where their kernels wrote them instead of their being copied out,
   * up to `budgetBytes` of arena, and later calls read them in place (`scopedResultPointer`).
   * Only with shared memory: growing private memory would detach the kept views.
   */
  openResultScope(budgetBytes: number): void {
    if (!this.shared) return;
    if (this.scope !== null) {
      this.scope.depth++;
      return;
    }
    this.scope = { start: this.arenaBase, floor: this.arenaBase, budgetEnd: this.arenaBase + budgetBytes, depth: 1 };
  }

  /** Closes the scope `openResultScope` opened: every result it kept is garbage from here on. */
  closeResultScope(): void {
    if (this.scope === null || --this.scope.depth > 0) return;
    this.scope = null;
    this.top = this.arenaBase;
  }

  /**
   * The `length` floats at `ptr`, a result of the current call, kept where they are for the
   * open scope: a view valid until the scope closes. Null when no scope is open or it has no
   * budget left (the caller copies the result out instead). Results may be kept in any order:
   * the arena below the floor, a block of the call that lies under a result kept before it
   * included, is not reused while the scope is open.
   */
  keepResult(ptr: number, length: number): Float32Array | null {
    const scope = this.scope;
    const end = ptr + Math.ceil((length * 4) / 64) * 64;
    if (scope === null || ptr < scope.start || end > scope.budgetEnd) return null;
    scope.floor = Math.max(scope.floor, end);
    return new Float32Array(this.buffer, ptr, length);
  }

  /** The address of `values` when it is a result the open scope kept (readable in place), else -1. */
  scopedResultPointer(values: Float32Array): number {
    const scope = this.scope;
    if (scope === null || !this.ownBuffers.has(values.buffer)) return -1;
    const ptr = values.byteOffset;
    return ptr >= scope.start && ptr < scope.floor ? ptr : -1;
  }

  /**
   * Where a kernel can read `values` without a copy: a resident or scoped array (or a view of
   * one), or a result the open scope kept; -1 for anything else, which must be staged.
   */
  inPlacePointer(values: Float32Array): number {
    if (!this.ownBuffers.has(values.buffer)) return -1;
    const ptr = values.byteOffset;
    if (ptr >= ARENA_BASE && ptr < this.arenaBase) return ptr;
    return this.scopedResultPointer(values);
  }

  /** A 64-byte aligned block of `bytes` bytes in the arena, growing the memory when needed. */
  alloc(bytes: number): number {
    const ptr = this.top;
    this.top = ptr + Math.ceil(bytes / 64) * 64;
    this.ensureMemory(this.top);
    return ptr;
  }

  /**
   * A zeroed float32 array in wasm memory that kernels read and update in place
   * (`residentPointer`), for long-lived state such as parameters and an optimizer's moments; null
   * without shared memory (growing private memory would detach the view), or when live resident
   * arrays already hold the budget (`RuntimeOptions.residentBudgetBytes`). Its block is freed
   * once the array is garbage collected, which JavaScript reports only between tasks, never
   * inside a synchronous loop: so this is for arrays made once and kept, not per-step results
   * (the budget bounds what a loop that builds model after model can pin). Call it between
   * backend calls, never from inside one (the block may take space the arena is using).
   */
  allocateResident(length: number): Float32Array | null {
    if (!this.shared) return null;
    const bytes = residentBytes(length);
    if (this.residentLive + bytes > this.residentBudget) return null;
    const ptr = this.takeResidentBlock(bytes);
    if (ptr < 0) return null;
    const view = new Float32Array(this.buffer, ptr, length);
    view.fill(0);
    this.residentLive += bytes;
    this.residentRegistry.register(view, { ptr, bytes });
    return view;
  }

  /**
   * An uninitialized float32 array in wasm memory for results that a later backend call reads in
   * place (a forward's saved tensors, read by its backward), with 16 bytes of slack after it.
   * Free it with `releaseScoped` as soon as it is no longer needed: garbage collection frees a
   * forgotten one only between tasks. Null without shared memory, or when scoped arrays already
   * hold `budgetBytes` (then the caller keeps its data in JavaScript memory instead). Call it
   * between backend calls, never from inside one, as `allocateResident`.
   */
  allocateScoped(length: number, budgetBytes: number): Float32Array | null {
    const bytes = residentBytes(length + 4);
    if (!this.shared || this.scopedLive + bytes > budgetBytes) return null;
    const ptr = this.takeResidentBlock(bytes);
    if (ptr < 0) return null;
    const block = { ptr, bytes };
    const view = new Float32Array(this.buffer, block.ptr, length);
    this.scopedLive += bytes;
    this.scopedBlocks.set(view, block);
    this.scopedRegistry.register(view, block, block);
    return view;
  }

  /** Bytes held by live `allocateResident` arrays. */
  get residentArrayBytes(): number {
    return this.residentLive;
  }

  /** Bytes held by live `allocateScoped` arrays. */
  get scopedBytes(): number {
    return this.scopedLive;
  }

  /** Frees an `allocateScoped` array now (anything else: nothing happens); it must not be read again. */
  releaseScoped(view: Float32Array): void {
    const block = this.scopedBlocks.get(view);
    if (block === undefined) return;
    this.scopedBlocks.delete(view);
    this.scopedRegistry.unregister(block);
    this.freeScoped(block);
  }

  private freeScoped(block: { ptr: number; bytes: number }): void {
    this.scopedLive -= block.bytes;
    this.releaseResident(block.ptr, block.bytes);
  }

  /** A resident block of `bytes`: a freed one of that size, else the arena's bottom; -1 while a result scope keeps results there. */
  private takeResidentBlock(bytes: number): number {
    const ptr = this.takeFreeBlock(bytes);
    if (ptr >= 0) return ptr;
    if (this.scope !== null && this.scope.floor > this.arenaBase) return -1;
    const bottom = this.arenaBase;
    this.arenaBase += bytes;
    this.top = Math.max(this.top, this.arenaBase);
    this.ensureMemory(this.arenaBase);
    if (this.scope !== null) {
      // Nothing is kept yet: the scope's results start above the new block.
      this.scope.budgetEnd += this.arenaBase - this.scope.start;
      this.scope.start = this.scope.floor = this.arenaBase;
    }
    return bottom;
  }

  /** The address of a float32 array that lives in this runtime's memory (e.g. allocateResident's), else -1. */
  residentPointer(values: Float32Array): number {
    return this.ownBuffers.has(values.buffer) ? values.byteOffset : -1;
  }

  private takeFreeBlock(bytes: number): number {
    const ptr = this.freeBySize.get(bytes)?.pop();
    if (ptr === undefined) return -1;
    this.freeByEnd.delete(ptr + bytes);
    return ptr;
  }

  /** Keeps a freed resident block for reuse; blocks at the top of the resident region go back to the arena. */
  private releaseResident(ptr: number, bytes: number): void {
    if (ptr + bytes !== this.arenaBase) {
      const sameSize = this.freeBySize.get(bytes);
      if (sameSize === undefined) this.freeBySize.set(bytes, [ptr]);
      else sameSize.push(ptr);
      this.freeByEnd.set(ptr + bytes, { ptr, bytes });
      return;
    }
    this.arenaBase = ptr;
    for (let below = this.freeByEnd.get(this.arenaBase); below !== undefined; below = this.freeByEnd.get(this.arenaBase)) {
      this.freeByEnd.delete(this.arenaBase);
      const sameSize = this.freeBySize.get(below.bytes)!;
      sameSize.splice(sameSize.indexOf(below.ptr), 1);
      this.arenaBase = below.ptr;
    }
  }

  private ensureMemory(end: number): void {
    const need = end - this.buffer.byteLength;
    if (need <= 0) return;
    if (end > 65536 * PAGE) fail("wasm", `out of memory: ${end} bytes requested (wasm32 has 4 GiB)`);
    this.memory.grow(Math.ceil(need / PAGE));
    this.buffer = this.memory.buffer;
    this.ownBuffers.add(this.buffer);
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.buffer, ptr, length);
  }

  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.buffer, ptr, length);
  }

  /**
   * Shares of a job run on up to `maxThreads` threads: the caller passes the share count to
   * `run`, which calls kernel(args, share, shares) once per share and returns when all are done.
   * Kernels needing per-thread scratch index it by share. `perThread` shares per thread (pass
   * the same to `run`): fewer for jobs whose shares each repeat some work (a GEMM's packing).
   */
  sharesFor(maxThreads: number, perThread = SHARES_PER_THREAD): number {
    this.refreshReady();
    const threads = Math.min(maxThreads, 1 + this.readyWorkers.length);
    return threads <= 1 ? 1 : threads * perThread;
  }

  /**
   * Runs `kernel(args, share, shares)` for every share in [0, shares) on shares / perThread
   * threads (rounded up) and returns when all are done.
   */
  run(kernel: KernelName, args: number, shares: number, perThread = SHARES_PER_THREAD): void {
    const id = KERNELS.indexOf(kernel);
    if (this.ctrl === null || shares <= 1) {
      for (let share = 0; share < shares; share++) this.kernels[id](args, share, shares);
      return;
    }
    this.post(id, args, shares, this.readyWorkers.slice(0, Math.ceil(shares / perThread) - 1));
    this.join(id, args, shares);
  }

  /** Publishes a job (kernel `id`) in the control block and wakes the `helpers` (worker indices) for it. */
  private post(id: number, args: number, shares: number, helpers: readonly number[]): void {
    const ctrl = this.ctrl!;
    if (shares > MAX_SHARES) fail("wasm", `a job has at most ${MAX_SHARES} shares, got ${shares}`);
    const job = (Atomics.add(ctrl, C.job, 1) + 1) & 0xfffff;
    Atomics.store(ctrl, C.kernel, id);
    Atomics.store(ctrl, C.args, args);
    Atomics.store(ctrl, C.shares, (job << 11) | shares);
    Atomics.store(ctrl, C.done, 0);
    Atomics.store(ctrl, C.error, 0);
    Atomics.store(ctrl, C.next, job << 11);
    for (const w of helpers) {
      Atomics.store(ctrl, C.go + w, job);
      if (Atomics.load(ctrl, C.sleeping + w) !== 0) Atomics.notify(ctrl, C.go + w, 1);
    }
  }

  /**
   * Starts `kernel(args, share, shares)` for every share on a worker thread and returns at once,
   * so that the caller can do other work meanwhile (stage the next chunk of a streamed update);
   * `finishDetached` then runs the shares the worker has not claimed yet and waits for the rest.
   * False, and nothing started, when no worker is up (the caller runs the kernel itself). Until
   * it is finished no other job may start, and the memory the kernel uses must stay as it is.
   */
  startDetached(kernel: KernelName, args: number, shares = 1): boolean {
    this.refreshReady();
    if (this.ctrl === null || this.readyWorkers.length === 0) return false;
    this.post(KERNELS.indexOf(kernel), args, shares, [this.readyWorkers[0]]);
    return true;
  }

  /** Joins the job `startDetached` started: runs the shares no worker has claimed yet, then waits for the others. */
  finishDetached(): void {
    const ctrl = this.ctrl!;
    this.join(Atomics.load(ctrl, C.kernel), Atomics.load(ctrl, C.args), Atomics.load(ctrl, C.shares) & MAX_SHARES);
  }

  /**
   * The caller's part of the current job: claims shares one at a time until none is left, then
   * waits for those the workers hold, even if one of its own failed (all but that one): the
   * arena is reused next.
   */
  private join(id: number, args: number, shares: number): void {
    const ctrl = this.ctrl!;
    const fn = this.kernels[id];
    try {
      for (;;) {
        const next = Atomics.load(ctrl, C.next);
        const share = next & MAX_SHARES;
        if (share >= shares) break;
        if (Atomics.compareExchange(ctrl, C.next, next, next + 1) !== next) continue;
        fn(args, share, shares);
        Atomics.add(ctrl, C.done, 1);
      }
    } catch (error) {
      this.awaitShares(shares - 1);
      throw error;
    }
    this.awaitShares(shares);
    if (Atomics.load(ctrl, C.error) !== 0) fail("wasm", `kernel ${KERNELS[id]} failed in a worker thread`);
  }

  /**
   * Waits until `count` shares of the current job are done. Spins first: the last share usually
   * ends within microseconds, sooner than a futex wake-up.
   */
  private awaitShares(count: number): void {
    const ctrl = this.ctrl!;
    let spins = DONE_SPINS;
    for (let done = Atomics.load(ctrl, C.done); done < count; done = Atomics.load(ctrl, C.done)) {
      if (spins-- > 0) continue;
      if (this.canBlock) Atomics.wait(ctrl, C.done, done, 50);
    }
  }

  private refreshReady(): void {
    const ctrl = this.ctrl;
    if (ctrl === null || this.readyWorkers.length === this.workerCount) return;
    this.readyWorkers = [];
    for (let w = 0; w < this.workerCount; w++) if (Atomics.load(ctrl, C.ready + w) === 1) this.readyWorkers.push(w);
  }

  private startWorkers(module: WebAssembly.Module): void {
    const data = (w: number) => [module, this.memory, CTRL_BASE, w, [...KERNELS]];
    const threads = nodeProcess()?.getBuiltinModule?.("node:worker_threads") as WorkerThreads | undefined;
    if (threads) {
      const code = `(${String(workerLoop)})(...process.getBuiltinModule("node:worker_threads").workerData);`;
      for (let w = 0; w < this.workerCount; w++) new threads.Worker(code, { eval: true, workerData: data(w) }).unref();
      return;
    }
    if (typeof Worker === "undefined" || typeof Blob === "undefined") return;
    const url = URL.createObjectURL(new Blob([`onmessage = (e) => (${String(workerLoop)})(...e.data);`], { type: "text/javascript" }));
    for (let w = 0; w < this.workerCount; w++) new Worker(url).postMessage(data(w));
  }
}

let runtime: WasmRuntime | null = null;

/** The process-wide runtime (the wasm backend's), created on first use. */
export function wasmRuntime(): WasmRuntime {
  if (runtime === null) runtime = new WasmRuntime();
  return runtime;
}

/** Whether this engine can run the wasm backend at all (128-bit SIMD is required). */
export function wasmSupported(): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(decode(simdPrivate));
  } catch {
    return false;
  }
}
