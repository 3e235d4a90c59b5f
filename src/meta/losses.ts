/**
 * Stacked regression data as Tasks, and the task losses over a meta-batch laid out along a
 * leading task axis: the per-task mean loss, summed over tasks for inner loops (so each task's
 * slice of the gradient is its own gradient) or averaged for the outer (meta) loss.
 */
import type { Model } from '../nn/model.js';
import { mean, sum } from '../ops/reduce.js';
import { Tensor } from '../tensor.js';
import type { LossFn } from './inner.js';
import { perTaskMse, supervisedTask, type SupervisedTask } from './task.js';

export { perTaskMse };

/** Regression data of T tasks stacked along a leading axis: support and query `[T, n, d]`. */
export interface StackedData {
  /** [T, K, d] */
  xSupport: Tensor;
  ySupport: Tensor;
  /** [T, Q, d] */
  xQuery: Tensor;
  yQuery: Tensor;
  /** What the tasks are (a sine batch's amplitudes and phases, say): carried along, not read. */
  tasks?: readonly unknown[];
}

/**
 * Throws a clear error unless `batch` is {@link StackedData}: support and query tensors
 * `[T, n, d]` with the same number of tasks T ≥ 1, inputs and targets pairing up. `what` names
 * the caller (e.g. `'Reptile.step'`).
 */
export function checkRegressionBatch(what: string, batch: unknown): asserts batch is StackedData {
  const b = batch as Partial<Record<'xSupport' | 'ySupport' | 'xQuery' | 'yQuery', unknown>> | null;
  if (typeof b !== 'object' || b === null) throw new TypeError(`${what}: expected a batch of tasks { xSupport, ySupport, xQuery, yQuery } (e.g. SineTasks.sampleBatch), got ${String(batch)}`);
  const shapes: Partial<Record<string, readonly number[]>> = {};
  for (const key of ['xSupport', 'ySupport', 'xQuery', 'yQuery'] as const) {
    const t = b[key];
    if (!(t instanceof Tensor)) throw new TypeError(`${what}: batch.${key} must be a Tensor [tasks, points, features], got ${Array.isArray(t) ? 'an array' : typeof t}`);
    if (t.shape.length !== 3) throw new RangeError(`${what}: batch.${key} must have shape [tasks, points, features], got [${t.shape.join(', ')}]`);
    shapes[key] = t.shape;
  }
  const T = shapes.xSupport![0]!;
  if (T < 1) throw new RangeError(`${what}: the batch holds no tasks`);
  for (const [x, y] of [['xSupport', 'ySupport'], ['xQuery', 'yQuery']] as const) {
    const [sx, sy] = [shapes[x]!, shapes[y]!];
    if (sx[0] !== T || sy[0] !== T || sx[1] !== sy[1]) {
      throw new RangeError(`${what}: batch.${x} [${sx.join(', ')}] and batch.${y} [${sy.join(', ')}] must share tasks and points (xSupport has ${T} tasks)`);
    }
  }
}

/** {@link StackedData} (checked, naming `what`) as a stacked MSE {@link Task}. */
export function stackedData(what: string, batch: unknown): SupervisedTask {
  checkRegressionBatch(what, batch);
  return supervisedTask({ xSupport: batch.xSupport, ySupport: batch.ySupport, xQuery: batch.xQuery, yQuery: batch.yQuery }, { stacked: true });
}

/** Σ over tasks of each task's MSE of `model` on (x, y): an inner-loop loss. */
export function summedTaskMse(model: Model, x: Tensor, y: Tensor): LossFn {
  return (params) => sum(perTaskMse(model.forward(params, x), y));
}

/** Mean over tasks of each task's MSE: a meta (outer) loss. */
export function meanTaskMse(model: Model, x: Tensor, y: Tensor): LossFn {
  return (params) => mean(perTaskMse(model.forward(params, x), y));
}
