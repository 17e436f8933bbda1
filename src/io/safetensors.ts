/**
 * The safetensors format on bytes (no file system, so it runs in browsers too):
 *
 *   [8 bytes: header length N, little-endian u64][N bytes: JSON header][data buffer]
 *
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]}, offsets counted
 * from the start of the data buffer, plus an optional "__metadata__" map of strings. Tensors must
 * cover the data buffer exactly: no overlaps, no holes, no trailing bytes.
 */
import { fail, fmtShape } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import { Tensor } from "../tensor/tensor.js";
import { WRITE_ORDER, WRITTEN_DTYPES, encodeInto, readableDType, unsupportedDType, type SafetensorsDType } from "./dtypes.js";

/** A checkpoint's tensors together with its `__metadata__` (empty when the file has none). */
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

const LENGTH_PREFIX_BYTES = 8;
/** The reference implementation's limit: a larger header means a corrupt file, not a big model. */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";

// ---- writing -------------------------------------------------------------------------------

/**
 * Encodes tensors (and optional string metadata) as a safetensors file's bytes. float32 is
 * written as F32, int32 as I32, bool as BOOL; views are written as their (contiguous) values.
 * The layout matches `safetensors.torch.save`: tensors ordered by dtype then name, header padded
 * with spaces to a multiple of 8 bytes.
 */
export function serializeSafetensors(record: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  return encodeSafetensors("serializeSafetensors", record, metadata);
}

/** @internal `serializeSafetensors` with the op name its errors carry (`save` uses its own). */
export function encodeSafetensors(op: string, record: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = checkRecord(op, record);
  entries.sort((a, b) => WRITE_ORDER[a.tensor.dtype] - WRITE_ORDER[b.tensor.dtype] || compareCodePoints(a.name, b.name));

  // Keys are written by hand rather than via an object, whose integer-like keys ("0") JS would reorder.
  const headerParts: string[] = [];
  if (metadata !== undefined) headerParts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(checkMetadata(op, metadata))}`);
  let dataBytes = 0;
  for (const { name, tensor } of entries) {
    const { name: dtypeName, itemsize } = WRITTEN_DTYPES[tensor.dtype];
    const begin = dataBytes;
    dataBytes += tensor.numel() * itemsize;
    headerParts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: dtypeName, shape: tensor.shape, data_offsets: [begin, dataBytes] })}`);
  }
  const headerJson = new TextEncoder().encode(`{${headerParts.join(",")}}`);
  const headerBytes = headerJson.length + ((8 - (headerJson.length % 8)) % 8);
  if (headerBytes > MAX_HEADER_BYTES) fail(op, `the header would be ${headerBytes} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce (too many tensors or too much metadata)`);

  const out = new Uint8Array(LENGTH_PREFIX_BYTES + headerBytes + dataBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes, true); // the high 32 bits of the u64 stay 0
  out.set(headerJson, LENGTH_PREFIX_BYTES);
  out.fill(0x20, LENGTH_PREFIX_BYTES + headerJson.length, LENGTH_PREFIX_BYTES + headerBytes);
  let cursor = LENGTH_PREFIX_BYTES + headerBytes;
  for (const { tensor } of entries) {
    const values = tensor.isContiguous() ? tensor.storage.subarray(tensor.layout.offset, tensor.layout.offset + tensor.numel()) : tensor.data();
    const byteLength = values.length * WRITTEN_DTYPES[tensor.dtype].itemsize;
    encodeInto(values, out.subarray(cursor, cursor + byteLength));
    cursor += byteLength;
  }
  return out;
}

function checkRecord(op: string, record: Record<string, Tensor>): { name: string; tensor: Tensor }[] {
  if (typeof record !== "object" || record === null || Array.isArray(record) || record instanceof Tensor) {
    fail(op, `expected a Record<string, Tensor> such as model.stateDict(), got ${describe(record)}`);
  }
  if (typeof (record as { stateDict?: unknown }).stateDict === "function") {
    fail(op, "expected a Record<string, Tensor>, got a Module; pass model.stateDict()");
  }
  return Object.entries(record).map(([name, tensor]) => {
    if (name === METADATA_KEY) fail(op, `the tensor name "${METADATA_KEY}" is reserved for the file's metadata`);
    if (!(tensor instanceof Tensor)) fail(op, `entry ${JSON.stringify(name)} is not a Tensor (got ${describe(tensor)})`);
    return { name, tensor };
  });
}

