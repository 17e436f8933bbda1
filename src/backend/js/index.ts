import type { Backend } from "../backend.js";
import { registerBackend } from "../registry.js";
import { assign, binary, copy, unary, where } from "./elementwise.js";
import { gather, indexAdd, indexSelect, scatter } from "./indexing.js";
import { matmul } from "./matmul.js";
import { reduce } from "./reduce.js";
import { fold, unfold } from "./window.js";

/** The reference backend: plain JavaScript over typed arrays, correct for any strides. The test oracle. */
export const jsBackend: Backend = {
  name: "js",
  unary,
  binary,
  where,
  copy,
  assign,
  reduce,
  matmul,
  indexSelect,
  indexAdd,
  gather,
  scatter,
  unfold,
  fold,
};

registerBackend("js", () => jsBackend);
