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

export function checkStep(params: readonly Tensor[], grads: readonly Tensor[], name: string): void {
  if (params.length !== grads.length) throw new RangeError(`${name}.step: ${params.length} parameters but ${grads.length} gradients`);
  params.forEach((p, i) => {
    const g = grads[i]!;
    if (!shapesEqual(p.shape, g.shape) || p.dtype !== g.dtype) {
      throw new RangeError(`${name}.step: gradient ${i} is ${g.dtype} ${fmt(g.shape)} but the parameter is ${p.dtype} ${fmt(p.shape)}`);
    }
  });
}
