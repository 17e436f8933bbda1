import type { Storage } from "../../core/dtype.js";
import type { Backend } from "../backend.js";
import { registerBackend } from "../registry.js";
import { assign, binary, copy, unary, where } from "./elementwise.js";
import { attentionBackward, attentionForward } from "./attention.js";
import { gather, indexAdd, indexSelect, scatter } from "./indexing.js";
import { conv2d, conv2dBackward } from "./conv.js";
import { matmul } from "./matmul.js";
import { layerNorm, layerNormBackward } from "./normalization.js";
import { additiveAttention, additiveAttentionBackward } from "./additive-attention.js";
import { crossEntropyBackward, crossEntropyForward } from "./loss.js";
import { adamUpdate, sgdMomentumUpdate } from "./optim.js";
import { avgPool, avgPoolBackward, conv2dBackwardFromMaxPool, conv2dMaxPool, maxPool, maxPoolBackward } from "./pool.js";
import { recurrenceBackward, recurrenceForward } from "./recurrent.js";
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
  conv2d,
  conv2dBackward,
  conv2dBackwardFromMaxPool,
  maxPool,
  conv2dMaxPool,
  maxPoolBackward,
  avgPool,
  avgPoolBackward,
  recurrenceForward,
  recurrenceBackward,
  // The saved tensors are plain arrays: the garbage collector frees them.
  recurrenceRelease() {},
  // Results are plain arrays that outlive any scope.
  openResultScope() {},
  closeResultScope() {},
  keptInScope: () => false,
  keepAfterScope: (storage: Storage) => storage,
  allocateState: (length: number) => new Float32Array(length),
  adamUpdate,
  sgdMomentumUpdate,
  attentionForward,
  attentionBackward,
  crossEntropyForward,
  crossEntropyBackward,
  layerNorm,
  layerNormBackward,
  additiveAttention,
  additiveAttentionBackward,
};

registerBackend("js", () => jsBackend);
