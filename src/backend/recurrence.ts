/**
 * The backend contract of the fused recurrence (one layer-direction of an RNN / GRU / LSTM over
 * a whole sequence; the math is documented in src/nn/functional/recurrent.ts). Operands are
 * dense row-major float32 arrays; the saved tensors have the same layout on every backend, so a
 * forward on one backend can be differentiated on another.
 */

/** The recurrent cell: gate count G is 1 (rnn), 3 (gru) or 4 (lstm). */
export type RecurrentCellKind = "rnn_tanh" | "rnn_relu" | "gru" | "lstm";

export interface RecurrenceSpec {
  kind: RecurrentCellKind;
  /** Time steps T. */
  steps: number;
  /** Batch entries B. */
  batch: number;
  /** Hidden units H (the per-gate width). */
  hidden: number;
  /** Width P of h: H, or the LSTM projection size. */
  stateSize: number;
  /** Run the time loop from t = T-1 down to 0. */
  reverse: boolean;
  /** Leaky integration of the rnn kinds (1: plain Elman). */
  leak: number;
  /** Valid length of each batch entry (in [0, T]). */
  lengths: Int32Array;
  /** Width I of the layer input when the op projects it itself (operands.weightIh given), else 0. */
  inputSize: number;
}

export interface RecurrenceOperands {
  /**
   * Input projections x W_ih^T, [T, B, G*H] (b_ih included, or added by the op when biasIh is
   * given); with weightIh, the layer input [T, B, I] itself, which the op projects.
   */
  x: Float32Array;
  /**
   * W_ih [G*H, I] or null. Given, the op computes x W_ih^T for all steps where the time loop
   * runs, and its backward d x and d W_ih there too: the [T, B, G*H] projections and their
   * gradients never leave the backend's memory (on wasm, two copies of them saved each way).
   */
  weightIh: Float32Array | null;
  /** [G*H] or null: added to x. */
  biasIh: Float32Array | null;
  /** [G*H, P]. */
  weightHh: Float32Array;
  /** [G*H] or null. */
  biasHh: Float32Array | null;
  /** [B, P]. */
  h0: Float32Array;
  /** [B, H] (LSTM; null: zeros). */
  c0: Float32Array | null;
  /** LSTM projections [P, H] or null. */
  weightHr: Float32Array | null;
}

/**
 * What backward needs, indexed by time step t (not by processing order), each [T or 1, B, *]
 * (one step's worth, overwritten, when the forward was told nothing needs saving):
 * hPrev [.., P] the h entering step t; act [.., G*H] the gate activations (rnn: act(pre); gru:
 * r, z, n; lstm: i, f, g, o); extra [.., H] (gru: W_hn h + b_hn; lstm: c_t; rnn: empty);
 * cPrev [.., H] the c entering step t (lstm); hRaw [.., H] o * tanh(c_t) before the projection
 * (projections only, zero on padding rows).
 */
export interface RecurrenceSaved {
  hPrev: Float32Array;
  act: Float32Array;
  extra: Float32Array;
  cPrev: Float32Array;
  hRaw: Float32Array;
  /** The layer input [T, B, I] when the op projects it (operands.x itself, not a copy; for d W_ih), else empty. */
  input: Float32Array;
}

/** The weights the backward reads (RecurrenceOperands' fields of these names). */
export type RecurrenceWeights = Pick<RecurrenceOperands, "weightHh" | "weightHr" | "weightIh">;

/** Which of the backward's optional results to compute. */
export interface RecurrenceWanted {
  /** d W_hh, d W_hr (with projections) and d W_ih (when the op projects its input). */
  weights: boolean;
  /** d x of the layer input (only when the op projects it; otherwise dGatesX is always returned). */
  input: boolean;
}

export interface RecurrenceForwardResult {
  /** [T + S, B, H]: outputs, then the final h (first P columns) and, for LSTM, the final c. */
  output: Float32Array;
  saved: RecurrenceSaved;
}