function checkMetadata(op: string, metadata: Record<string, string>): Record<string, string> {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    fail(op, `metadata must be a Record<string, string>, got ${describe(metadata)}`);
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") fail(op, `metadata must map strings to strings; key ${JSON.stringify(key)} has ${describe(value)}`);
  }
  return metadata;
}

/** Orders names by Unicode code point, i.e. by their UTF-8 bytes, as the reference writer does. */
function compareCodePoints(a: string, b: string): number {
  const pa = Array.from(a, (c) => c.codePointAt(0) as number);
  const pb = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return pa.length - pb.length;
}

// ---- reading -------------------------------------------------------------------------------

/** Decodes a safetensors file's bytes into tensors (see `deserializeSafetensorsWithMetadata`). */
export function deserializeSafetensors(bytes: ArrayBufferView | ArrayBuffer): Record<string, Tensor> {
  return decodeSafetensors("deserializeSafetensors", "", bytes).tensors;
}

/**
 * Decodes a safetensors file's bytes into `{ tensors, metadata }`, where `metadata` is the
 * header's `__metadata__` map (empty if the file has none). F32/F16/BF16/F64 load as float32,
 * I64/I32/I16/I8/U64/U32/U16/U8 as int32 (an error names any value that does not fit), BOOL as
 * bool. The whole file is validated first; a malformed one throws a FlintError saying what and
 * which tensor is wrong.
 */
export function deserializeSafetensorsWithMetadata(bytes: ArrayBufferView | ArrayBuffer): SafetensorsContents {
  return decodeSafetensors("deserializeSafetensorsWithMetadata", "", bytes);
}

interface HeaderEntry {
  name: string;
  dtypeName: string;
  dtype: SafetensorsDType;
  shape: number[];
  numel: number;
  begin: number;
  end: number;
}

/**
 * @internal The decoder behind the public functions; `where` prefixes every message (`load`
 * passes the file's name) so that errors say which file and which tensor is at fault.
 */
export function decodeSafetensors(op: string, where: string, input: ArrayBufferView | ArrayBuffer): SafetensorsContents {
  const bytes = asBytes(input);
  if (bytes === null) fail(op, `${where}expected a Uint8Array or ArrayBuffer, got ${describe(input)}`);
  const reject = (message: string): never => fail(op, where + message);

  if (bytes.length < LENGTH_PREFIX_BYTES) {
    reject(`only ${bytes.length} bytes, too short for the 8-byte header length that starts every safetensors file (truncated or not safetensors)`);
  }
  const prefix = new DataView(bytes.buffer, bytes.byteOffset, LENGTH_PREFIX_BYTES);
  const headerLength = prefix.getUint32(0, true) + prefix.getUint32(4, true) * 2 ** 32;
  if (headerLength > MAX_HEADER_BYTES) {
    reject(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt file or not safetensors)`);
  }
  if (LENGTH_PREFIX_BYTES + headerLength > bytes.length) {
    reject(`header length ${headerLength} runs past the end of the input (${bytes.length} bytes in all; truncated or not safetensors)`);
  }
  const dataStart = LENGTH_PREFIX_BYTES + headerLength;
  const dataLength = bytes.length - dataStart;
  const header = parseHeader(bytes.subarray(LENGTH_PREFIX_BYTES, dataStart), reject);

  const metadata = readMetadata(header, reject);
  const entries: HeaderEntry[] = [];
  for (const name of Object.keys(header)) {
    if (name !== METADATA_KEY) entries.push(readEntry(op, where, name, header[name], dataLength));
  }
  checkCoverage(entries, dataLength, reject);

  const tensors: Record<string, Tensor> = {};
  for (const entry of entries) {
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    const storage = entry.dtype.decode(raw, entry.numel, (message) => reject(`tensor ${JSON.stringify(entry.name)} (${entry.dtypeName}, shape ${fmtShape(entry.shape)}): ${message}`));
    const tensor = new Tensor(storage, Layout.contiguous(entry.shape), entry.dtype.loadsAs);
    // defineProperty, not assignment, so that a tensor named "__proto__" is stored like any other.
    Object.defineProperty(tensors, entry.name, { value: tensor, enumerable: true, writable: true, configurable: true });
  }
  return { tensors, metadata };
}

/** Bytes from a Uint8Array (Node's Buffer included), any other view, or an ArrayBuffer; null otherwise. */
function asBytes(input: unknown): Uint8Array | null {
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  // Checked by tag rather than instanceof so that buffers from another realm (a worker, an iframe) pass.
  const tag = Object.prototype.toString.call(input);
  if (tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]") return new Uint8Array(input as ArrayBuffer);
  return null;
}

function parseHeader(headerBytes: Uint8Array, reject: (message: string) => never): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    return reject("the header is not valid UTF-8 (corrupt file or not safetensors)");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    return reject(`the header is not valid JSON (${(error as Error).message}); it starts with ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    return reject(`the header must be a JSON object mapping tensor names to entries, got ${describe(header)}`);
  }
  return header as Record<string, unknown>;
}

