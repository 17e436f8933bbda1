import { runBackward, type BackwardOptions } from "../autograd/engine.js";
import type { GradientBuffer } from "../autograd/gradient-buffer.js";
import type { GradNode } from "../autograd/node.js";
import { type DType, type Storage } from "../core/dtype.js";
import { fail, fmtShape } from "../core/errors.js";
import type { Layout } from "../core/layout.js";
import type { Generator } from "../core/rng.js";
import { normalizeDim } from "../core/shape.js";
import { backend } from "../backend/registry.js";
import * as ew from "../ops/elementwise.js";
import * as red from "../ops/reduce.js";
import * as shp from "../ops/shape.js";
import * as idx from "../ops/indexing.js";
import * as lin from "../ops/linalg.js";
import * as inplace from "../ops/inplace.js";
import { formatTensor } from "./format.js";

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;
export type NestedArray = number | boolean | NestedArray[];
/** One entry of `x.slice(...)`: an index, [start, end?, step?] (Python slice semantics), or null for all. */
export type SliceSpec = number | null | [(number | null)?, (number | null)?, (number | null)?];

let nextSequence = 0;
const EMPTY = new Float32Array(0);

/**
 * An n-dimensional array with autograd. A Tensor is a typed-array storage seen through a Layout
 * (shape, strides, offset), so views share storage. Memory is owned by the JavaScript garbage
 * collector: nothing ever needs freeing.
 */
export class Tensor {
  /** The elements' typed array, or null while a deferred tensor's are not computed yet. */
  private storageValue: Storage | null;
  /** A deferred tensor's computation of its storage (see Tensor.deferred); null once run. */
  private computeStorage: (() => Storage) | null = null;
  readonly layout: Layout;
  readonly dtype: DType;
  private gradValue: Tensor | null = null;
  /** Whether the `grad` getter has handed gradValue to a caller, who may keep it (autograd/gradient-buffer.ts). */
  private gradHandedOut = false;
  /** @internal Where this leaf's gradients are written: set for parameters (autograd/gradient-buffer.ts). */
  gradientBuffer: GradientBuffer | null = null;
  /** The op that produced this tensor, when it was recorded for autograd; null for leaves. */
  gradFn: GradNode | null = null;
  /** Creation order; an op's output always comes after its inputs (the engine's topological order). */
  readonly sequence = nextSequence++;
  retainsGrad = false;
  private requiresGradFlag = false;

  constructor(storage: Storage, layout: Layout, dtype: DType) {
    this.storageValue = storage;
    this.layout = layout;
    this.dtype = dtype;
  }

  /**
   * @internal A tensor whose storage `compute` makes on first access to `storage` (anything that reads the
   * elements). An op can then skip writing an output that the next op can read from its input
   * instead (ops/deferred.ts); for everyone else it behaves as any tensor.
   */
  static deferred(compute: () => Storage, layout: Layout, dtype: DType): Tensor {
    const t = new Tensor(EMPTY, layout, dtype);
    t.storageValue = null;
    t.computeStorage = compute;
    return t;
  }

  /** The typed array that holds the elements (shared between views). */
  get storage(): Storage {
    if (this.storageValue === null) {
      const compute = this.computeStorage!;
      this.computeStorage = null;
      this.storageValue = compute();
    }
    return this.storageValue;
  }

  /** @internal False only for a deferred tensor whose elements have not been computed yet. */
  get isMaterialized(): boolean {
    return this.storageValue !== null;
  }

