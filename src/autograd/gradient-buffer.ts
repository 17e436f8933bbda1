import { backend } from "../backend/registry.js";
import type { Tensor } from "../tensor/tensor.js";

/**
 * The storage a parameter's gradients are written into, kept from one step to the next.
 *
 * A training loop clears every `.grad` (zeroGrad) and backward sets a new one, so without reuse
 * each step allocates one parameter-sized array per parameter and drops the last: on the wasm
 * backend that is also a copy out of wasm memory (where the gradient was computed) and one back
 * in (where the optimizer reads it), and the allocations drive most of the garbage collector's
 * work (full collections triggered by the volume of array memory). PyTorch's caching allocator
 * hands the same memory back; here the engine writes each new gradient into its parameter's
 * buffer. The first buffer is the backend's state memory (`allocateState`: wasm memory on the
 * wasm backend), where the optimizers read it in place.
 *
 * That is safe only while no caller holds the gradient the buffer last carried. The library's own
 * readers (the engine, optimizers, clipping) use `Tensor.peekGrad`, which keeps nothing past the
 * call; the `grad` getter, for everyone else, marks the gradient handed out. A handed-out
 * gradient keeps the buffer's storage once it stops being the parameter's `.grad` (`handOver`),
 * and the parameter gets a new buffer in ordinary memory, so a loop that reads `.grad` at every
 * step cannot pin wasm memory.
 */
export class GradientBuffer {
  private storage: Float32Array | null = null;
  private handedOver = false;

  constructor(private readonly length: number) {}

  /** Makes sure there is storage. Call it outside a backend result scope: state memory cannot be taken inside one. */
  reserve(): void {
    if (this.storage === null) this.storage = this.handedOver ? new Float32Array(this.length) : backend().allocateState(this.length);
  }

  /** The storage, for a parameter that has no gradient now (so nothing occupies it). */
  take(): Float32Array {
    this.reserve();
    return this.storage!;
  }

  /** Whether `gradient` lives in this buffer. */
  holds(gradient: Tensor): boolean {
    return this.storage !== null && gradient.isMaterialized && gradient.storage === this.storage;
  }

  /** `gradient`, once the parameter's `.grad` and read through the `grad` getter, is being replaced: if it lives here, the storage is its own from now on. */
  handOver(gradient: Tensor): void {
    if (!this.holds(gradient)) return;
    this.storage = null;
    this.handedOver = true;
  }
}
