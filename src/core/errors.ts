/** Every error flint throws on bad input: the message names the op and the offending values. */
export class FlintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlintError";
  }
}

/** Throws a FlintError prefixed with the op's name, e.g. `matmul: shapes [2, 3] and [4, 5] ...`. */
export function fail(op: string, message: string): never {
  throw new FlintError(`${op}: ${message}`);
}

/** Formats a shape the way error messages show it: `[2, 3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
