// The kernels module's exports. Every threaded kernel takes (args, tid, nthreads): `args` points
// at its fields in linear memory, and each of the nthreads callers computes its own share.
export { matmul, gemmScratchBytes } from "./gemm";
export { unfold, fold } from "./window";
export { binary, unary } from "./elementwise";
export { reduce } from "./reduce";
