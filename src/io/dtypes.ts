/**
 * The safetensors element types flint reads and writes, and the conversions between their
 * little-endian bytes and flint's three storages. Reading widens or narrows exactly the way
 * PyTorch's `.float()` / `.int()` would (F16/BF16 exactly, F64 rounded to nearest), except that
 * integers which do not fit in int32 are an error rather than a silent wrap-around.
 */
import type { DType, Storage } from "../core/dtype.js";
import { fail } from "../core/errors.js";

/** True on little-endian hosts (every mainstream CPU), where bytes can be copied as they are. */
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Converts one tensor's raw bytes; `reject` throws an error that names the tensor. */
type Decoder = (bytes: Uint8Array, count: number, fail: (message: string) => never) => Storage;

export interface SafetensorsDType {
  /** Bytes per element. */
  readonly itemsize: number;
  /** The flint dtype the tensor loads as. */
  readonly loadsAs: DType;
  readonly decode: Decoder;
}

/** A private, aligned copy of the bytes: typed-array views need an aligned, owned buffer. */
function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  // The copy constructor, not bytes.slice(): on a Node Buffer, slice() is a view of a shared pool.
  return new Uint8Array(bytes).buffer;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const decodeF32: Decoder = (bytes, count) => {
  if (littleEndianHost) return new Float32Array(alignedCopy(bytes));
  const view = viewOf(bytes);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
};

const decodeF64: Decoder = (bytes, count) => {
  const view = viewOf(bytes);
  const out = new Float32Array(count); // storing rounds to nearest-even, as a C double->float cast does
  for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
};

/** IEEE half -> single, bit-exact (subnormals normalised, NaN payloads kept). */
function halfBitsToFloatBits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >> 10) & 0x1f;
  let mantissa = half & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  // Subnormal half: shift the leading 1 up to the implicit-bit position, lowering the exponent.
  let shifted = 0;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    shifted++;
  }
  return (sign | ((113 - shifted) << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

const decodeF16: Decoder = (bytes, count) => {
  const view = viewOf(bytes);
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) bits[i] = halfBitsToFloatBits(view.getUint16(2 * i, true));
  return out;
};

/** bfloat16 is the top half of a float32, so widening is a shift. */
const decodeBF16: Decoder = (bytes, count) => {
  const view = viewOf(bytes);
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  return out;
};

const decodeI32: Decoder = (bytes, count) => {
  if (littleEndianHost) return new Int32Array(alignedCopy(bytes));
  const view = viewOf(bytes);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
  return out;
};

function outOfInt32(value: bigint | number, index: number, reject: (message: string) => never): never {
  return reject(`value ${value} at flat index ${index} does not fit in int32 (${INT32_MIN}..${INT32_MAX}); flint has no int64 dtype`);
}

const decodeI64: Decoder = (bytes, count, reject) => {
  const view = viewOf(bytes);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const low = view.getInt32(8 * i, true);
    const high = view.getInt32(8 * i + 4, true);
    // The value fits in int32 exactly when the high word is the sign extension of the low one.
    if (high !== low >> 31) outOfInt32(view.getBigInt64(8 * i, true), i, reject);
    out[i] = low;
  }
  return out;
};

const decodeU64: Decoder = (bytes, count, reject) => {
  const view = viewOf(bytes);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const low = view.getUint32(8 * i, true);
    if (view.getUint32(8 * i + 4, true) !== 0 || low > INT32_MAX) outOfInt32(view.getBigUint64(8 * i, true), i, reject);
    out[i] = low;
  }
  return out;
};

const decodeU32: Decoder = (bytes, count, reject) => {
  const view = viewOf(bytes);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const value = view.getUint32(4 * i, true);
    if (value > INT32_MAX) outOfInt32(value, i, reject);
    out[i] = value;
  }
  return out;
};

/** Widens a small integer type: every value fits, so this cannot fail. */
function widening(read: (view: DataView, index: number) => number): Decoder {
  return (bytes, count) => {
    const view = viewOf(bytes);
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = read(view, i);
    return out;
  };
}

/** Any non-zero byte is true, as in PyTorch; flint's bool storage holds exactly 0 or 1. */
const decodeBool: Decoder = (bytes, count) => {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = bytes[i] !== 0 ? 1 : 0;
  return out;
};

/** Every dtype name flint can read, keyed by its safetensors spelling. */
export const READABLE_DTYPES: Readonly<Record<string, SafetensorsDType>> = {
  F32: { itemsize: 4, loadsAs: "float32", decode: decodeF32 },
  F16: { itemsize: 2, loadsAs: "float32", decode: decodeF16 },
  BF16: { itemsize: 2, loadsAs: "float32", decode: decodeBF16 },
  F64: { itemsize: 8, loadsAs: "float32", decode: decodeF64 },
  I64: { itemsize: 8, loadsAs: "int32", decode: decodeI64 },
  I32: { itemsize: 4, loadsAs: "int32", decode: decodeI32 },
  I16: { itemsize: 2, loadsAs: "int32", decode: widening((v, i) => v.getInt16(2 * i, true)) },
  I8: { itemsize: 1, loadsAs: "int32", decode: widening((v, i) => v.getInt8(i)) },
  U64: { itemsize: 8, loadsAs: "int32", decode: decodeU64 },
  U32: { itemsize: 4, loadsAs: "int32", decode: decodeU32 },
  U16: { itemsize: 2, loadsAs: "int32", decode: widening((v, i) => v.getUint16(2 * i, true)) },
  U8: { itemsize: 1, loadsAs: "int32", decode: widening((v, i) => v.getUint8(i)) },
  BOOL: { itemsize: 1, loadsAs: "bool", decode: decodeBool },
};

export function readableDType(name: string): SafetensorsDType | undefined {
  return Object.prototype.hasOwnProperty.call(READABLE_DTYPES, name) ? READABLE_DTYPES[name] : undefined;
}

/** How each flint dtype is written: its safetensors name and bytes per element. */
export const WRITTEN_DTYPES: Readonly<Record<DType, { name: string; itemsize: number }>> = {
  float32: { name: "F32", itemsize: 4 },
  int32: { name: "I32", itemsize: 4 },
  bool: { name: "BOOL", itemsize: 1 },
};

/**
 * The reference writer lays tensors out by dtype, widest-ranked first (its enum order puts F32
 * before I32 before BOOL), then by name; following it keeps every tensor aligned to its itemsize
 * and makes flint's files byte-identical to `safetensors.torch.save` for the same tensors.
 */
export const WRITE_ORDER: Readonly<Record<DType, number>> = { float32: 0, int32: 1, bool: 2 };

/** Writes a contiguous storage's elements as little-endian bytes into `out`. */
export function encodeInto(values: Storage, out: Uint8Array): void {
  if (littleEndianHost || values instanceof Uint8Array) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return;
  }
  const view = viewOf(out);
  if (values instanceof Float32Array) for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  else for (let i = 0; i < values.length; i++) view.setInt32(4 * i, values[i], true);
}

/** Throws for a dtype flint cannot read, listing the ones it can. */
export function unsupportedDType(op: string, where: string, dtype: string): never {
  return fail(op, `${where}unsupported dtype ${JSON.stringify(dtype)} (flint reads ${Object.keys(READABLE_DTYPES).join(", ")})`);
}
