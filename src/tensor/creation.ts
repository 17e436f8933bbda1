import { allocate, isDType, type DType, type Storage } from "../core/dtype.js";
import { fail } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import { defaultGenerator, type Generator } from "../core/rng.js";
import { checkShape, numel } from "../core/shape.js";
import { Tensor, type NestedArray } from "./tensor.js";

export interface CreationOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}
export interface RandomOptions extends CreationOptions {
  generator?: Generator;
}

function make(storage: Storage, shape: readonly number[], dtype: DType, requiresGrad = false): Tensor {
  const t = new Tensor(storage, Layout.contiguous(shape), dtype);
  if (requiresGrad) t.requiresGrad = true;
  return t;
}

function checkDType(op: string, dtype: unknown): DType {
  if (dtype === undefined) return "float32";
  if (!isDType(dtype)) fail(op, `unknown dtype ${JSON.stringify(dtype)} (expected "float32", "int32" or "bool")`);
  return dtype;
}

type TypedInput = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint8ClampedArray;

/**
 * Creates a tensor from nested arrays, a typed array, a number or a boolean. Numbers become
 * float32 unless `dtype` says otherwise (JavaScript has no int/float distinction); booleans
 * become bool; Int32Array and the smaller integer arrays become int32.
 */
export function tensor(data: NestedArray | TypedInput, options: CreationOptions = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const typed = data as TypedInput;
    const inferred: DType = typed instanceof Float32Array || typed instanceof Float64Array ? "float32" : "int32";
    const dtype = options.dtype ? checkDType("tensor", options.dtype) : inferred;
    const storage = allocate(dtype, typed.length);
    for (let i = 0; i < typed.length; i++) storage[i] = dtype === "bool" ? (typed[i] ? 1 : 0) : typed[i];
    return make(storage, [typed.length], dtype, options.requiresGrad);
  }
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const flat: (number | boolean)[] = [];
  let sawBool = false;
  let sawNumber = false;
  // `path` is one index stack, pushed and popped, so large arrays allocate nothing per element.
  const path: number[] = [];
  const walk = (value: unknown, dim: number): void => {
    if (dim === shape.length) {
      if (typeof value === "boolean") sawBool = true;
      else if (typeof value === "number") sawNumber = true;
      else fail("tensor", `expected a number or boolean at [${path.join(", ")}], got ${Array.isArray(value) ? "an array" : typeof value}`);
      flat.push(value as number | boolean);
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[dim]) {
      fail("tensor", `ragged nested array: expected length ${shape[dim]} at [${path.join(", ")}], got ${Array.isArray(value) ? value.length : typeof value}`);
    }
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walk(value[i], dim + 1);
      path.pop();
    }
  };
  walk(data, 0);
  const dtype = options.dtype ? checkDType("tensor", options.dtype) : sawBool && !sawNumber ? "bool" : "float32";
  const storage = allocate(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) storage[i] = dtype === "bool" ? (flat[i] ? 1 : 0) : Number(flat[i]);
  if (dtype === "int32") for (let i = 0; i < flat.length; i++) if (!Number.isInteger(flat[i] as number) && typeof flat[i] === "number") fail("tensor", `value ${flat[i]} is not an integer but dtype is int32`);
  return make(storage, shape, dtype, options.requiresGrad);
}

export function full(shape: number[], value: number | boolean, options: CreationOptions = {}): Tensor {
  return filled("full", shape, value, options);
}

/** `full` under the name of the function the user called, for error messages. */
function filled(op: string, shape: number[], value: number | boolean, options: CreationOptions): Tensor {
  const s = checkShape(op, shape);
  const dtype = options.dtype ? checkDType(op, options.dtype) : typeof value === "boolean" ? "bool" : "float32";
  const storage = allocate(dtype, numel(s));
  storage.fill(dtype === "bool" ? (value ? 1 : 0) : Number(value));
  return make(storage, s, dtype, options.requiresGrad);
}

export const zeros = (shape: number[], options: CreationOptions = {}) => filled("zeros", shape, 0, options);
export const ones = (shape: number[], options: CreationOptions = {}) => filled("ones", shape, 1, options);
/** Uninitialised in PyTorch; zero-filled here (typed arrays always are). */
export const empty = (shape: number[], options: CreationOptions = {}) => filled("empty", shape, 0, options);
export const zerosLike = (t: Tensor, options: CreationOptions = {}) => full(t.shape.slice(), 0, { dtype: t.dtype, ...options });
export const onesLike = (t: Tensor, options: CreationOptions = {}) => full(t.shape.slice(), 1, { dtype: t.dtype, ...options });
export const fullLike = (t: Tensor, value: number, options: CreationOptions = {}) => full(t.shape.slice(), value, { dtype: t.dtype, ...options });
export const emptyLike = zerosLike;