  // ---- properties -------------------------------------------------------------------------
  get shape(): readonly number[] {
    return this.layout.shape;
  }
  get ndim(): number {
    return this.layout.shape.length;
  }
  /**
   * The accumulated gradient (settable, as in PyTorch: null clears it; a tensor must match shape
   * and dtype). The tensor read here is the caller's to keep: later passes never write into it.
   */
  get grad(): Tensor | null {
    if (this.gradValue !== null) this.gradHandedOut = true;
    return this.gradValue;
  }
  set grad(value: Tensor | null) {
    if (value !== null) {
      if (!(value instanceof Tensor)) fail("grad", `expected a Tensor or null, got ${typeof value}`);
      if (value.shape.length !== this.ndim || value.shape.some((d, i) => d !== this.shape[i])) {
        fail("grad", `assigned grad of shape ${fmtShape(value.shape)} does not match the tensor's shape ${fmtShape(this.shape)}`);
      }
      if (value.dtype !== this.dtype) fail("grad", `assigned grad has dtype ${value.dtype} but the tensor has dtype ${this.dtype}`);
    }
    this.replaceGrad(value);
  }
  /**
   * @internal The gradient, for library code that keeps nothing of it past the call (the engine,
   * optimizers, gradient clipping): unlike the `grad` getter, this does not hand it out, so a
   * parameter's gradient buffer stays free for reuse (autograd/gradient-buffer.ts).
   */
  peekGrad(): Tensor | null {
    return this.gradValue;
  }
  /** @internal Whether a caller may hold the current gradient (the `grad` getter handed it out): then it is not updated in place. */
  get gradHeldElsewhere(): boolean {
    return this.gradHandedOut;
  }
  /** @internal Sets the gradient, unchecked (the engine's own). A handed-out gradient keeps the buffer it lives in. */
  replaceGrad(value: Tensor | null): void {
    const previous = this.gradValue;
    if (previous === value) return;
    if (previous !== null && this.gradHandedOut) this.gradientBuffer?.handOver(previous);
    this.gradValue = value;
    this.gradHandedOut = false;
  }
  get requiresGrad(): boolean {
    return this.requiresGradFlag;
  }
  set requiresGrad(value: boolean) {
    if (value && this.dtype !== "float32") fail("requiresGrad", `only float32 tensors can require gradients, got ${this.dtype}`);
    if (!value && this.gradFn !== null) fail("requiresGrad", "cannot turn off requiresGrad on a non-leaf tensor; use detach()");
    this.requiresGradFlag = value;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  /** PyTorch's `x.T`: reverses all dims. */
  get T(): Tensor {
    return this.permute(this.shape.map((_, i) => this.ndim - 1 - i));
  }
  /** @internal Marks this tensor as produced by a recorded op. */
  attachGradFn(node: GradNode): void {
    this.gradFn = node;
    this.requiresGradFlag = true;
  }

  numel(): number {
    return this.layout.size;
  }
  dim(): number {
    return this.ndim;
  }
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    if (dim === undefined) return this.shape.slice();
    return this.shape[normalizeDim("size", dim, this.ndim)];
  }
  isContiguous(): boolean {
    return this.layout.isContiguous();
  }
  stride(): number[] {
    return this.layout.strides.slice();
  }

