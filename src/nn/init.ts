/**
 * nn.init: in-place weight initialisers (PyTorch's `torch.nn.init.*_`, without the underscore).
 * Each writes into the given tensor under noGrad, so parameters can be initialised directly,
 * returns that tensor, and draws from `options.generator` or flint's global seeded generator.
 * Fan-in/fan-out follow PyTorch: for a weight of shape [out, in, ...kernel], fanIn = in * prod(kernel)
 * and fanOut = out * prod(kernel) (the receptive field counts).
 */
import { noGrad } from "../autograd/grad-mode.js";
import { fail, fmtShape } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import { defaultGenerator, type Generator } from "../core/rng.js";
import { normal_, uniform_ } from "../ops/inplace.js";
import { Tensor } from "../tensor/tensor.js";

export interface GeneratorOption {
  generator?: Generator;
}
export type FanMode = "fan_in" | "fan_out" | "fanIn" | "fanOut";
export type Nonlinearity =
  | "linear" | "conv1d" | "conv2d" | "conv3d" | "conv_transpose1d" | "conv_transpose2d" | "conv_transpose3d"
  | "sigmoid" | "tanh" | "relu" | "leaky_relu" | "leakyRelu" | "selu";

/**
 * The recommended gain for a nonlinearity (PyTorch's table): 1 for linear/conv/sigmoid, 5/3 for
 * tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope `param`, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear": case "conv1d": case "conv2d": case "conv3d":
    case "conv_transpose1d": case "conv_transpose2d": case "conv_transpose3d": case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": case "leakyRelu": {
      const slope = param ?? 0.01;
      if (typeof slope !== "number" || !Number.isFinite(slope)) fail("calculateGain", `negative_slope ${slope} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
    default:
      return fail("calculateGain", `unsupported nonlinearity "${String(nonlinearity)}"`);
  }
}

/** [fanIn, fanOut] of a weight (PyTorch's `_calculate_fan_in_and_fan_out`). */
export function calculateFanInAndFanOut(tensor: Tensor): [number, number] {
  if (tensor.ndim < 2) fail("init", `fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape ${fmtShape(tensor.shape)})`);
  const receptiveField = tensor.shape.slice(2).reduce((a, b) => a * b, 1);
  return [tensor.shape[1] * receptiveField, tensor.shape[0] * receptiveField];
}

function fanFor(op: string, tensor: Tensor, mode: FanMode): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  if (mode === "fan_in" || mode === "fanIn") return fanIn;
  if (mode === "fan_out" || mode === "fanOut") return fanOut;
  return fail(op, `mode "${String(mode)}" not supported, please use one of "fan_in", "fan_out"`);
}

function checkFloat(op: string, tensor: Tensor): void {
  if (!(tensor instanceof Tensor)) fail(op, "expected a Tensor");
  if (tensor.dtype !== "float32") fail(op, `expected a float32 tensor, got ${tensor.dtype}`);
}

/** Fills with U(a, b); defaults a = 0, b = 1. */
export function uniform(tensor: Tensor, options: { a?: number; b?: number } & GeneratorOption = {}): Tensor {
  checkFloat("uniform", tensor);
  const a = options.a ?? 0;
  const b = options.b ?? 1;
  if (!(a <= b)) fail("uniform", `expected a <= b, got a=${a}, b=${b}`);
  return noGrad(() => uniform_(tensor, a, b, options.generator ?? defaultGenerator));
}

/** Fills with N(mean, std^2); defaults mean = 0, std = 1. */
export function normal(tensor: Tensor, options: { mean?: number; std?: number } & GeneratorOption = {}): Tensor {
  checkFloat("normal", tensor);
  const std = options.std ?? 1;
  if (!(std >= 0)) fail("normal", `std must be non-negative, got ${std}`);
  return noGrad(() => normal_(tensor, options.mean ?? 0, std, options.generator ?? defaultGenerator));
}

/**
 * Fills with N(mean, std^2) restricted to [a, b] (defaults -2, 2), by redrawing samples that fall
 * outside (exact for the truncated distribution, like PyTorch's inverse-CDF method).
 */
