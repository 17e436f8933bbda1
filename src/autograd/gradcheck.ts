import { fail } from "../core/errors.js";
import { Generator } from "../core/rng.js";
import { Layout } from "../core/layout.js";
import { Tensor } from "../tensor/tensor.js";
import { runBackward } from "./engine.js";
import { noGrad } from "./grad-mode.js";

export interface GradcheckOptions {
  /** Finite-difference step (float32 arithmetic needs a larger one than PyTorch's 1e-6 in float64). */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Throw with the worst mismatch (default) or return false. */
  raiseException?: boolean;
}

/**
 * Compares autograd's gradients with central finite differences. The output is reduced to a
 * scalar with fixed random weights w, so one backward pass gives d(sum(w * f(x)))/dx for every
 * input element, which is then checked against (L(x + eps) - L(x - eps)) / 2eps per element.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): boolean {
  const eps = options.eps ?? 1e-3;
  const atol = options.atol ?? 1e-3;
  const rtol = options.rtol ?? 1e-2;
  const raise = options.raiseException ?? true;
  for (const x of inputs) if (!x.requiresGrad) fail("gradcheck", "every input must require grad");

  const first = fn(...inputs);
  if (!first.requiresGrad) fail("gradcheck", "the function's output does not require grad (no input reaches it through a differentiable op)");
  // A private generator: checking gradients must not move the global random stream.
  const generator = new Generator(0x9c);
  const weights = Float64Array.from({ length: first.numel() }, () => generator.random() * 2 - 1);
  const scalarize = (out: Tensor) => {
    const values = out.data();
    let s = 0;
    for (let i = 0; i < values.length; i++) s += weights[i] * values[i];
    return s;
  };
  const weightTensor = new Tensor(Float32Array.from(weights), Layout.contiguous(first.shape), "float32");
  // The analytical gradients, without touching any .grad (as PyTorch's gradcheck).
  const analyticGrads = runBackward([first], [weightTensor], {}, inputs);

  for (const [k, x] of inputs.entries()) {
    const analytic = analyticGrads[k]?.data() ?? new Float32Array(x.numel());
    const storage = x.storage;
    // Perturb the elements of x through its layout: element j sits at offset + sum(index*stride).
    const offsets = elementOffsets(x);
    for (let j = 0; j < offsets.length; j++) {
      const original = storage[offsets[j]];
      storage[offsets[j]] = original + eps;
      const plus = noGrad(() => scalarize(fn(...inputs)));
      storage[offsets[j]] = original - eps;
      const minus = noGrad(() => scalarize(fn(...inputs)));
      storage[offsets[j]] = original;
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[j];
      if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
        if (!raise) return false;
        fail("gradcheck", `Jacobian mismatch for input ${k} at element ${j}: analytical ${a}, numerical ${numeric}`);
      }
    }
  }
  return true;
}

function elementOffsets(x: Tensor): number[] {
  const offsets: number[] = [];
  const { shape, strides, offset } = x.layout;
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < x.numel(); i++) {
    offsets.push(index.reduce((o, v, d) => o + v * strides[d], offset));
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return offsets;
}
