/**
 * Adaptation to one Task: the inner loop of every algorithm and of evaluation, by SGD (on the
 * tape or not) or by a stateful optimiser (Adam, carrying its state from task to task).
 */
import { valueAndGrad } from '../functional.js';
import type { Model } from '../nn/model.js';
import { Adam } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { sgdInnerLoop, tileParams, type LossFn } from './inner.js';
import { supervisedTask, type Task } from './task.js';
import { noGrad } from '../autograd.js';

/** The losses L₁ … L_k of `steps` inner steps on `task`: Lᵢ(φ) = task.supportLoss(model, φ, i − 1). */
export function supportLosses(model: Model, task: Task, steps: number): LossFn[] {
  return Array.from({ length: steps }, (_, i) => (p: Tensor[]) => task.supportLoss(model, p, i));
}

/** How to adapt: `steps` SGD steps of size `lr`, or `steps` steps of `optimizer`. */
export type Adaptation = { steps: number; lr: number; optimizer?: undefined } | { steps: number; optimizer: Optimizer; lr?: undefined };

/**
 * Whether `tidy` may wrap calls of `optimizer`: the library's own optimisers keep no tensor they
 * make, a user's might (in a field, say), and tidy would recycle it under them.
 */
export function recyclable(optimizer: Optimizer | undefined): boolean {
  return optimizer === undefined || optimizer instanceof Adam || optimizer instanceof SGD;
}

/** Adapted parameters and the support loss seen at each step. */
export interface Adapted {
  params: Tensor[];
  losses: number[];
}

/**
 * `task` adapted from `params`, not recorded; `onStep(k, φ)` sees the parameters after each
 * step k (and k = 0, before any). With SGD a stacked task adapts all its tasks at once (the
 * parameters tiled along the task axis); an optimiser takes one task (its state is one task's).
 * Returns the adapted parameters and the support loss seen at each step.
 */
export function adapt(model: Model, params: readonly Tensor[], task: Task, how: Adaptation, onStep?: (k: number, phi: Tensor[]) => void): Adapted {
  let phi = task.stacked === undefined ? [...params] : noGrad(() => tileParams(params, task.stacked!));
  const losses: number[] = [];
  onStep?.(0, phi);
  const optimizer = how.optimizer;
  for (let k = 0; k < how.steps; k++) {
    const from = phi;
    // Each step's activations go back to the pool as soon as the step is done.
    const step = (): [Tensor[], number] => {
      if (optimizer === undefined) {
        const r = sgdInnerLoop(from, [(p) => task.supportLoss(model, p, k)], how.lr!, 'detached');
        return [r.params, r.losses[0]!];
      }
      const [loss, g] = valueAndGrad((p: Tensor[]) => task.supportLoss(model, p, k))(from.map((p) => p.detach()));
      return [optimizer.step(from, g), loss.item()];
    };
    const [next, loss] = recyclable(optimizer) ? tidy(step) : step();
    phi = next;
    losses.push(loss);
    onStep?.(k + 1, phi);
  }
  return { params: phi, losses };
}

/**
 * {@link adapt} for evaluation with a stateful optimiser: its state is saved before and put back
 * after (even when adaptation fails), so nothing learned on a test task reaches the next task
 * or training.
 */
export function adaptRestoring(model: Model, params: readonly Tensor[], task: Task, how: Adaptation, onStep?: (k: number, phi: Tensor[]) => void): Adapted {
  const optimizer = how.optimizer;
  if (optimizer === undefined) return adapt(model, params, task, how, onStep);
  const saved = optimizer.getState();
  try {
    return adapt(model, params, task, how, onStep);
  } finally {
    optimizer.setState(saved);
  }
}

/**
 * `steps` steps of `optimizer` on the MSE of `model` on (x, y), starting from `params`; the
 * optimiser's state is updated in place (save it with getState() to undo).
 */
export function adaptWithOptimizer(model: Model, params: readonly Tensor[], x: Tensor, y: Tensor, steps: number, optimizer: Optimizer): Tensor[] {
  return adapt(model, params, supervisedTask({ xSupport: x, ySupport: y, xQuery: x, yQuery: y }), { steps, optimizer }).params;
}
