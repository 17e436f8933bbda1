/**
 * Recurrent layers: RNN (tanh / relu), GRU, LSTM, their single-step cells, and the lectures'
 * LeakyRNN. Parameters carry PyTorch's names and layouts (`weight_ih_l0` [G*H, in],
 * `weight_hh_l0` [G*H, H], `bias_ih_l0`, `bias_hh_l0`, `..._reverse` for the backward direction)
 * with PyTorch's gate order (LSTM i, f, g, o; GRU r, z, n), so state dicts interchange.
 *
 * Each layer-direction projects all time steps with one matmul and runs the time loop as one
 * fused op (see functional/recurrent.ts).
 *
 * Variable-length batches: pass `{ lengths }` (one valid length per batch entry, e.g. from
 * text.padBatch) as the last argument of forward. It does what a PackedSequence does in PyTorch:
 * outputs past a sequence's length are zero and the final state is taken at its last valid step
 * (the reverse direction starts there too). For code ported from PyTorch, packPaddedSequence /
 * padPackedSequence / packSequence / padSequence work as torch.nn.utils.rnn's; flint's
 * PackedSequence is the padded tensor plus the lengths (not PyTorch's interleaved `data` layout).
 */
import { noGrad } from "../../autograd/grad-mode.js";
import { fail, fmtShape } from "../../core/errors.js";
import { where } from "../../ops/elementwise.js";
import { cat, stack } from "../../ops/shape.js";
import { arange, full, tensor, zeros } from "../../tensor/creation.js";
import { Tensor } from "../../tensor/tensor.js";
import { dropout, linear } from "../functional/linear.js";
import { fusedRecurrence, gateCount, type RecurrentCellKind } from "../functional/recurrent.js";
import * as init from "../init.js";
import { Module, pyBool, pyFloat } from "../module.js";
import { Parameter, parameterData } from "../parameter.js";

export interface RNNBaseOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Use bias_ih and bias_hh (default true). */
  bias?: boolean;
  /** Input and output are [batch, seq, feature] instead of [seq, batch, feature] (default false). */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, in training (default 0). */
  dropout?: number;
  /** Add a reverse-direction layer per layer; outputs are concatenated [forward, backward] (default false). */
  bidirectional?: boolean;
  /** LSTM only: project h to this size with `weight_hr_l{k}` [projSize, H] (default 0: no projection). */
  projSize?: number;
}

export interface RNNOptions extends RNNBaseOptions {
  nonlinearity?: "tanh" | "relu";
}

export interface RecurrentForwardOptions {
  /** Valid length of each batch entry (an array or a 1-D int tensor); the rest is padding. */
  lengths?: readonly number[] | Tensor | null;
}

function checkSize(op: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) fail(op, `${name} must be an integer >= ${min}, got ${v}`);
}

function lengthsArray(op: string, lengths: RecurrentForwardOptions["lengths"]): number[] | null {
  if (lengths === undefined || lengths === null) return null;
  if (lengths instanceof Tensor) {
    if (lengths.ndim !== 1) fail(op, `lengths must be 1-D, got shape ${fmtShape(lengths.shape)}`);
    return Array.from(lengths.data() as ArrayLike<number>);
  }
  return lengths.slice();
}

// ---- torch.nn.utils.rnn-style helpers ------------------------------------------------------

/**
 * A batch of variable-length sequences: `padded` is [T, B, *] (time first, whatever the layer's
 * batchFirst) and `lengths[b]` the valid length of entry b, in batch order. Recurrent layers take
 * one in place of their input and return the output as one.
 */
export class PackedSequence {
  constructor(readonly padded: Tensor, readonly lengths: readonly number[]) {
    if (padded.ndim < 2 || padded.shape[1] !== lengths.length) fail("PackedSequence", `padded data of shape ${fmtShape(padded.shape)} does not hold ${lengths.length} sequences along dim 1`);
  }
}

