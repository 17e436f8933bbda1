// Helpers shared by the io tests.
import assert from "node:assert/strict";
import * as flint from "../../src/index.js";

/** Asserts `fn` throws a FlintError whose message (without the class name) matches `message`. */
export function assertThrowsFlint(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof flint.FlintError, `expected a FlintError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}