function randomFloats(op: string, shape: number[], options: RandomOptions, fill: (g: Generator, out: Float32Array) => void): Tensor {
  const s = checkShape(op, shape);
  const dtype = checkDType(op, options.dtype);
  if (dtype !== "float32") fail(op, `only float32 is supported, got ${dtype}`);
  const storage = new Float32Array(numel(s));
  fill(options.generator ?? defaultGenerator, storage);
  return make(storage, s, dtype, options.requiresGrad);
}

/** Standard normal samples. */
export const randn = (shape: number[], options: RandomOptions = {}) =>
  randomFloats("randn", shape, options, (g, out) => {
    for (let i = 0; i < out.length; i++) out[i] = g.normal();
  });
/** Uniform samples in [0, 1). */
export const rand = (shape: number[], options: RandomOptions = {}) => randomFloats("rand", shape, options, (g, out) => g.fillUniformFloat32(out));
export const randnLike = (t: Tensor, options: RandomOptions = {}) => randn(t.shape.slice(), options);
export const randLike = (t: Tensor, options: RandomOptions = {}) => rand(t.shape.slice(), options);

/** Uniform integers in [low, high), int32 by default. */
export function randint(low: number, high: number, shape: number[], options: RandomOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) fail("randint", `expected integers low < high, got low=${low}, high=${high}`);
  const s = checkShape("randint", shape);
  const dtype = options.dtype ? checkDType("randint", options.dtype) : "int32";
  const g = options.generator ?? defaultGenerator;
  const storage = allocate(dtype, numel(s));
  for (let i = 0; i < storage.length; i++) storage[i] = g.randint(low, high);
  return make(storage, s, dtype);
}

/** A random permutation of 0..n-1 (Fisher-Yates), int32. */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) fail("randperm", `n must be a non-negative integer, got ${n}`);
  const g = options.generator ?? defaultGenerator;
  const storage = new Int32Array(n);
  for (let i = 0; i < n; i++) storage[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.randint(0, i + 1);
    const tmp = storage[i];
    storage[i] = storage[j];
    storage[j] = tmp;
  }
  return make(options.dtype === "float32" ? Float32Array.from(storage) : storage, [n], options.dtype === "float32" ? "float32" : "int32");
}

/**
 * arange(end) or arange(start, end, step). The dtype is int32 when every argument is an
 * integer (PyTorch gives int64 there) and float32 otherwise.
 */
export function arange(start: number, end?: number, step = 1, options: CreationOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) fail("arange", `step must be finite and non-zero, got ${step}`);
  if ((hi - lo) / step < 0) fail("arange", `upper bound and step sign are inconsistent: start=${lo}, end=${hi}, step=${step}`);
  const count = Math.max(0, Math.ceil((hi - lo) / step));
  const integral = [lo, hi, step].every(Number.isInteger);
  const dtype = options.dtype ? checkDType("arange", options.dtype) : integral ? "int32" : "float32";
  const storage = allocate(dtype, count);
  for (let i = 0; i < count; i++) storage[i] = lo + i * step;
  return make(storage, [count], dtype, options.requiresGrad);
}

export function linspace(start: number, end: number, steps: number, options: CreationOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) fail("linspace", `steps must be a non-negative integer, got ${steps}`);
  const dtype = checkDType("linspace", options.dtype);
  const storage = allocate(dtype, steps);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // PyTorch fills the second half from the end, so both endpoints are exact (one step gives start).
  const half = steps === 1 ? 1 : Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) storage[i] = i < half ? start + i * delta : end - (steps - 1 - i) * delta;
  return make(storage, [steps], dtype, options.requiresGrad);
}

/** The n x m identity (m defaults to n); `eye(n, { dtype })` is accepted too. */
export function eye(n: number, m?: number | CreationOptions, options: CreationOptions = {}): Tensor {
  if (typeof m === "object") return eye(n, n, m);
  const cols = m ?? n;
  checkShape("eye", [n, cols]);
  const dtype = checkDType("eye", options.dtype);
  const storage = allocate(dtype, n * cols);
  for (let i = 0; i < Math.min(n, cols); i++) storage[i * cols + i] = 1;
  return make(storage, [n, cols], dtype, options.requiresGrad);
}