/** Pads a list of [L_i, *] tensors to [maxL, B, *] ([B, maxL, *] with batchFirst). */
export function padSequence(sequences: Tensor[], options: { batchFirst?: boolean; paddingValue?: number } = {}): Tensor {
  if (sequences.length === 0) fail("padSequence", "expected a non-empty list of sequences");
  const maxLen = Math.max(...sequences.map((seq) => (seq.ndim === 0 ? fail("padSequence", "sequences must have at least 1 dim") : seq.shape[0])));
  const padValue = options.paddingValue ?? 0;
  const padded = sequences.map((seq) => {
    const rest = seq.shape.slice(1);
    if (rest.some((d, i) => d !== sequences[0].shape[i + 1])) fail("padSequence", `sequences must share trailing dims, got ${fmtShape(sequences[0].shape)} and ${fmtShape(seq.shape)}`);
    return seq.shape[0] === maxLen ? seq : cat([seq, full([maxLen - seq.shape[0], ...rest], padValue, { dtype: seq.dtype })], 0);
  });
  return stack(padded, options.batchFirst ? 0 : 1);
}

/**
 * Marks a padded batch [T, B, *] ([B, T, *] with batchFirst) as holding sequences of `lengths`.
 * With enforceSorted (the default, as in PyTorch) the lengths must be non-increasing.
 */
export function packPaddedSequence(input: Tensor, lengths: readonly number[] | Tensor, options: { batchFirst?: boolean; enforceSorted?: boolean } = {}): PackedSequence {
  const op = "packPaddedSequence";
  const lens = lengthsArray(op, lengths) as number[];
  if (input.ndim < 2) fail(op, `expected an input with at least 2 dims, got shape ${fmtShape(input.shape)}`);
  const data = options.batchFirst ? input.transpose(0, 1) : input;
  const [T, B] = data.shape;
  if (lens.length !== B) fail(op, `expected ${B} lengths (one per batch entry), got ${lens.length}`);
  for (const len of lens) if (!Number.isInteger(len) || len < 1 || len > T) fail(op, `lengths must be integers in [1, ${T}], got ${len}`);
  if ((options.enforceSorted ?? true) && lens.some((len, i) => i > 0 && len > lens[i - 1])) {
    fail(op, "`lengths` array must be sorted in decreasing order when `enforceSorted` is true; pass { enforceSorted: false } to pack unsorted sequences");
  }
  return new PackedSequence(data.narrow(0, 0, Math.max(...lens)), lens);
}

/** Packs a list of [L_i, *] tensors (PyTorch's pack_sequence). */
export function packSequence(sequences: Tensor[], options: { enforceSorted?: boolean } = {}): PackedSequence {
  return packPaddedSequence(padSequence(sequences), sequences.map((seq) => seq.shape[0]), options);
}

/**
 * The inverse of packPaddedSequence: [padded [T, B, *] (or [B, T, *]), lengths int32 [B]], with
 * `paddingValue` past each length and T extended to `totalLength` when given.
 */
export function padPackedSequence(sequence: PackedSequence, options: { batchFirst?: boolean; paddingValue?: number; totalLength?: number } = {}): [Tensor, Tensor] {
  const op = "padPackedSequence";
  const { padded, lengths } = sequence;
  const T = padded.shape[0];
  const total = options.totalLength ?? T;
  if (!Number.isInteger(total) || total < T) fail(op, `totalLength must be at least the longest sequence (${T}), got ${options.totalLength}`);
  const rest = padded.shape.slice(2);
  const steps = arange(0, total).reshape([total, 1, ...rest.map(() => 1)]);
  const valid = steps.lt(tensor(lengths.slice()).reshape([1, lengths.length, ...rest.map(() => 1)]));
  const extended = total === T ? padded : cat([padded, zeros([total - T, lengths.length, ...rest])], 0);
  let out = where(valid, extended, options.paddingValue ?? 0);
  if (options.batchFirst) out = out.transpose(0, 1);
  return [out, tensor(Int32Array.from(lengths))];
}

/** U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as PyTorch's recurrent layers. */
function resetUniform(params: Parameter[], hiddenSize: number): void {
  const bound = hiddenSize > 0 ? 1 / Math.sqrt(hiddenSize) : 0;
  noGrad(() => {
    for (const p of params) init.uniform(p, { a: -bound, b: bound });
  });
}

/** What forward hands back before the subclass shapes it into PyTorch's tuple. */
interface RecurrentResult {
  output: Tensor | PackedSequence;
  hN: Tensor;
  cN: Tensor | null;
}

/** The multi-layer, optionally bidirectional recurrent net shared by RNN, GRU, LSTM and LeakyRNN. */
export abstract class RNNBase extends Module {
  readonly mode: RecurrentCellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** LSTM projection size (0: none); h has projSize features when > 0. */
  readonly projSize: number;
  /** Leaky-integration step (1 for the standard layers). */
  protected readonly leak: number;

