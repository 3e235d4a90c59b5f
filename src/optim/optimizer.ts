/** The contract shared by the outer-loop optimisers. */
import { fmt, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';

/**
 * An optimiser: functional, `step` returns new parameters and keeps only its own state
 * ({@link SGD}, {@link Adam}, or your own class with these four members).
 */
export interface Optimizer {
  /** Step size; may be changed between steps (annealing). */
  lr: number;
  /** New parameters after one step along `grads` (one per parameter, same shapes). */
  step(params: readonly Tensor[], grads: readonly Tensor[]): Tensor[];
  /** A copy of the internal state (moments, step count), to save and restore. */
  getState(): unknown;
  /** Restores a state from {@link getState}. */
  setState(state: unknown): void;
}

/**
 * Checks a step's gradients against its parameters before anything changes: one per parameter,
 * same shape and dtype, and finite. A NaN or infinite gradient (a diverged loss, NaN in the data)
 * would make every parameter and moment it touches NaN for good, so the step is refused with the
 * gradient named, and the caller's parameters and the optimiser's state stay as they were.
 */
export function checkStep(params: readonly Tensor[], grads: readonly Tensor[], name: string): void {
  if (params.length !== grads.length) throw new RangeError(`${name}.step: ${params.length} parameters but ${grads.length} gradients`);
  params.forEach((p, i) => {
    const g = grads[i]!;
    if (!shapesEqual(p.shape, g.shape) || p.dtype !== g.dtype) {
      throw new RangeError(`${name}.step: gradient ${i} is ${g.dtype} ${fmt(g.shape)} but the parameter is ${p.dtype} ${fmt(p.shape)}`);
    }
  });
  checkFinite(grads, `${name}.step: gradient`);
}

/**
 * Throws a RangeError unless every element of `tensors` is finite, naming the first bad one as
 * `${what} i [shape] holds NaN at element j`; the message says nothing was changed.
 */
export function checkFinite(tensors: readonly Tensor[], what: string): void {
  tensors.forEach((t, i) => {
    const d = t.data;
    for (let j = 0; j < d.length; j++) {
      const x = d[j]!;
      // x − x is 0 for every finite x and NaN for NaN and ±Infinity.
      if (x - x !== 0) {
        throw new RangeError(`${what} ${i} ${fmt(t.shape)} holds ${x} at element ${j} (the loss diverged, or the data hold NaN or Infinity); the step is refused and nothing was changed`);
      }
    }
  });
}

/**
 * Runs `fn`; if it throws, puts `optimizer`'s state back as it was before (an inner optimiser
 * whose moments a failed meta-step had already moved). Without an optimiser, just runs `fn`.
 */
export function restoringOnThrow<T>(optimizer: Optimizer | undefined, fn: () => T): T {
  if (optimizer === undefined) return fn();
  const saved = optimizer.getState();
  try {
    return fn();
  } catch (e) {
    optimizer.setState(saved);
    throw e;
  }
}
