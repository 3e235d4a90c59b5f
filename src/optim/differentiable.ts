/**
 * Inner-loop optimisers written with the engine's differentiable ops, so second-order MAML
 * differentiates through their steps and state (as the `higher` library does for PyTorch): SGD
 * with momentum and Adam. Their state is a list of tensors on the tape, passed from step to step.
 */
import { add, div, sub } from '../ops/binary.js';
import { scale, sqrt, square } from '../ops/unary.js';
import type { Tensor } from '../tensor.js';
import { checkNonNegative, checkOptionsObject, checkPositive, type OptionKeys } from '../checks.js';

/** An optimiser whose step is made of differentiable ops; `t` counts steps from 1. */
export interface DifferentiableOptimizer {
  /** Its name, for errors. */
  readonly name: string;
  /** The state before the first step. */
  init(params: readonly Tensor[]): Tensor[][];
  /** New parameters and state after one step along `grads`. */
  step(params: readonly Tensor[], grads: readonly Tensor[], state: Tensor[][], t: number): { params: Tensor[]; state: Tensor[][] };
}

/** Options of {@link differentiableSgd}. */
export interface DifferentiableSgdOptions {
  /** Step size. */
  lr: number;
  /** Momentum μ (PyTorch's recurrence: b = g at the first step, then b = μ b + g). Default 0. */
  momentum?: number;
}

const SGD_OPTIONS: OptionKeys<DifferentiableSgdOptions> = { lr: true, momentum: true };

/** SGD (with momentum) on the tape: p ← p − lr·b. */
export function differentiableSgd(options: DifferentiableSgdOptions): DifferentiableOptimizer {
  checkOptionsObject('differentiableSgd', options, SGD_OPTIONS, '{ lr: 0.1, momentum: 0.9 }');
  const { lr } = options;
  const mu = options.momentum ?? 0;
  checkPositive('differentiableSgd: lr', lr);
  checkNonNegative('differentiableSgd: momentum', mu);
  return {
    name: 'differentiableSgd',
    init: () => [],
    step(params, grads, state, t) {
      if (mu === 0) return { params: params.map((p, i) => sub(p, scale(grads[i]!, lr))), state };
      const b = t === 1 ? [...grads] : state[0]!.map((bi, i) => add(scale(bi, mu), grads[i]!));
      return { params: params.map((p, i) => sub(p, scale(b[i]!, lr))), state: [b] };
    },
  };
}

/** Options of {@link differentiableAdam}. */
export interface DifferentiableAdamOptions {
  /** Step size. Default 1e-3. */
  lr?: number;
  /** Decay of the first moment. Default 0.9. */
  beta1?: number;
  /** Decay of the second moment. Default 0.999. */
  beta2?: number;
  /** Added inside the square root (so its derivative exists where a gradient is 0). Default 1e-8. */
  eps?: number;
}

const ADAM_OPTIONS: OptionKeys<DifferentiableAdamOptions> = { lr: true, beta1: true, beta2: true, eps: true };

/**
 * Adam on the tape with bias correction: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
 * p ← p − lr·m̂ / √(v̂ + ε²). The ε sits inside the root: √v has no derivative at v = 0, which
 * a parameter whose gradient is exactly zero would reach; outside that the step is within ε of
 * Adam's p − lr·m̂/(√v̂ + ε).
 */
export function differentiableAdam(options: DifferentiableAdamOptions = {}): DifferentiableOptimizer {
  checkOptionsObject('differentiableAdam', options, ADAM_OPTIONS, '{ lr: 1e-3, beta1: 0 }');
  const lr = options.lr ?? 1e-3;
  const b1 = options.beta1 ?? 0.9;
  const b2 = options.beta2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  checkPositive('differentiableAdam: lr', lr);
  checkPositive('differentiableAdam: eps', eps);
  if (!(b1 >= 0 && b1 < 1)) throw new RangeError(`differentiableAdam: beta1 must be in [0, 1), got ${b1}`);
  if (!(b2 >= 0 && b2 < 1)) throw new RangeError(`differentiableAdam: beta2 must be in [0, 1), got ${b2}`);
  return {
    name: 'differentiableAdam',
    init: () => [],
    step(params, grads, state, t) {
      const m = grads.map((g, i) => (t === 1 ? scale(g, 1 - b1) : add(scale(state[0]![i]!, b1), scale(g, 1 - b1))));
      const v = grads.map((g, i) => (t === 1 ? scale(square(g), 1 - b2) : add(scale(state[1]![i]!, b2), scale(square(g), 1 - b2))));
      const c1 = 1 - b1 ** t;
      const c2 = 1 - b2 ** t;
      const next = params.map((p, i) => sub(p, scale(div(m[i]!, sqrt(add(scale(v[i]!, 1 / c2), eps * eps))), lr / c1)));
      return { params: next, state: [m, v] };
    },
  };
}
