// The fused convolution: forward pass, backward pass, and their helpers.
import { gemmBlocked, gemmScratchBytes } from "./gemm";
import { addInto } from "./reduce";
import { foldPlane, geometry, unfoldPlane } from "./window";

/**
 * Convolution forward, one thread's share, in tasks of `chunk` samples: each task writes its
 * samples' im2col columns [K, chunk*L] into the thread's own buffer, small enough to stay in
 * cache, and multiplies each group's weight [O/g, K/g] by them straight into out [N, O, L]
 * (bias in the GEMM's epilogue), so the columns never travel through memory.
 * args: unfold's 24 fields (see window.ts; its out and out strides unused), then
 * 24 weight [O, K/g], 25 out, 26 bias (0 = none), 27 groups, 28 outChannels, 29 chunk,
 * 30 column buffers (colsBytes each, one per share), 31 colsBytes, 32 GEMM scratch (one per share).
 */
export function convForward(args: usize, tid: i32, nthreads: i32): void {
  const g = geometry(args);
  const batch = g.batch, channels = g.channels;
  const weight = <usize>load<u32>(args, 96), out = <usize>load<u32>(args, 100), bias = <usize>load<u32>(args, 104);
  const groups = load<i32>(args, 108), outChannels = load<i32>(args, 112), chunk = load<i32>(args, 116);
  const cols = <usize>load<u32>(args, 120) + <usize>tid * <usize>load<u32>(args, 124);
  const scratch = <usize>load<u32>(args, 128) + <usize>tid * <usize>gemmScratchBytes();
  const length = g.oh * g.ow;
  const groupRows = (channels / groups) * g.kh * g.kw, groupOut = outChannels / groups;
  const tasks = (batch + chunk - 1) / chunk;
  for (let t = tid; t < tasks; t += nthreads) {
    const n0 = t * chunk;
    const samples = min(chunk, batch - n0);
    const columns = samples * length;
    for (let q = n0 * channels; q < (n0 + samples) * channels; q++) unfoldPlane(args, q, cols, length, columns, n0);
    for (let gi = 0; gi < groups; gi++) {
      gemmBlocked(
        weight + <usize>(gi * groupOut * groupRows) * 4, groupRows, 1,
        cols + <usize>(gi * groupRows) * <usize>columns * 4, columns, 1,
        out + (<usize>n0 * <usize>(outChannels * length) + <usize>(gi * groupOut * length)) * 4, length, length, outChannels * length,
        groupOut, columns, groupRows, bias != 0 ? bias + <usize>(gi * groupOut) * 4 : 0, scratch);
    }
  }
}

/**
 * The output gradient g [N, O, L] (any strides) rearranged as gT [O, N*L] contiguous, the left
 * operand of the weight-gradient GEMM dW = gT @ columns^T, and, when `biasOut` is not 0, the
 * bias gradient biasOut[o] = sum over n, l of g[n, o, l]. One output channel per task.
 * args: [g, gsN, gsO, gsL, out, biasOut, N, O, L].
 */
export function convGradRows(args: usize, tid: i32, nthreads: i32): void {
  const g = <usize>load<u32>(args);
  const sn = load<i32>(args, 4), so = load<i32>(args, 8), sl = load<i32>(args, 12);
  const out = <usize>load<u32>(args, 16);
  const biasOut = <usize>load<u32>(args, 20);
  const batch = load<i32>(args, 24), channels = load<i32>(args, 28), length = load<i32>(args, 32);
  for (let o = tid; o < channels; o += nthreads) {
    let dst = out + <usize>o * <usize>batch * <usize>length * 4;
    let sum4 = f32x4.splat(0);
    let sum: f32 = 0;
    for (let n = 0; n < batch; n++) {
      const src = g + (<usize>(n * sn) + <usize>(o * so)) * 4;
      let l = 0;
      if (sl == 1) {
        for (; l + 4 <= length; l += 4) {
          const v = v128.load(src + <usize>l * 4);
          v128.store(dst + <usize>l * 4, v);
          sum4 = f32x4.add(sum4, v);
        }
      }
      for (; l < length; l++) {
        const v = load<f32>(src + <usize>(l * sl) * 4);
        store<f32>(dst + <usize>l * 4, v);
        sum += v;
      }
      dst += <usize>length * 4;
    }
    if (biasOut != 0) {
      sum += f32x4.extract_lane(sum4, 0) + f32x4.extract_lane(sum4, 1) + f32x4.extract_lane(sum4, 2) + f32x4.extract_lane(sum4, 3);
      store<f32>(biasOut + <usize>o * 4, sum);
    }
  }
}