export function truncNormal(tensor: Tensor, options: { mean?: number; std?: number; a?: number; b?: number } & GeneratorOption = {}): Tensor {
  checkFloat("truncNormal", tensor);
  const { mean = 0, std = 1, a = -2, b = 2 } = options;
  if (!(a < b)) fail("truncNormal", `expected a < b, got a=${a}, b=${b}`);
  const g = options.generator ?? defaultGenerator;
  const values = new Float32Array(tensor.numel());
  for (let i = 0; i < values.length; i++) {
    let v: number;
    let tries = 0;
    do {
      v = mean + std * g.normal();
      // Far in a tail, rejection would loop forever; fall back to the nearest bound.
      if (++tries > 1000) v = Math.min(Math.max(v, a), b);
    } while (v < a || v > b);
    values[i] = v;
  }
  return write(tensor, values);
}

export function constant(tensor: Tensor, value: number): Tensor {
  if (!(tensor instanceof Tensor)) fail("constant", "expected a Tensor");
  return noGrad(() => tensor.fill_(value));
}

export function zeros(tensor: Tensor): Tensor {
  return constant(tensor, 0);
}

export function ones(tensor: Tensor): Tensor {
  return constant(tensor, 1);
}

/** A 2-D tensor becomes the identity (the lectures' identity init for recurrent weights). */
export function eye(tensor: Tensor): Tensor {
  if (tensor.ndim !== 2) fail("eye", `only tensors with 2 dimensions are supported, got shape ${fmtShape(tensor.shape)}`);
  const [rows, cols] = tensor.shape;
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < Math.min(rows, cols); i++) values[i * cols + i] = 1;
  return write(tensor, values);
}

/**
 * A 3/4/5-D convolution weight [out, in, ...kernel] becomes the Dirac delta: the convolution then
 * copies its input channels (in each of `groups` groups) to the output.
 */
export function dirac(tensor: Tensor, options: { groups?: number } = {}): Tensor {
  const groups = options.groups ?? 1;
  if (tensor.ndim < 3 || tensor.ndim > 5) fail("dirac", `only tensors with 3, 4, or 5 dimensions are supported, got shape ${fmtShape(tensor.shape)}`);
  if (!Number.isInteger(groups) || groups < 1 || tensor.shape[0] % groups !== 0) fail("dirac", `dim 0 (${tensor.shape[0]}) must be divisible by groups (${groups})`);
  const outPerGroup = tensor.shape[0] / groups;
  const inChannels = tensor.shape[1];
  const kernel = tensor.shape.slice(2);
  const kernelSize = kernel.reduce((a, b) => a * b, 1);
  // Offset of the kernel's centre within one [in, ...kernel] slice.
  let centre = 0;
  for (const k of kernel) centre = centre * k + Math.floor(k / 2);
  const values = new Float32Array(tensor.numel());
  for (let g = 0; g < groups; g++) {
    for (let d = 0; d < Math.min(outPerGroup, inChannels); d++) {
      values[((g * outPerGroup + d) * inChannels + d) * kernelSize + centre] = 1;
    }
  }
  return write(tensor, values);
}

/** U(-bound, bound) with bound = gain * sqrt(6 / (fanIn + fanOut)) (Glorot & Bengio, 2010). */
export function xavierUniform(tensor: Tensor, options: { gain?: number } & GeneratorOption = {}): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  const bound = Math.sqrt(3) * std;
  return uniform(tensor, { a: -bound, b: bound, generator: options.generator });
}

/** N(0, std^2) with std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal(tensor: Tensor, options: { gain?: number } & GeneratorOption = {}): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  return normal(tensor, { mean: 0, std, generator: options.generator });
}

export interface KaimingOptions extends GeneratorOption {
  /** Negative slope of the rectifier after this layer (only for leaky_relu); default 0. */
  a?: number;
  /** "fan_in" (default) keeps the forward variance; "fan_out" the backward one. */
  mode?: FanMode;
  /** Default "leaky_relu" (with a = 0 that is relu's gain), as in PyTorch. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, tensor: Tensor, options: KaimingOptions): number {
  const fan = fanFor(op, tensor, options.mode ?? "fan_in");
  const gain = calculateGain(options.nonlinearity ?? "leaky_relu", options.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al., 2015). */
