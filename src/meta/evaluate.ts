/**
 * Evaluation: adapt to new tasks with plain SGD on their support set and report the query loss
 * after given step counts, as a mean with a 95% confidence interval over tasks.
 */
import { noGrad } from '../autograd.js';
import { checkModel, type Model } from '../nn/mlp.js';
import type { RegressionBatch } from '../tasks/sine.js';
import type { Tensor } from '../tensor.js';
import type { Optimizer } from '../optim/optimizer.js';
import { index } from '../ops/layout.js';
import { mse } from '../ops/loss.js';
import { adaptWithOptimizer, checkParams, sgdInnerLoop, tileParams } from './inner.js';
import { checkRegressionBatch, perTaskMse, summedTaskMse } from './losses.js';
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

/**
 * Query MSE of every task in `batch` after each step count in `steps` (0 = no adaptation) of
 * SGD with step size `lr` on the support set. Returns, per step count, one loss per task.
 */
export function adaptationCurve(model: Model, params: readonly Tensor[], batch: RegressionBatch, steps: readonly number[], lr: number): Map<number, number[]> {
  checkSteps('adaptationCurve', steps, lr);
  checkModel('adaptationCurve', model);
  checkParams('adaptationCurve', params);
  checkRegressionBatch('adaptationCurve', batch);
  const T = batch.xSupport.shape[0]!;
  const maxSteps = Math.max(0, ...steps);
  const inner = summedTaskMse(model, batch.xSupport, batch.ySupport);
  const out = new Map<number, number[]>();
  let phi = noGrad(() => tileParams(params, T));
  const record = (k: number): void => {
    if (steps.includes(k)) out.set(k, Array.from(noGrad(() => perTaskMse(model.forward(phi, batch.xQuery), batch.yQuery)).data));
  };
  record(0);
  for (let k = 1; k <= maxSteps; k++) {
    phi = sgdInnerLoop(phi, [inner], lr, 'detached').params;
    record(k);
  }
  return out;
}

/** {@link adaptationCurve} over several batches, summarised as mean ± 95% CI per step count. */
export function evaluate(model: Model, params: readonly Tensor[], batches: Iterable<RegressionBatch>, steps: readonly number[], lr: number): Map<number, MeanCI> {
  checkSteps('evaluate', steps, lr);
  const all = new Map<number, number[]>(steps.map((s) => [s, []]));
  for (const b of batches) for (const [k, v] of adaptationCurve(model, params, b, steps, lr)) all.get(k)!.push(...v);
  if (all.get(steps[0]!)!.length === 0) throw new RangeError('evaluate: batches holds no tasks');
  return new Map([...all].map(([k, v]) => [k, meanCI(v)]));
}

/**
 * Evaluation with a stateful inner optimiser (Reptile with Adam): each task adapts from
 * `params` with `optimizer`, whose state is saved before and restored after every task so that
 * nothing learned on one test task reaches the next. Returns the query MSE of each task.
 */
export function adaptationLossesWithOptimizer(model: Model, params: readonly Tensor[], batch: RegressionBatch, steps: number, optimizer: Optimizer): number[] {
  checkRegressionBatch('adaptationLossesWithOptimizer', batch);
  checkModel('adaptationLossesWithOptimizer', model);
  checkParams('adaptationLossesWithOptimizer', params);
  const T = batch.xSupport.shape[0]!;
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    const saved = optimizer.getState();
    let adapted: Tensor[];
    try {
      adapted = adaptWithOptimizer(model, params, index(batch.xSupport, 0, t), index(batch.ySupport, 0, t), steps, optimizer);
    } finally {
      optimizer.setState(saved); // restored even when adaptation fails, so no test task leaks into training
    }
    out.push(noGrad(() => mse(model.forward(adapted, index(batch.xQuery, 0, t)), index(batch.yQuery, 0, t))).item());
  }
  return out;
}