/**
 * Convolution backward, one thread's share, in tasks of `chunk` samples. For its samples, a task
 * (1) when weight partials are wanted, writes their im2col columns [K, chunk*L] into the thread's
 * own buffer and adds gradRows[:, its columns] @ columns^T [O/g, K/g] per group into the share's
 * weight-gradient partial (the caller sums the partials with reduce.ts's sumPartials), and (2) when the input gradient is
 * wanted, multiplies each group's transposed weight [K/g, O/g] by the same gradient rows into that
 * buffer and col2im sums it into the samples' planes of the input gradient [N, C, H, W]. Both steps
 * read the task's gradient rows while they are in cache, and no batch-sized buffer is needed.
 * args: unfold's 24 fields (see window.ts; its out fields unused; x = the forward input), then
 * 24 fold args block (fold's 22 fields: cols fields 0, unused, chunk*L, 1; out = the input
 * gradient) or 0 for no input gradient, 25 weight [O, K/g], 26 gradient rows [O, N*L], 27 groups,
 * 28 outChannels, 29 chunk, 30 column buffers (colsBytes each, one per share), 31 colsBytes,
 * 32 GEMM scratch (one per share), 33 weight-gradient partials ([O, K/g] per share, 0 = none),
 * 34 a product buffer per share (O * K/g floats each).
 */
export function convBackward(args: usize, tid: i32, nthreads: i32): void {
  const g = geometry(args);
  const batch = g.batch, channels = g.channels;
  const foldArgs = <usize>load<u32>(args, 96), weight = <usize>load<u32>(args, 100), gradRows = <usize>load<u32>(args, 104);
  const groups = load<i32>(args, 108), outChannels = load<i32>(args, 112), chunk = load<i32>(args, 116);
  const cols = <usize>load<u32>(args, 120) + <usize>tid * <usize>load<u32>(args, 124);
  const scratch = <usize>load<u32>(args, 128) + <usize>tid * <usize>gemmScratchBytes();
  const length = g.oh * g.ow;
  const allColumns = batch * length;
  const groupRows = (channels / groups) * g.kh * g.kw, groupOut = outChannels / groups;
  const weightSize = <usize>(outChannels * groupRows);
  const partials = <usize>load<u32>(args, 132);
  const partial = partials + <usize>tid * weightSize * 4;
  const product = <usize>load<u32>(args, 136) + <usize>tid * weightSize * 4;
  if (partials != 0) memory.fill(partial, 0, weightSize * 4);
  const chunkColumns = chunk * length; // the buffer's row stride
  const tasks = (batch + chunk - 1) / chunk;
  for (let t = tid; t < tasks; t += nthreads) {
    const n0 = t * chunk;
    const samples = min(chunk, batch - n0);
    const columns = samples * length;
    const rows = gradRows + <usize>(n0 * length) * 4;
    if (partials != 0) {
      for (let q = n0 * channels; q < (n0 + samples) * channels; q++) unfoldPlane(args, q, cols, length, chunkColumns, n0);
      // [O/g, columns] @ columns^T [columns, K/g] per group, into `product`, then summed into the partial.
      for (let gi = 0; gi < groups; gi++) {
        gemmBlocked(
          rows + <usize>(gi * groupOut) * <usize>allColumns * 4, allColumns, 1,
          cols + <usize>(gi * groupRows) * <usize>chunkColumns * 4, 1, chunkColumns,
          product + <usize>(gi * groupOut * groupRows) * 4, groupRows, groupRows, 0,
          groupOut, groupRows, columns, 0, scratch);
      }
      addInto(partial, product, weightSize);
    }
    if (foldArgs != 0) {
      for (let gi = 0; gi < groups; gi++) {
        gemmBlocked(
          weight + <usize>(gi * groupOut * groupRows) * 4, 1, groupRows,
          rows + <usize>(gi * groupOut) * <usize>allColumns * 4, allColumns, 1,
          cols + <usize>(gi * groupRows) * <usize>chunkColumns * 4, chunkColumns, columns, 0,
          groupRows, columns, groupOut, 0, scratch);
      }
      for (let q = n0 * channels; q < (n0 + samples) * channels; q++) foldPlane(foldArgs, q, cols, length, n0);
    }
  }
}
