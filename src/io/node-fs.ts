/**
 * File access for Node, reached without a static `import "node:fs"` so that bundlers and
 * browsers can load flint; calling it outside Node throws a clear error instead.
 */
import { fail } from "../core/errors.js";

type NodeFs = typeof import("node:fs");
type NodePath = typeof import("node:path");

interface NodeProcess {
  pid: number;
  getBuiltinModule?: (id: string) => unknown;
}

function nodeProcess(op: string): Required<NodeProcess> {
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (typeof proc?.getBuiltinModule !== "function") {
    fail(op, "reading and writing files needs Node.js >= 20.16 (process.getBuiltinModule); in a browser, use flint.io.serializeSafetensors / flint.io.deserializeSafetensors on bytes");
  }
  return proc as Required<NodeProcess>;
}

function nodeFs(op: string): { fs: NodeFs; path: NodePath; pid: number } {
  const proc = nodeProcess(op);
  return { fs: proc.getBuiltinModule("node:fs") as NodeFs, path: proc.getBuiltinModule("node:path") as NodePath, pid: proc.pid };
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads a whole file; errors name the op and the file. */
export function readFileBytes(op: string, file: string): Uint8Array {
  const { fs } = nodeFs(op);
  try {
    return fs.readFileSync(file);
  } catch (error) {
    return fail(op, `cannot read ${JSON.stringify(file)}: ${reason(error)}`);
  }
}

/**
 * Replaces `file` with `bytes` so that a crash at any moment leaves either the old file or the
 * complete new one: the bytes go to a temporary file in the same directory (so the rename stays
 * on one file system), are flushed to disk, and only then renamed over the target, which is
 * atomic. A symlinked target is followed, so the link survives and its destination is replaced.
 */
export function writeFileAtomically(op: string, file: string, bytes: Uint8Array): void {
  const { fs, path, pid } = nodeFs(op);
  const target = followSymlink(fs, file);
  const directory = path.dirname(target);
  const suffix = Math.floor(Math.random() * 2 ** 32).toString(36);
  const temporary = path.join(directory, `.${path.basename(target)}.${pid}-${suffix}.tmp`);
  let descriptor: number | null = null;
  try {
    descriptor = fs.openSync(temporary, "wx", 0o666); // "wx": never clobber an existing file
    const keptMode = existingMode(fs, target);
    if (keptMode !== null) fs.fchmodSync(descriptor, keptMode);
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(descriptor, bytes, written, bytes.length - written);
    fs.fsyncSync(descriptor);
    fs.closeSync(descriptor);
    descriptor = null;
    fs.renameSync(temporary, target);
  } catch (error) {
    if (descriptor !== null) ignoreErrors(() => fs.closeSync(descriptor as number));
    ignoreErrors(() => fs.unlinkSync(temporary));
    fail(op, `cannot write ${JSON.stringify(file)}: ${reason(error)}`);
  }
  // Makes the rename itself durable; directories cannot be opened this way on every platform.
  ignoreErrors(() => {
    const directoryDescriptor = fs.openSync(directory, "r");
    try {
      fs.fsyncSync(directoryDescriptor);
    } finally {
      fs.closeSync(directoryDescriptor);
    }
  });
}

function followSymlink(fs: NodeFs, file: string): string {
  try {
    return fs.lstatSync(file).isSymbolicLink() ? fs.realpathSync(file) : file;
  } catch {
    return file; // absent (a new file) or a dangling link: write at the given path
  }
}

/** The permission bits of the file being replaced, so that saving over it keeps them. */
function existingMode(fs: NodeFs, file: string): number | null {
  try {
    return fs.statSync(file).mode & 0o7777;
  } catch {
    return null;
  }
}

function ignoreErrors(action: () => void): void {
  try {
    action();
  } catch {
    // best effort only
  }
}