  // ---- reading ----------------------------------------------------------------------------
  /** A contiguous typed-array copy of the elements. */
  data(): Storage {
    return backend().copy(this.storage, this.layout, this.dtype);
  }
  /** The value of a one-element tensor; a bool tensor reads as 1 or 0 (use `tolist()` for a boolean). */
  item(): number {
    if (this.numel() !== 1) fail("item", `a Tensor with ${this.numel()} elements cannot be converted to a scalar (shape ${fmtShape(this.shape)})`);
    return this.storage[this.layout.offset];
  }
  tolist(): NestedArray {
    const flat = Array.from(this.data() as ArrayLike<number>, (v) => (this.dtype === "bool" ? v !== 0 : v));
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.ndim) return flat[offset];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }
  toString(): string {
    return formatTensor(this);
  }
  /** console.log in Node shows the values, not the internals. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return formatTensor(this);
  }

  // ---- autograd ---------------------------------------------------------------------------
  /** Accumulates d(this)/d(leaf) into every leaf's `.grad`. `gradient` defaults to 1 for a scalar. */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    if (!this.requiresGrad) fail("backward", "element 0 of tensors does not require grad and does not have a gradFn");
    let seed = gradient;
    if (seed === undefined) {
      if (this.numel() !== 1) fail("backward", `grad can be implicitly created only for scalar outputs (got shape ${fmtShape(this.shape)}); pass a gradient`);
      seed = ew.onesLikeTensor(this);
    }
    runBackward([this], [seed], options);
  }
  /** Keeps `.grad` on this non-leaf tensor during backward. */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }
  detach(): Tensor {
    return new Tensor(this.storage, this.layout, this.dtype);
  }
  requiresGrad_(requiresGrad = true): this {
    this.requiresGrad = requiresGrad;
    return this;
  }
  clone(): Tensor {
    return ew.clone(this);
  }

  // ---- elementwise math -------------------------------------------------------------------
  add(other: TensorOrScalar, options?: { alpha?: number }): Tensor { return ew.add(this, other, options); }
  sub(other: TensorOrScalar, options?: { alpha?: number }): Tensor { return ew.sub(this, other, options); }
  mul(other: TensorOrScalar): Tensor { return ew.mul(this, other); }
  div(other: TensorOrScalar): Tensor { return ew.div(this, other); }
  pow(exponent: TensorOrScalar): Tensor { return ew.pow(this, exponent); }
  maximum(other: TensorOrScalar): Tensor { return ew.maximum(this, other); }
  minimum(other: TensorOrScalar): Tensor { return ew.minimum(this, other); }
  neg(): Tensor { return ew.neg(this); }
  abs(): Tensor { return ew.abs(this); }
  exp(): Tensor { return ew.exp(this); }
  log(): Tensor { return ew.log(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  rsqrt(): Tensor { return ew.rsqrt(this); }
  sin(): Tensor { return ew.sin(this); }
  cos(): Tensor { return ew.cos(this); }
  tanh(): Tensor { return ew.tanh(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  relu(): Tensor { return ew.relu(this); }
  sign(): Tensor { return ew.sign(this); }
  floor(): Tensor { return ew.floor(this); }
  ceil(): Tensor { return ew.ceil(this); }
  round(): Tensor { return ew.round(this); }
  reciprocal(): Tensor { return ew.reciprocal(this); }
  square(): Tensor { return ew.square(this); }
  expm1(): Tensor { return ew.expm1(this); }
  log1p(): Tensor { return ew.log1p(this); }
  erf(): Tensor { return ew.erf(this); }
  clamp(min?: number | null, max?: number | null): Tensor { return ew.clamp(this, min, max); }
  clip(min?: number | null, max?: number | null): Tensor { return ew.clamp(this, min, max); }
  logicalNot(): Tensor { return ew.logicalNot(this); }
  logicalAnd(other: TensorOrScalar): Tensor { return ew.logicalAnd(this, other); }
  logicalOr(other: TensorOrScalar): Tensor { return ew.logicalOr(this, other); }
  logicalXor(other: TensorOrScalar): Tensor { return ew.logicalXor(this, other); }
  isnan(): Tensor { return ew.isnan(this); }
  isinf(): Tensor { return ew.isinf(this); }
  isfinite(): Tensor { return ew.isfinite(this); }
  /** Converts to another dtype (a copy unless the dtype already matches). */
  to(dtype: DType): Tensor { return ew.cast(this, dtype); }
  float(): Tensor { return ew.cast(this, "float32"); }
  int(): Tensor { return ew.cast(this, "int32"); }
  bool(): Tensor { return ew.cast(this, "bool"); }

  // ---- comparison -------------------------------------------------------------------------
  eq(other: TensorOrScalar): Tensor { return ew.compare("eq", this, other); }
  ne(other: TensorOrScalar): Tensor { return ew.compare("ne", this, other); }
  lt(other: TensorOrScalar): Tensor { return ew.compare("lt", this, other); }
  le(other: TensorOrScalar): Tensor { return ew.compare("le", this, other); }
  gt(other: TensorOrScalar): Tensor { return ew.compare("gt", this, other); }
  ge(other: TensorOrScalar): Tensor { return ew.compare("ge", this, other); }
  /** True when every element is within atol + rtol*|other| (PyTorch's defaults). */
  allclose(other: Tensor, options?: { rtol?: number; atol?: number }): boolean { return ew.allclose(this, other, options); }
  equal(other: Tensor): boolean { return ew.equal(this, other); }

  // ---- reductions -------------------------------------------------------------------------
  sum(dim?: number | number[] | null, options?: red.KeepDim): Tensor { return red.sum(this, dim, options); }
  mean(dim?: number | number[] | null, options?: red.KeepDim): Tensor { return red.mean(this, dim, options); }
  prod(dim?: number | null, options?: red.KeepDim): Tensor { return red.prod(this, dim, options); }
  var(dim?: number | number[] | null, options?: red.VarOptions): Tensor { return red.variance(this, dim, options); }
  std(dim?: number | number[] | null, options?: red.VarOptions): Tensor { return red.std(this, dim, options); }
  max(): Tensor;
  max(dim: number, options?: red.KeepDim): red.ValuesIndices;
  max(dim?: number, options?: red.KeepDim): Tensor | red.ValuesIndices { return dim === undefined ? red.maxAll(this, "max") : red.maxDim(this, "max", dim, options); }
  min(): Tensor;
  min(dim: number, options?: red.KeepDim): red.ValuesIndices;
  min(dim?: number, options?: red.KeepDim): Tensor | red.ValuesIndices { return dim === undefined ? red.maxAll(this, "min") : red.maxDim(this, "min", dim, options); }
  amax(dim?: number | number[] | null, options?: red.KeepDim): Tensor { return red.amax(this, "max", dim, options); }
  amin(dim?: number | number[] | null, options?: red.KeepDim): Tensor { return red.amax(this, "min", dim, options); }
  argmax(dim?: number | null, options?: red.KeepDim): Tensor { return red.argReduce(this, "argmax", dim, options); }
  argmin(dim?: number | null, options?: red.KeepDim): Tensor { return red.argReduce(this, "argmin", dim, options); }
  logsumexp(dim?: number | number[] | null, options?: red.KeepDim): Tensor { return red.logsumexp(this, dim, options); }
  all(dim?: number | null, options?: red.KeepDim): Tensor { return red.all(this, dim, options); }
  any(dim?: number | null, options?: red.KeepDim): Tensor { return red.any(this, dim, options); }
  norm(p: number = 2, dim?: number | number[] | null, options?: red.KeepDim): Tensor { return red.norm(this, p, dim, options); }
  cumsum(dim: number): Tensor { return red.cumsum(this, dim); }

  // ---- linear algebra ---------------------------------------------------------------------
  matmul(other: Tensor): Tensor { return lin.matmul(this, other); }
  mm(other: Tensor): Tensor { return lin.mm(this, other); }
  bmm(other: Tensor): Tensor { return lin.bmm(this, other); }
  dot(other: Tensor): Tensor { return lin.dot(this, other); }

  // ---- shape ------------------------------------------------------------------------------
  reshape(shape: number[]): Tensor { return shp.reshape(this, shape); }
  view(shape: number[]): Tensor { return shp.view(this, shape); }
  viewAs(other: Tensor): Tensor { return shp.view(this, other.shape.slice()); }
  reshapeAs(other: Tensor): Tensor { return shp.reshape(this, other.shape.slice()); }
  flatten(startDim = 0, endDim = -1): Tensor { return shp.flatten(this, startDim, endDim); }
  unflatten(dim: number, sizes: number[]): Tensor { return shp.unflatten(this, dim, sizes); }
  squeeze(dim?: number | number[]): Tensor { return shp.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return shp.unsqueeze(this, dim); }
  transpose(dim0: number, dim1: number): Tensor { return shp.transpose(this, dim0, dim1); }
  t(): Tensor { return shp.t(this); }
  permute(dims: number[]): Tensor { return shp.permute(this, dims); }
  expand(shape: number[]): Tensor { return shp.expand(this, shape); }
  expandAs(other: Tensor): Tensor { return shp.expand(this, other.shape.slice()); }
  contiguous(): Tensor { return shp.contiguous(this); }
  narrow(dim: number, start: number, length: number): Tensor { return shp.narrow(this, dim, start, length); }
  select(dim: number, index: number): Tensor { return shp.select(this, dim, index); }
  chunk(chunks: number, dim = 0): Tensor[] { return shp.chunk(this, chunks, dim); }
  split(splitSizeOrSections: number | number[], dim = 0): Tensor[] { return shp.split(this, splitSizeOrSections, dim); }
  unbind(dim = 0): Tensor[] { return shp.unbind(this, dim); }
  repeat(sizes: number[]): Tensor { return shp.repeat(this, sizes); }
  flip(dims: number[]): Tensor { return shp.flip(this, dims); }
  /** Python-style indexing: `x.slice(0, [1, null], null, [null, null, 2])` is `x[0, 1:, :, ::2]`. */
  slice(...specs: SliceSpec[]): Tensor { return shp.slice(this, specs); }

  // ---- indexing ---------------------------------------------------------------------------
  indexSelect(dim: number, index: Tensor): Tensor { return idx.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return idx.gather(this, dim, index); }
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor { return idx.scatter(this, dim, index, src, false); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return idx.scatter(this, dim, index, src, true); }
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor { return idx.maskedFill(this, mask, value); }

  // ---- in place (PyTorch's trailing underscore): for init, optimizers and buffers ---------
  copy_(src: TensorOrScalar): this { return inplace.assignInto(this, src, "copy_"); }
  fill_(value: Scalar): this { return inplace.assignInto(this, value, "fill_"); }
  zero_(): this { return inplace.assignInto(this, 0, "zero_"); }
  add_(other: TensorOrScalar, options?: { alpha?: number }): this { return inplace.update(this, "add_", () => ew.add(this, other, options)); }
  sub_(other: TensorOrScalar, options?: { alpha?: number }): this { return inplace.update(this, "sub_", () => ew.sub(this, other, options)); }
  mul_(other: TensorOrScalar): this { return inplace.update(this, "mul_", () => ew.mul(this, other)); }
  div_(other: TensorOrScalar): this { return inplace.update(this, "div_", () => ew.div(this, other)); }
  clamp_(min?: number | null, max?: number | null): this { return inplace.update(this, "clamp_", () => ew.clamp(this, min, max)); }
  uniform_(low = 0, high = 1, options?: { generator?: Generator }): this { return inplace.uniform_(this, low, high, options?.generator); }
  normal_(mean = 0, std = 1, options?: { generator?: Generator }): this { return inplace.normal_(this, mean, std, options?.generator); }
}