export function kaimingUniform(tensor: Tensor, options: KaimingOptions = {}): Tensor {
  if (tensor.numel() === 0) return tensor; // PyTorch warns that this is a no-op
  const bound = Math.sqrt(3) * kaimingStd("kaimingUniform", tensor, options);
  return uniform(tensor, { a: -bound, b: bound, generator: options.generator });
}

/** N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015). */
export function kaimingNormal(tensor: Tensor, options: KaimingOptions = {}): Tensor {
  if (tensor.numel() === 0) return tensor; // PyTorch warns that this is a no-op
  const std = kaimingStd("kaimingNormal", tensor, options);
  return normal(tensor, { mean: 0, std, generator: options.generator });
}

/**
 * A (semi-)orthogonal matrix (Saxe et al., 2013): the Q of the QR decomposition of a normal
 * matrix, sign-corrected so that it is uniformly distributed, times `gain`. Dims after the first
 * are flattened, as in PyTorch.
 */
export function orthogonal(tensor: Tensor, options: { gain?: number } & GeneratorOption = {}): Tensor {
  checkFloat("orthogonal", tensor);
  if (tensor.ndim < 2) fail("orthogonal", `only tensors with 2 or more dimensions are supported, got shape ${fmtShape(tensor.shape)}`);
  if (tensor.numel() === 0) return tensor;
  const rows = tensor.shape[0];
  const cols = tensor.numel() / rows;
  const g = options.generator ?? defaultGenerator;
  // Work on the tall orientation: m x n with m >= n, whose Q has orthonormal columns.
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);
  const a = Array.from({ length: m }, () => Array.from({ length: n }, () => g.normal()));
  const q = householderQ(a, m, n);
  const gain = options.gain ?? 1;
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) values[r * cols + c] = gain * (rows < cols ? q[c][r] : q[r][c]);
  }
  return write(tensor, values);
}

/** The m x n Q factor of `a` (m >= n) by Householder reflections, with diag(R) made positive. */
function householderQ(a: number[][], m: number, n: number): number[][] {
  const r = a.map((row) => row.slice());
  const reflectors: number[][] = [];
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < m; i++) norm += r[i][k] * r[i][k];
    norm = Math.sqrt(norm);
    const v = new Array<number>(m).fill(0);
    const alpha = r[k][k] >= 0 ? -norm : norm;
    for (let i = k; i < m; i++) v[i] = r[i][k];
    v[k] -= alpha;
    let vNorm = 0;
    for (let i = k; i < m; i++) vNorm += v[i] * v[i];
    vNorm = Math.sqrt(vNorm);
    if (vNorm > 0) for (let i = k; i < m; i++) v[i] /= vNorm;
    reflectors.push(v);
    for (let j = k; j < n; j++) {
      let dot = 0;
      for (let i = k; i < m; i++) dot += v[i] * r[i][j];
      for (let i = k; i < m; i++) r[i][j] -= 2 * v[i] * dot;
    }
  }
  // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity.
  const q: number[][] = Array.from({ length: m }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let k = n - 1; k >= 0; k--) {
    const v = reflectors[k];
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let i = k; i < m; i++) dot += v[i] * q[i][j];
      for (let i = k; i < m; i++) q[i][j] -= 2 * v[i] * dot;
    }
  }
  // Make diag(R) positive so Q is Haar-distributed (PyTorch multiplies by sign(diag(R))).
  for (let j = 0; j < n; j++) {
    if (r[j][j] < 0) for (let i = 0; i < m; i++) q[i][j] = -q[i][j];
  }
  return q;
}

/** Writes contiguous values (in row-major order of `tensor`'s shape) into `tensor`, in place. */
function write(tensor: Tensor, values: Float32Array): Tensor {
  return noGrad(() => tensor.copy_(new Tensor(values, Layout.contiguous(tensor.shape), "float32")));
}
