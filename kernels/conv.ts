// The fused convolution: forward pass, backward pass, and their helpers.
import { gemmBlockedPrepacked, gemmPackColumns, gemmPackRows, gemmScratchBytes, gemmTile, gemmTileAdd, MR, NR } from "./gemm";
import { addInto } from "./reduce";
import { laneSum } from "./simd";
import { foldRows, foldTarget, foldTile, geometry, packWindowColumns, packWindowRows, windowColumns } from "./window";

// A share's buffer (bytes from its start): 8 rowInfo entries, one GEMM tile, the column table of
// a task (12 bytes per column, 64-byte aligned), then the packed panels. src/backend/wasm/conv.ts
// sizes it the same way.
// @ts-ignore: decorator
@inline const INFO: usize = 0;
// @ts-ignore: decorator
@inline const TILE: usize = 128;
// @ts-ignore: decorator
@inline const TABLE: usize = 256;

// @ts-ignore: decorator
@inline function roundUp(value: i32, multiple: i32): i32 {
  return (value + multiple - 1) / multiple * multiple;
}

/** Where a share's panels start, after the table of a task's `chunkColumns` columns. */
// @ts-ignore: decorator
@inline function panelsAt(buffer: usize, chunkColumns: i32): usize {
  return buffer + TABLE + <usize>roundUp(12 * chunkColumns, 64);
}

/**
 * Convolution forward, one thread's share, in tasks of `chunk` samples: each task writes its
 * samples' im2col columns [K/g, chunk*L] per group straight into the GEMM's packed panels in the
 * share's buffer (small enough to stay in cache; no columns matrix, no second packing pass) and
 * multiplies the group's weight [O/g, K/g] by them into out [N, O, L] (bias in the GEMM's epilogue).
 * args: unfold's 24 fields (see window.ts; its out and out strides unused), then
 * 24 weight [O, K/g], 25 out, 26 bias (0 = none), 27 groups, 28 outChannels, 29 chunk,
 * 30 share buffers (bufferBytes each, layout above), 31 bufferBytes, 32 GEMM scratch (one per share).
 */