function readMetadata(header: Record<string, unknown>, reject: (message: string) => never): Record<string, string> {
  if (!Object.prototype.hasOwnProperty.call(header, METADATA_KEY)) return {};
  const raw = header[METADATA_KEY];
  if (raw === null) return {}; // how the reference writer's Option::None may be spelled
  if (typeof raw !== "object" || Array.isArray(raw)) reject(`"${METADATA_KEY}" must be an object of strings, got ${describe(raw)}`);
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== "string") reject(`"${METADATA_KEY}" must map strings to strings; key ${JSON.stringify(key)} has ${describe(value)}`);
    Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return metadata;
}

function readEntry(op: string, where: string, name: string, raw: unknown, dataLength: number): HeaderEntry {
  const prefix = `${where}tensor ${JSON.stringify(name)}: `;
  const reject = (message: string): never => fail(op, prefix + message);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) reject(`the entry must be an object with dtype, shape and data_offsets, got ${describe(raw)}`);
  const fields = raw as Record<string, unknown>;
  for (const field of ["dtype", "shape", "data_offsets"]) {
    if (!Object.prototype.hasOwnProperty.call(fields, field)) reject(`the entry has no "${field}" field`);
  }

  if (typeof fields.dtype !== "string") reject(`dtype must be a string such as "F32", got ${describe(fields.dtype)}`);
  const dtypeName = fields.dtype as string;
  const dtype = readableDType(dtypeName) ?? unsupportedDType(op, prefix, dtypeName);

  if (!isIntegerList(fields.shape)) reject(`shape must be a list of non-negative integers, got ${JSON.stringify(fields.shape)}`);
  const shape = fields.shape as number[];
  let numel = 1;
  for (const size of shape) numel *= size;
  const byteCount = numel * dtype.itemsize;
  if (!Number.isSafeInteger(byteCount)) reject(`shape ${fmtShape(shape)} is absurdly large (${byteCount} bytes)`);

  const offsets = fields.data_offsets;
  if (!isIntegerList(offsets) || offsets.length !== 2) reject(`data_offsets must be [begin, end], two non-negative integers, got ${JSON.stringify(offsets)}`);
  const [begin, end] = offsets as number[];
  if (begin > end) reject(`data_offsets [${begin}, ${end}] are reversed (begin > end)`);
  if (end > dataLength) reject(`data_offsets [${begin}, ${end}] run past the end of the ${dataLength}-byte data buffer (truncated file?)`);
  if (end - begin !== byteCount) {
    reject(`${dtypeName} shape ${fmtShape(shape)} needs ${byteCount} bytes (${numel} elements x ${dtype.itemsize}), but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, dtypeName, dtype, shape, numel, begin, end };
}

function isIntegerList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && v >= 0);
}

/** The tensors' byte ranges must tile the data buffer: sorted by start, each begins where the last ended. */
function checkCoverage(entries: HeaderEntry[], dataLength: number, reject: (message: string) => never): void {
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: HeaderEntry | null = null;
  for (const entry of sorted) {
    if (previous !== null && entry.begin < cursor) {
      reject(`tensors ${JSON.stringify(previous.name)} (data_offsets [${previous.begin}, ${previous.end}]) and ${JSON.stringify(entry.name)} (data_offsets [${entry.begin}, ${entry.end}]) overlap`);
    }
    if (entry.begin > cursor) {
      reject(`bytes [${cursor}, ${entry.begin}) of the data buffer belong to no tensor (the format forbids holes; next is ${JSON.stringify(entry.name)} at [${entry.begin}, ${entry.end}])`);
    }
    cursor = entry.end;
    previous = entry;
  }
  if (cursor !== dataLength) {
    reject(`the data buffer ends with ${dataLength - cursor} bytes that belong to no tensor (bytes [${cursor}, ${dataLength}): trailing garbage or a missing header entry)`);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Tensor) return `a Tensor of shape ${fmtShape(value.shape)}`;
  if (typeof value === "object") return `an object (${(value as object).constructor?.name ?? "no prototype"})`;
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value)}`;
  return `${typeof value} ${String(value)}`;
}