  constructor(mode: RecurrentCellKind, inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}, leak = 1) {
    super();
    const op = this.constructor.name;
    checkSize(op, "inputSize", inputSize, 0);
    checkSize(op, "hiddenSize", hiddenSize, 1);
    const numLayers = options.numLayers ?? 1;
    checkSize(op, "numLayers", numLayers, 1);
    const p = options.dropout ?? 0;
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) fail(op, `dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got ${p}`);
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = numLayers;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = p;
    this.bidirectional = options.bidirectional ?? false;
    const projSize = options.projSize ?? 0;
    if (!Number.isInteger(projSize) || projSize < 0) fail(op, `projSize should be a positive integer or zero to disable projections, got ${projSize}`);
    if (projSize > 0 && mode !== "lstm") fail(op, "projSize is only supported for LSTM, not RNN or GRU");
    if (projSize >= hiddenSize) fail(op, `projSize (${projSize}) has to be smaller than hiddenSize (${hiddenSize})`);
    this.projSize = projSize;
    const stateSize = projSize > 0 ? projSize : hiddenSize;
    this.leak = leak;
    const gh = gateCount(mode) * hiddenSize;
    const directions = this.bidirectional ? 2 : 1;
    // Registration order is PyTorch's, so stateDict() lists keys in the same order.
    for (let layer = 0; layer < numLayers; layer++) {
      for (let d = 0; d < directions; d++) {
        const suffix = this.suffix(layer, d);
        const layerInput = layer === 0 ? inputSize : stateSize * directions;
        this.registerParameter(`weight_ih${suffix}`, new Parameter(parameterData([gh, layerInput])));
        this.registerParameter(`weight_hh${suffix}`, new Parameter(parameterData([gh, stateSize])));
        if (this.bias) {
          this.registerParameter(`bias_ih${suffix}`, new Parameter(parameterData([gh])));
          this.registerParameter(`bias_hh${suffix}`, new Parameter(parameterData([gh])));
        }
        if (projSize > 0) this.registerParameter(`weight_hr${suffix}`, new Parameter(parameterData([projSize, hiddenSize])));
      }
    }
    this.resetParameters();
  }

  private suffix(layer: number, direction: number): string {
    return `_l${layer}${direction === 1 ? "_reverse" : ""}`;
  }

  private param(name: string): Parameter | null {
    return ((this as unknown as Record<string, Parameter | null | undefined>)[name]) ?? null;
  }

  resetParameters(): void {
    resetUniform(this.parameters(), this.hiddenSize);
  }

  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Checks the input and state shapes, runs every layer and direction, restores the input's layout. */
  protected run(source: Tensor | PackedSequence, h0: Tensor | null | undefined, c0: Tensor | null | undefined, options: RecurrentForwardOptions): RecurrentResult {
    const op = `${this.constructor.name}.forward`;
    const packed = source instanceof PackedSequence ? source : null;
    if (packed !== null && options.lengths !== undefined && options.lengths !== null) fail(op, "pass lengths either in the PackedSequence or as an option, not both");
    const input = packed === null ? (source as Tensor) : packed.padded;
    const batchFirst = packed === null && this.batchFirst;
    if (input.dtype !== "float32") fail(op, `expected a float32 input, got ${input.dtype}`);
    if (input.ndim !== 2 && input.ndim !== 3) fail(op, `expected a 2-D (unbatched) or 3-D (batched) input, got shape ${fmtShape(input.shape)}`);
    if (input.shape[input.ndim - 1] !== this.inputSize) fail(op, `input of shape ${fmtShape(input.shape)} should have last dim ${this.inputSize} (inputSize)`);
    const batched = input.ndim === 3;
    // Work in [T, B, F] throughout.
    let x = batched ? (batchFirst ? input.transpose(0, 1) : input) : input.unsqueeze(1);
    const [T, B] = x.shape;
    const stateOf = (name: string, s: Tensor | null | undefined, size: number): Tensor => {
      const stateShape = [this.numLayers * this.numDirections, B, size];
      if (s === null || s === undefined) return zeros(stateShape);
      const expected = batched ? stateShape : [stateShape[0], stateShape[2]];
      if (s.ndim !== expected.length || s.shape.some((d, i) => d !== expected[i])) fail(op, `expected ${name} of shape ${fmtShape(expected)}, got ${fmtShape(s.shape)}`);
      return batched ? s : s.unsqueeze(1);
    };
    const P = this.projSize > 0 ? this.projSize : this.hiddenSize;
    const h = stateOf("hidden state h0", h0, P);
    const c = this.mode === "lstm" ? stateOf("cell state c0", c0, this.hiddenSize) : null;
    const lengths = packed !== null ? packed.lengths.slice() : lengthsArray(op, options.lengths);
    if (lengths !== null && lengths.length !== B) fail(op, `expected ${B} lengths (one per batch entry), got ${lengths.length}`);

    const finalH: Tensor[] = [];
    const finalC: Tensor[] = [];
    for (let layer = 0; layer < this.numLayers; layer++) {
      const outputs: Tensor[] = [];
      for (let d = 0; d < this.numDirections; d++) {
        const suffix = this.suffix(layer, d);
        const index = layer * this.numDirections + d;
        const weightIh = this.param(`weight_ih${suffix}`) as Parameter;
        const biasIh = this.param(`bias_ih${suffix}`);
        // The op projects all time steps' inputs in one GEMM where its time loop runs, and adds b_ih there (summing its gradient too).
        const packed = fusedRecurrence(this.mode, x, this.param(`weight_hh${suffix}`) as Parameter, this.param(`bias_hh${suffix}`), h.select(0, index), {
          weightIh,
          biasIh,
          c0: c === null ? null : c.select(0, index),
          lengths,
          reverse: d === 1,
          leak: this.leak,
          weightHr: this.param(`weight_hr${suffix}`),
        });
        // With a projection, h fills the first P columns of its rows.
        outputs.push(P === this.hiddenSize ? packed.narrow(0, 0, T) : packed.narrow(0, 0, T).narrow(2, 0, P));
        finalH.push(P === this.hiddenSize ? packed.select(0, T) : packed.select(0, T).narrow(1, 0, P));
        if (c !== null) finalC.push(packed.select(0, T + 1));
      }
      x = outputs.length === 1 ? outputs[0] : cat(outputs, 2);
      if (layer < this.numLayers - 1 && this.dropout > 0 && this.training) x = dropout(x, { p: this.dropout, training: true });
    }
    let output = x;
    let hN = stack(finalH, 0);
    let cN = c === null ? null : stack(finalC, 0);
    if (!batched) {
      output = output.squeeze(1);
      hN = hN.squeeze(1);
      cN = cN === null ? null : cN.squeeze(1);
    } else if (batchFirst) {
      output = output.transpose(0, 1);
    }
    return { output: packed === null ? output : new PackedSequence(output, packed.lengths), hN, cN };
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.projSize !== 0) s += `, proj_size=${this.projSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += `, bias=${pyBool(this.bias)}`;
    if (this.batchFirst) s += `, batch_first=${pyBool(this.batchFirst)}`;
    if (this.dropout !== 0) s += `, dropout=${pyFloat(this.dropout)}`;
    if (this.bidirectional) s += `, bidirectional=${pyBool(this.bidirectional)}`;
    return s;
  }
}

/** Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act tanh (default) or relu. */
export class RNN extends RNNBase {
  readonly nonlinearity: "tanh" | "relu";

  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    const nonlinearity = options.nonlinearity ?? "tanh";
    if (nonlinearity !== "tanh" && nonlinearity !== "relu") fail("RNN", `unknown nonlinearity ${JSON.stringify(nonlinearity)} (expected "tanh" or "relu")`);
    super(nonlinearity === "tanh" ? "rnn_tanh" : "rnn_relu", inputSize, hiddenSize, options);
    this.nonlinearity = nonlinearity;
  }

  /** x [T, B, in] (or [B, T, in] with batchFirst, or unbatched [T, in]); h0 [layers*dirs, B, H]. Returns [output, hN]. */
  forward(input: Tensor, h0?: Tensor | null, options?: RecurrentForwardOptions): [Tensor, Tensor];
  forward(input: PackedSequence, h0?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, h0?: Tensor | null, options: RecurrentForwardOptions = {}): [Tensor | PackedSequence, Tensor] {
    const { output, hN } = this.run(input, h0, null, options);
    return [output, hN];
  }
}

/** GRU with PyTorch's equations: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h. */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}) {
    super("gru", inputSize, hiddenSize, options);
  }

  forward(input: Tensor, h0?: Tensor | null, options?: RecurrentForwardOptions): [Tensor, Tensor];
  forward(input: PackedSequence, h0?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, h0?: Tensor | null, options: RecurrentForwardOptions = {}): [Tensor | PackedSequence, Tensor] {
    const { output, hN } = this.run(input, h0, null, options);
    return [output, hN];
  }
}

/**
 * LSTM (gates i, f, g, o): c' = f * c + i * g, h' = o * tanh(c'), or h' = W_hr (o * tanh(c')) with
 * `projSize` (PyTorch's proj_size: h0/hN and the output have projSize features, c stays hiddenSize).
 * forward(x, [h0, c0]?) -> [output, [hN, cN]].
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}) {
    super("lstm", inputSize, hiddenSize, options);
  }

  forward(input: Tensor, state?: [Tensor, Tensor] | null, options?: RecurrentForwardOptions): [Tensor, [Tensor, Tensor]];
  forward(input: PackedSequence, state?: [Tensor, Tensor] | null): [PackedSequence, [Tensor, Tensor]];
  forward(input: Tensor | PackedSequence, state?: [Tensor, Tensor] | null, options: RecurrentForwardOptions = {}): [Tensor | PackedSequence, [Tensor, Tensor]] {
    if (state !== undefined && state !== null && (!Array.isArray(state) || state.length !== 2)) fail("LSTM.forward", "the initial state must be a pair [h0, c0]");
    const { output, hN, cN } = this.run(input, state?.[0], state?.[1], options);
    return [output, [hN, cN as Tensor]];
  }
}

export interface LeakyRNNOptions extends RNNOptions {
  /** Integration step in (0, 1] (default 1, which is exactly nn.RNN). */
  dt?: number;
}

/**
 * An RNN as a discretized ODE (lectures: "Recurrent networks for differential equations", leaky
 * integration). With dz/dt = g(h, z) = act(W_ih h + b_ih + W_hh z + b_hh) - z and an Euler step dt:
 *
 *   z(t) = z(t - dt) + dt * g(h(t), z(t - dt)) = (1 - dt) * z(t - dt) + dt * act(W_ih h(t) + b_ih + W_hh z(t - dt) + b_hh)
 *
 * dt = 1 recovers nn.RNN exactly; smaller dt keeps a longer memory. Parameters and options are
 * nn.RNN's (same state-dict keys, so RNN weights load unchanged).
 */
export class LeakyRNN extends RNNBase {
  readonly nonlinearity: "tanh" | "relu";
  readonly dt: number;

  constructor(inputSize: number, hiddenSize: number, options: LeakyRNNOptions = {}) {
    const nonlinearity = options.nonlinearity ?? "tanh";
    if (nonlinearity !== "tanh" && nonlinearity !== "relu") fail("LeakyRNN", `unknown nonlinearity ${JSON.stringify(nonlinearity)} (expected "tanh" or "relu")`);
    const dt = options.dt ?? 1;
    if (typeof dt !== "number" || !(dt > 0 && dt <= 1)) fail("LeakyRNN", `dt must be in (0, 1], got ${dt}`);
    super(nonlinearity === "tanh" ? "rnn_tanh" : "rnn_relu", inputSize, hiddenSize, options, dt);
    this.nonlinearity = nonlinearity;
    this.dt = dt;
  }

  forward(input: Tensor, h0?: Tensor | null, options?: RecurrentForwardOptions): [Tensor, Tensor];
  forward(input: PackedSequence, h0?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, h0?: Tensor | null, options: RecurrentForwardOptions = {}): [Tensor | PackedSequence, Tensor] {
    const { output, hN } = this.run(input, h0, null, options);
    return [output, hN];
  }

  override extraRepr(): string {
    return `${super.extraRepr()}, dt=${pyFloat(this.dt)}${this.nonlinearity !== "tanh" ? `, nonlinearity=${this.nonlinearity}` : ""}`;
  }
}

// ---- cells ---------------------------------------------------------------------------------

/** One time step; weights `weight_ih` [G*H, in], `weight_hh` [G*H, H], `bias_ih`, `bias_hh`. */
export abstract class RNNCellBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  protected readonly mode: RecurrentCellKind;
  weight_ih: Parameter;
  weight_hh: Parameter;
  bias_ih: Parameter | null;
  bias_hh: Parameter | null;

  constructor(mode: RecurrentCellKind, inputSize: number, hiddenSize: number, options: { bias?: boolean } = {}) {
    super();
    const op = this.constructor.name;
    checkSize(op, "inputSize", inputSize, 0);
    checkSize(op, "hiddenSize", hiddenSize, 1);
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.bias = options.bias ?? true;
    const gh = gateCount(mode) * hiddenSize;
    this.weight_ih = new Parameter(parameterData([gh, inputSize]));
    this.weight_hh = new Parameter(parameterData([gh, hiddenSize]));
    this.bias_ih = this.bias ? new Parameter(parameterData([gh])) : null;
    this.bias_hh = this.bias ? new Parameter(parameterData([gh])) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    resetUniform(this.parameters(), this.hiddenSize);
  }

  /** Runs the step; returns [h'] or [h', c'] with the input's batchedness. */
  protected step(input: Tensor, h: Tensor | null | undefined, c: Tensor | null | undefined): Tensor[] {
    const op = `${this.constructor.name}.forward`;
    if (input.ndim !== 1 && input.ndim !== 2) fail(op, `expected a 1-D (unbatched) or 2-D (batched) input, got shape ${fmtShape(input.shape)}`);
    if (input.shape[input.ndim - 1] !== this.inputSize) fail(op, `input of shape ${fmtShape(input.shape)} should have last dim ${this.inputSize} (inputSize)`);
    const batched = input.ndim === 2;
    const x = batched ? input : input.unsqueeze(0);
    const B = x.shape[0];
    const stateOf = (name: string, s: Tensor | null | undefined): Tensor => {
      if (s === null || s === undefined) return zeros([B, this.hiddenSize]);
      const expected = batched ? [B, this.hiddenSize] : [this.hiddenSize];
      if (s.ndim !== expected.length || s.shape.some((d, i) => d !== expected[i])) fail(op, `expected ${name} of shape ${fmtShape(expected)}, got ${fmtShape(s.shape)}`);
      return batched ? s : s.unsqueeze(0);
    };
    const xProj = linear(x, this.weight_ih);
    const isLstm = this.mode === "lstm";
    const packed = fusedRecurrence(this.mode, xProj.unsqueeze(0), this.weight_hh, this.bias_hh, stateOf("hx", h), { biasIh: this.bias_ih, c0: isLstm ? stateOf("cx", c) : null });
    const results = isLstm ? [packed.select(0, 1), packed.select(0, 2)] : [packed.select(0, 1)];
    return batched ? results : results.map((r) => r.squeeze(0));
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (!this.bias) s += `, bias=${pyBool(this.bias)}`;
    return s;
  }
}

export class RNNCell extends RNNCellBase {
  readonly nonlinearity: "tanh" | "relu";

  constructor(inputSize: number, hiddenSize: number, options: { bias?: boolean; nonlinearity?: "tanh" | "relu" } = {}) {
    const nonlinearity = options.nonlinearity ?? "tanh";
    if (nonlinearity !== "tanh" && nonlinearity !== "relu") fail("RNNCell", `unknown nonlinearity ${JSON.stringify(nonlinearity)} (expected "tanh" or "relu")`);
    super(nonlinearity === "tanh" ? "rnn_tanh" : "rnn_relu", inputSize, hiddenSize, options);
    this.nonlinearity = nonlinearity;
  }

  /** input [B, in] (or [in]), hx [B, H] (zeros when omitted) -> h' [B, H]. */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    return this.step(input, hx, null)[0];
  }

  override extraRepr(): string {
    return super.extraRepr() + (this.nonlinearity !== "tanh" ? `, nonlinearity=${this.nonlinearity}` : "");
  }
}

export class GRUCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options: { bias?: boolean } = {}) {
    super("gru", inputSize, hiddenSize, options);
  }

  forward(input: Tensor, hx?: Tensor | null): Tensor {
    return this.step(input, hx, null)[0];
  }
}

export class LSTMCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options: { bias?: boolean } = {}) {
    super("lstm", inputSize, hiddenSize, options);
  }

  /** input [B, in], state [h, c] (zeros when omitted) -> [h', c']. */
  forward(input: Tensor, state?: [Tensor, Tensor] | null): [Tensor, Tensor] {
    const [h, c] = this.step(input, state?.[0], state?.[1]);
    return [h, c];
  }
}
