import type { DType, Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { Backend, BinaryOp, ReduceOp, UnaryOp, WindowGeometry } from "../backend.js";
import { jsBackend } from "../js/index.js";
import { registerBackend } from "../registry.js";
import { binaryOn, unaryOn, wasmBinaryHandles, wasmUnaryHandles } from "./elementwise.js";
import { matmulOn } from "./matmul.js";
import { reduceOn, wasmReduceHandles } from "./reduce.js";
import { wasmRuntime, wasmSupported } from "./runtime.js";
import { foldOn, unfoldOn } from "./window.js";

// Below these sizes copying operands in and out costs more than the wasm kernel saves
// (measured with bench/kernels.ts); the JS kernel runs instead.
const MIN_MATMUL_MACS = 4096;
const MIN_WINDOW_ELEMENTS = 16 * 1024;
const MIN_ELEMENTWISE = 2048;

/**
 * The WebAssembly backend: SIMD (relaxed-SIMD FMA where the engine validates it) kernels on all
 * cores for the ops whose time shows in the training profiles (GEMM, im2col, col2im, the common
 * float32 elementwise ops, sum/max/min/argmax/argmin reductions); every other op, and inputs
 * too small to repay copying them into wasm memory, run on the JS reference kernels.
 */
export const wasmBackend: Backend = {
  ...jsBackend,
  name: "wasm",
  matmul(a: Storage, al: Layout, b: Storage, bl: Layout): Storage {
    if (al.shape[0] * al.shape[1] * al.shape[2] * bl.shape[2] < MIN_MATMUL_MACS) return jsBackend.matmul(a, al, b, bl);
    return matmulOn(wasmRuntime(), a, al, b, bl);
  },
  binary(op: BinaryOp, a: Storage, al: Layout, b: Storage, bl: Layout, outDtype: DType): Storage {
    if (al.size >= MIN_ELEMENTWISE && a instanceof Float32Array && b instanceof Float32Array && wasmBinaryHandles(op, outDtype)) {
      const out = binaryOn(wasmRuntime(), op, a, al, b, bl);
      if (out !== null) return out;
    }
    return jsBackend.binary(op, a, al, b, bl, outDtype);
  },
  unary(op: UnaryOp, x: Storage, xl: Layout, outDtype: DType): Storage {
    if (xl.size >= MIN_ELEMENTWISE && x instanceof Float32Array && wasmUnaryHandles(op, outDtype)) {
      const out = unaryOn(wasmRuntime(), op, x, xl);
      if (out !== null) return out;
    }
    return jsBackend.unary(op, x, xl, outDtype);
  },
  reduce(op: ReduceOp, x: Storage, xl: Layout, dims: readonly number[]): Storage {
    if (xl.size >= MIN_ELEMENTWISE && x instanceof Float32Array && wasmReduceHandles(op)) {
      const out = reduceOn(wasmRuntime(), op, x, xl, dims);
      if (out !== null) return out;
    }
    return jsBackend.reduce(op, x, xl, dims);
  },
  unfold(x: Storage, xl: Layout, g: WindowGeometry): Storage {
    if (xl.size < MIN_WINDOW_ELEMENTS || !(x instanceof Float32Array)) return jsBackend.unfold(x, xl, g);
    return unfoldOn(wasmRuntime(), x, xl, g);
  },
  fold(cols: Storage, colsLayout: Layout, g: WindowGeometry): Storage {
    if (colsLayout.size < MIN_WINDOW_ELEMENTS || !(cols instanceof Float32Array)) return jsBackend.fold(cols, colsLayout, g);
    return foldOn(wasmRuntime(), cols, colsLayout, g);
  },
};

if (wasmSupported()) registerBackend("wasm", () => wasmBackend);
