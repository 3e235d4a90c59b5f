/**
 * Task losses over a meta-batch laid out along a leading task axis: the per-task mean loss,
 * summed over tasks for inner loops (so each task's slice of the gradient is its own gradient)
 * or averaged for the outer (meta) loss.
 */
import type { Model } from '../nn/mlp.js';
import { sub } from '../ops/binary.js';
import { mean, sum } from '../ops/reduce.js';
import { square } from '../ops/unary.js';
import type { Tensor } from '../tensor.js';
import type { LossFn } from './inner.js';

/** Mean squared error of each task: `[T]` from predictions and targets `[T, n, d]`. */
export function perTaskMse(pred: Tensor, target: Tensor): Tensor {
  return mean(square(sub(pred, target)), [1, 2]);
}

/** Σ over tasks of each task's MSE of `model` on (x, y): an inner-loop loss. */
export function summedTaskMse(model: Model, x: Tensor, y: Tensor): LossFn {
  return (params) => sum(perTaskMse(model.forward(params, x), y));
}

/** Mean over tasks of each task's MSE: a meta (outer) loss. */
export function meanTaskMse(model: Model, x: Tensor, y: Tensor): LossFn {
  return (params) => mean(perTaskMse(model.forward(params, x), y));
}
