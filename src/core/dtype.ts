/** Element types. Storage is a typed array: float32 -> Float32Array, int32 -> Int32Array, bool -> Uint8Array. */
export type DType = "float32" | "int32" | "bool";
export type Storage = Float32Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ["float32", "int32", "bool"];

export function isDType(value: unknown): value is DType {
  return value === "float32" || value === "int32" || value === "bool";
}

export function allocate(dtype: DType, size: number): Storage {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "int32":
      return new Int32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}

export function dtypeOfStorage(storage: Storage): DType {
  if (storage instanceof Float32Array) return "float32";
  if (storage instanceof Int32Array) return "int32";
  return "bool";
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2 };

/** PyTorch's promotion for our three dtypes: bool < int32 < float32. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The dtype a JS number takes when it meets a tensor of `dtype` (PyTorch's "wrapped number" rule). */
export function scalarResultType(dtype: DType, scalar: number | boolean): DType {
  if (typeof scalar === "boolean") return dtype;
  if (!Number.isInteger(scalar)) return "float32";
  return dtype === "bool" ? "int32" : dtype;
}

export function isFloating(dtype: DType): boolean {
  return dtype === "float32";
}
