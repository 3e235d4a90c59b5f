/**
 * Evaluation: adapt to new tasks on their support set and report their score (query loss,
 * accuracy) after given step counts, as a mean with a 95% confidence interval over tasks.
 */
import { checkModel, type Model } from '../nn/model.js';
import type { Tensor } from '../tensor.js';
import type { Optimizer } from '../optim/optimizer.js';
import { checkParams } from './inner.js';
import { adapt, adaptRestoring } from './adapt.js';
import { stackedData, type StackedData } from './losses.js';
import { isTask, type Task } from './task.js';
import { checkPositive } from '../checks.js';

/** Mean and 95% confidence half-width (1.96 standard errors) of a sample. */
export interface MeanCI {
  mean: number;
  ci95: number;
  n: number;
}

/**
 * The mean of `xs` with its 95% confidence half-width (normal approximation, sample standard
 * deviation). One value says nothing about the spread, so its half-width is Infinity, not 0.
 */
export function meanCI(xs: readonly number[]): MeanCI {
  const n = xs.length;
  if (n === 0) throw new RangeError('meanCI: empty sample');
  const m = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean: m, ci95: Infinity, n };
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
  return { mean: m, ci95: (1.96 * Math.sqrt(v)) / Math.sqrt(n), n };
}

/** Throws unless `steps` is a non-empty list of non-negative integers and `lr` a positive number. */
function checkSteps(owner: string, steps: readonly number[], lr: number): void {
  if (!Array.isArray(steps) || steps.length === 0) throw new RangeError(`${owner}: steps must list at least one step count, got ${JSON.stringify(steps)}`);
  for (const k of steps) if (!Number.isInteger(k) || k < 0) throw new RangeError(`${owner}: step counts must be non-negative integers, got ${k}`);
  checkPositive(`${owner}: lr`, lr);
}

/** A Task, or stacked regression data (a sine batch, your own `[T, n, d]` tensors). */
export type EvalTask = Task | StackedData;

function asTask(op: string, batch: EvalTask): Task {
  return isTask(batch) ? batch : stackedData(op, batch);
}

/**
 * The score of every task in `batch` (query MSE for regression, accuracy for a classification
 * Task) after each step count in `steps` (0 = no adaptation) of SGD with step size `lr` on the
 * support set. Returns, per step count, one figure per task.
 */
export function adaptationCurve(model: Model, params: readonly Tensor[], batch: EvalTask, steps: readonly number[], lr: number): Map<number, number[]> {
  checkSteps('adaptationCurve', steps, lr);
  checkModel('adaptationCurve', model);
  checkParams('adaptationCurve', params);
  const task = asTask('adaptationCurve', batch);
  const out = new Map<number, number[]>();
  adapt(model, params, task, { steps: Math.max(0, ...steps), lr }, (k, phi) => {
    if (steps.includes(k)) out.set(k, task.score(model, phi, k));
  });
  return out;
}

/** {@link adaptationCurve} over several batches, summarised as mean ± 95% CI per step count. */
export function evaluate(model: Model, params: readonly Tensor[], batches: Iterable<EvalTask>, steps: readonly number[], lr: number): Map<number, MeanCI> {
  checkSteps('evaluate', steps, lr);
  const all = new Map<number, number[]>(steps.map((s) => [s, []]));
  for (const b of batches) for (const [k, v] of adaptationCurve(model, params, b, steps, lr)) all.get(k)!.push(...v);
  if (all.get(steps[0]!)!.length === 0) throw new RangeError('evaluate: batches holds no tasks');
  return new Map([...all].map(([k, v]) => [k, meanCI(v)]));
}

/**
 * The score of each task of `batch` after `steps` steps of `optimizer` (Reptile with Adam), one
 * task at a time, each from `params`: the optimiser's state is saved before and restored after
 * every task, so nothing learned on one test task reaches the next.
 */
export function adaptationLossesWithOptimizer(model: Model, params: readonly Tensor[], batch: EvalTask, steps: number, optimizer: Optimizer): number[] {
  const task = asTask('adaptationLossesWithOptimizer', batch);
  checkModel('adaptationLossesWithOptimizer', model);
  checkParams('adaptationLossesWithOptimizer', params);
  const each = task.stacked === undefined ? [task] : (task.split?.() ?? []);
  if (each.length === 0) throw new RangeError('adaptationLossesWithOptimizer: a stacked Task without split() cannot adapt its tasks one at a time');
  return each.flatMap((t) => t.score(model, adaptRestoring(model, params, t, { steps, optimizer }).params, steps));
}