export function convForward(args: usize, tid: i32, nthreads: i32): void {
  const g = geometry(args);
  const batch = g.batch, channels = g.channels;
  const weight = <usize>load<u32>(args, 96), out = <usize>load<u32>(args, 100), bias = <usize>load<u32>(args, 104);
  const groups = load<i32>(args, 108), outChannels = load<i32>(args, 112), chunk = load<i32>(args, 116);
  const buffer = <usize>load<u32>(args, 120) + <usize>tid * <usize>load<u32>(args, 124);
  const scratch = <usize>load<u32>(args, 128) + <usize>tid * <usize>gemmScratchBytes();
  const length = g.oh * g.ow;
  const groupChannels = channels / groups;
  const groupRows = groupChannels * g.kh * g.kw, groupOut = outChannels / groups;
  const table = buffer + TABLE, panels = panelsAt(buffer, chunk * length);
  const tasks = (batch + chunk - 1) / chunk;
  let tabled = 0; // samples the table describes
  for (let t = tid; t < tasks; t += nthreads) {
    const n0 = t * chunk;
    const samples = min(chunk, batch - n0);
    const columns = samples * length;
    if (samples != tabled) windowColumns(args, (tabled = samples), table);
    for (let gi = 0; gi < groups; gi++) {
      packWindowColumns(args, n0, gi * groupChannels, groupChannels, table, columns, panels);
      gemmBlockedPrepacked(
        weight + <usize>(gi * groupOut * groupRows) * 4, groupRows, 1, panels,
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
      sum += laneSum(sum4);
      store<f32>(biasOut + <usize>o * 4, sum);
    }
  }
}

/**
 * Convolution backward, one thread's share, in tasks of `chunk` samples. For its samples, a task
 * (1) when weight partials are wanted, writes their transposed im2col columns per group straight
 * into the GEMM's packed panels, multiplies gradRows[:, its columns] @ columns^T [O/g, K/g] into
 * the share's product buffer and adds that into the share's weight-gradient partial (the caller
 * sums the partials with reduce.ts's sumPartials; summing whole task products keeps the result
 * the same whether the tasks run as one share or one share each), and
 * (2) when the input gradient is wanted, multiplies each group's transposed weight [K/g, O/g] by
 * the same gradient rows one register tile at a time and adds each tile straight into the
 * samples' planes of the input gradient [N, C, H, W] (col2im in the GEMM's epilogue: no columns
 * matrix; a tile is 4 channels at one kernel offset, so its rows are 4 planes' rows, added from
 * registers). Both steps read the task's gradient rows while they are in cache, and no batch-sized
 * buffer is needed.
 * args: unfold's 24 fields (see window.ts; its out fields unused; x = the forward input), then
 * 24 fold args block (fold's 22 fields, only out = the input gradient and the geometry used) or 0
 * for no input gradient, 25 weight [O, K/g], 26 gradient rows [O, N*L], 27 groups,
 * 28 outChannels, 29 chunk, 30 share buffers (bufferBytes each, layout above), 31 bufferBytes,
 * 32 GEMM scratch (one per share), 33 weight-gradient partials ([O, K/g] per share, 0 = none),
 * 34 a product buffer per share (O * K/g floats each).
 */
export function convBackward(args: usize, tid: i32, nthreads: i32): void {
  const g = geometry(args);
  const batch = g.batch, channels = g.channels;
  const foldArgs = <usize>load<u32>(args, 96), weight = <usize>load<u32>(args, 100), gradRows = <usize>load<u32>(args, 104);
  const groups = load<i32>(args, 108), outChannels = load<i32>(args, 112), chunk = load<i32>(args, 116);
  const buffer = <usize>load<u32>(args, 120) + <usize>tid * <usize>load<u32>(args, 124);
  const scratch = <usize>load<u32>(args, 128) + <usize>tid * <usize>gemmScratchBytes();
  const length = g.oh * g.ow;
  const allColumns = batch * length;
  const groupChannels = channels / groups;
  const groupRows = groupChannels * g.kh * g.kw, groupOut = outChannels / groups;
  const weightSize = <usize>(outChannels * groupRows);
  const partials = <usize>load<u32>(args, 132);
  const partial = partials + <usize>tid * weightSize * 4;
  const product = <usize>load<u32>(args, 136) + <usize>tid * weightSize * 4;
  if (partials != 0) memory.fill(partial, 0, weightSize * 4);
  const plane = g.h * g.w, sampleSize = <usize>(channels * plane);
  const info = buffer + INFO, tile = buffer + TILE, table = buffer + TABLE;
  const chunkColumns = chunk * length;
  const panels = panelsAt(buffer, chunkColumns);
  // The input gradient's packed weight^T (every group's, packed once per share) follows the
  // larger of the task's two panel sets.
  const panelBytes = max(roundUp(groupRows, NR) * chunkColumns * 4, groupOut * roundUp(chunkColumns, NR) * 4);
  const packedWeight = panels + <usize>roundUp(panelBytes, 64);
  const kk = g.kh * g.kw, offsetRows = roundUp(groupChannels, MR);
  const groupWeightFloats = kk * offsetRows * groupOut;
  if (foldArgs != 0) {
    // weight^T's rows (c, ki, kj) regrouped by kernel offset (ki, kj), each offset's channels a
    // whole number of register tiles (see window.ts's foldRows).
    for (let gi = 0; gi < groups; gi++) {
      for (let offset = 0; offset < kk; offset++) {
        gemmPackRows(
          weight + <usize>(gi * groupOut * groupRows + offset) * 4, kk, groupRows, groupChannels, groupOut,
          packedWeight + <usize>(gi * groupWeightFloats + offset * offsetRows * groupOut) * 4);
      }
    }
  }
  const tasks = (batch + chunk - 1) / chunk;
  let tabled = 0; // samples the table describes
  for (let t = tid; t < tasks; t += nthreads) {
    const n0 = t * chunk;
    const samples = min(chunk, batch - n0);
    const columns = samples * length;
    const rows = gradRows + <usize>(n0 * length) * 4;
    if (samples != tabled) windowColumns(args, (tabled = samples), table);
    if (partials != 0) {
      // [O/g, columns] @ columns^T [columns, K/g] per group, into `product`, then summed into the partial.
      for (let gi = 0; gi < groups; gi++) {
        packWindowRows(args, n0, gi * groupChannels, groupChannels, table, columns, info, panels);
        gemmBlockedPrepacked(
          rows + <usize>(gi * groupOut) * <usize>allColumns * 4, allColumns, 1, panels,
          product + <usize>(gi * groupOut * groupRows) * 4, groupRows, groupRows, 0,
          groupOut, groupRows, columns, 0, scratch);
      }
      addInto(partial, product, weightSize);
    }
    if (foldArgs != 0) {
      memory.fill(<usize>load<u32>(foldArgs, 20) + <usize>n0 * sampleSize * 4, 0, <usize>samples * sampleSize * 4);
      for (let gi = 0; gi < groups; gi++) {
        const c0 = gi * groupChannels;
        gemmPackColumns(rows + <usize>(gi * groupOut) * <usize>allColumns * 4, allColumns, 1, groupOut, 0, columns, panels);
        for (let offset = 0; offset < kk; offset++) {
          const ki = offset / g.kw, kj = offset - ki * g.kw;
          for (let c = 0; c < groupChannels; c += MR) {
            const count = min(MR, groupChannels - c);
            foldRows(foldArgs, ki, kj, c0 + c, count, info);
            const packedRows = packedWeight + <usize>(gi * groupWeightFloats + (offset * offsetRows + c) * groupOut) * 4;
            for (let j = 0; j < columns; j += NR) {
              const packedColumns = panels + <usize>(j * groupOut) * 4;
              const target = count == MR ? foldTarget(foldArgs, info, table, j, columns, n0) : 0;
              if (target != 0) {
                gemmTileAdd(groupOut, packedRows, packedColumns, target, <usize>plane * 4);
              } else {
                gemmTile(groupOut, packedRows, packedColumns, tile);
                foldTile(foldArgs, tile, info, count, table, j, columns, n0);
              }
            }
          }
        }
      }
    }
  }
}