export interface RecurrenceGrads {
  /** d pre-activations as the input projection sees them, [T, B, G*H] (empty when the op projects its input). */
  dGatesX: Float32Array;
  /** ... and as h W_hh^T + b_hh sees them (the same array except for GRU; empty likewise), [T, B, G*H]. */
  dGatesH: Float32Array;
  /** d b_hh: dGatesH summed over all steps and rows, [G*H]. */
  dBiasHh: Float32Array;
  /** d b_ih: dGatesX summed likewise (the same array except for GRU), [G*H]. */
  dBiasIh: Float32Array;
  /** d h_t of the valid rows for dW_hr, [T, B, P] (projections only, else empty). */
  dProj: Float32Array;
  /** [B, P]. */
  dh0: Float32Array;
  /** [B, H] (LSTM, else empty). */
  dc0: Float32Array;
  /** d W_hh = dGatesH^T @ hPrev summed over all steps, [G*H, P], when weight gradients were asked for. */
  dWeightHh: Float32Array | null;
  /** d W_hr = dProj^T @ hRaw, [P, H], when asked for and projecting. */
  dWeightHr: Float32Array | null;
  /** d W_ih = dGatesX^T @ input, [G*H, I], when the op projects its input and weights are wanted. */
  dWeightIh: Float32Array | null;
  /** d input = dGatesX @ W_ih, [T, B, I], when the op projects its input and it is wanted. */
  dInput: Float32Array | null;
}

export function gateCount(kind: RecurrentCellKind): number {
  return kind === "lstm" ? 4 : kind === "gru" ? 3 : 1;
}

/**
 * A teacher-forced GRU decoder with additive (Bahdanau) attention over encoder states, the
 * lectures' / PyTorch tutorial's translator decoder: per step t, with h the state entering it,
 * q = h W_q^T, [c, w] = additive attention of q over `keys` (v, mask) with `values`,
 * x_t = inputs[t] + c W_c^T (+ b_ih), and h = GRU(x_t, h; W_hh, b_hh). All arrays dense.
 */
export interface AttentionDecoderProblem {
  steps: number;
  batch: number;
  /** Source positions S. */
  keys: number;
  /** H: the state, attention and value width. */
  hidden: number;
  /** [T, B, 3H]: the part of each step's input projection known up front (W_e e_t), no bias. */
  inputs: Float32Array;
  /** [B, H]. */
  h0: Float32Array;
  /** [B, S, H], projected once per batch (U h_s). */
  keyStates: Float32Array;
  /** [B, S, H]: the encoder states the context averages. */
  values: Float32Array;
  /** [B, S], nonzero at padding; null: none. */
  mask: Uint8Array | null;
  /**
   * [B]: the steps each row runs (in [0, T]); past its length a row's state is carried and its
   * output is zero, as in a recurrence with lengths. Trailing rows that are all padding at a step
   * are skipped there, so a batch sorted by decreasing length does only its valid rows' work.
   */
  lengths: Int32Array;
  /** W_q [H, H]. */
  weightQuery: Float32Array;
  /** v [H]. */
  v: Float32Array;
  /** W_c [3H, H]: the context's half of W_ih. */
  weightContext: Float32Array;
  weightHh: Float32Array;
  biasIh: Float32Array;
  biasHh: Float32Array;
}

/** What the backward reads: the recurrence's saved tensors, each step's query [T, B, H] and attention rows [T, B, H + S] (context, then weights). */
export interface AttentionDecoderSaved {
  recurrence: RecurrenceSaved;
  queries: Float32Array;
  attention: Float32Array;
}

/** The gradient of every array of the problem but the mask, each in its input's shape. */
export type AttentionDecoderGrads = Pick<AttentionDecoderProblem, "inputs" | "h0" | "keyStates" | "values" | "weightQuery" | "v" | "weightContext" | "weightHh" | "biasIh" | "biasHh">;
