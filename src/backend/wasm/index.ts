import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { Backend, WindowGeometry } from "../backend.js";
import { jsBackend } from "../js/index.js";
import { registerBackend } from "../registry.js";
import { matmulOn } from "./matmul.js";
import { wasmRuntime, wasmSupported } from "./runtime.js";
import { foldOn, unfoldOn } from "./window.js";

// Below these sizes copying operands in and out costs more than the wasm kernel saves
// (measured with bench/kernels.ts); the JS kernel runs instead.
const MIN_MATMUL_MACS = 4096;
const MIN_WINDOW_ELEMENTS = 16 * 1024;

/**
 * The WebAssembly backend: SIMD (relaxed-SIMD FMA where the engine validates it) kernels on all
 * cores for the ops whose time dominates training (GEMM, im2col, col2im); every other op is the
 * JS reference kernel, as fast for memory-bound work that would otherwise be copied in and out.
 */
export const wasmBackend: Backend = {
  ...jsBackend,
  name: "wasm",
  matmul(a: Storage, al: Layout, b: Storage, bl: Layout): Storage {
    if (al.shape[0] * al.shape[1] * al.shape[2] * bl.shape[2] < MIN_MATMUL_MACS) return jsBackend.matmul(a, al, b, bl);
    return matmulOn(wasmRuntime(), a, al, b, bl);
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
