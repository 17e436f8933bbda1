import { fail } from "../../core/errors.js";

/** A decoded IDX file (LeCun's MNIST format): unsigned bytes with their dimensions. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;

/**
 * Parses an IDX file: two zero bytes, a type code, the number of dimensions, one big-endian
 * uint32 per dimension, then the values. Only unsigned bytes (all MNIST-style sets) are read.
 * `name` is used in error messages. The result's data is a view into `bytes`.
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  if (bytes.length < 4) fail("parseIdx", `${name}: file is truncated (${bytes.length} bytes, the header alone needs at least 4)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail("parseIdx", `${name}: not an IDX file (bad magic number 0x${hex(bytes, 0, 4)})`);
  const typeCode = bytes[2];
  if (typeCode !== UNSIGNED_BYTE) fail("parseIdx", `${name}: unsupported IDX element type 0x${typeCode.toString(16)} (only unsigned bytes, 0x08, are supported)`);
  const ndim = bytes[3];
  if (ndim === 0) fail("parseIdx", `${name}: IDX header declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) fail("parseIdx", `${name}: file is truncated inside the header (${bytes.length} bytes, header needs ${headerBytes})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerBytes;
  if (available < count) {
    fail("parseIdx", `${name}: file is truncated: header declares shape [${shape.join(", ")}] = ${count} bytes of data, but only ${available} follow`);
  }
  if (available > count) fail("parseIdx", `${name}: file is corrupt: ${available - count} unexpected bytes after the ${count} declared by shape [${shape.join(", ")}]`);
  return { shape, data: bytes.subarray(headerBytes, headerBytes + count) };
}

function hex(bytes: Uint8Array, start: number, end: number): string {
  return Array.from(bytes.subarray(start, end), (b) => b.toString(16).padStart(2, "0")).join("");
}
