/**
 * Sinusoidal positional encoding (Vaswani et al.; the lectures' "positional encoding"):
 *   PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d)),
 * added to the input, followed by dropout. Laid out as the PyTorch tutorial's PositionalEncoding
 * (buffer `pe` of shape [maxLen, 1, dModel]), so its checkpoints load unchanged.
 */
import { fail, fmtShape } from "../../core/errors.js";
import { Layout } from "../../core/layout.js";
import { Tensor } from "../../tensor/tensor.js";
import { dropout } from "../functional/linear.js";
import { Module, pyFloat } from "../module.js";

export interface SinusoidalPositionalEncodingOptions {
  /** Longest sequence supported (default 5000). */
  maxLen?: number;
  /** Dropout after adding the encoding, in training (default 0.1, as the tutorial). */
  dropout?: number;
  /** Input is [N, L, dModel] instead of [L, N, dModel] (default false). */
  batchFirst?: boolean;
}

export class SinusoidalPositionalEncoding extends Module {
  readonly dModel: number;
  readonly maxLen: number;
  readonly p: number;
  readonly batchFirst: boolean;
  declare pe: Tensor;

  constructor(dModel: number, options: SinusoidalPositionalEncodingOptions = {}) {
    super();
    const maxLen = options.maxLen ?? 5000;
    if (!Number.isInteger(dModel) || dModel < 1) fail("SinusoidalPositionalEncoding", `dModel must be a positive integer, got ${dModel}`);
    if (!Number.isInteger(maxLen) || maxLen < 1) fail("SinusoidalPositionalEncoding", `maxLen must be a positive integer, got ${maxLen}`);
    const p = options.dropout ?? 0.1;
    if (!(p >= 0 && p <= 1)) fail("SinusoidalPositionalEncoding", `dropout must be in [0, 1], got ${p}`);
    this.dModel = dModel;
    this.maxLen = maxLen;
    this.p = p;
    this.batchFirst = options.batchFirst ?? false;
    const values = new Float32Array(maxLen * dModel);
    for (let pos = 0; pos < maxLen; pos++) {
      for (let i = 0; i < dModel; i += 2) {
        // The tutorial's div_term: exp(2i * -ln(10000) / d), in float32 like PyTorch.
        const angle = pos * Math.fround(Math.exp(Math.fround(i * Math.fround(-Math.log(10000) / dModel))));
        values[pos * dModel + i] = Math.sin(Math.fround(angle));
        if (i + 1 < dModel) values[pos * dModel + i + 1] = Math.cos(Math.fround(angle));
      }
    }
    this.registerBuffer("pe", new Tensor(values, Layout.contiguous([maxLen, 1, dModel]), "float32"));
  }

  /** x [L, N, dModel] (or [N, L, dModel] with batchFirst) -> dropout(x + PE[:L]). */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.dModel) fail("SinusoidalPositionalEncoding", `expected input of shape [*, *, ${this.dModel}], got ${fmtShape(x.shape)}`);
    const length = x.shape[this.batchFirst ? 1 : 0];
    if (length > this.maxLen) fail("SinusoidalPositionalEncoding", `sequence length ${length} exceeds maxLen ${this.maxLen}`);
    const pe = this.pe.narrow(0, 0, length);
    const out = x.add(this.batchFirst ? pe.transpose(0, 1) : pe);
    return dropout(out, { p: this.p, training: this.training });
  }

  override extraRepr(): string {
    return `d_model=${this.dModel}, max_len=${this.maxLen}, dropout=${pyFloat(this.p)}`;
  }
}
