/** What every meta-learning algorithm is to the training loop: a meta-gradient over Tasks. */
import { noGrad } from '../autograd.js';
import type { Model } from '../nn/model.js';
import { add } from '../ops/binary.js';
import { scale } from '../ops/unary.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Tensor } from '../tensor.js';
import type { MetaGradient } from './inner.js';
import type { Task } from './task.js';

/** What one task's MAML meta-gradient depends on besides the model, weights and task (the tail defaults to 'separate'). */
export interface MamlTaskSettings {
  innerSteps: number;
  innerLr: number;
  firstOrder: boolean;
  tail?: 'separate' | 'shared';
  /** Second order only: recompute each inner step in the reverse sweep instead of keeping its graph; `{ every: s }` keeps only every s-th step's parameters (see `mamlGradient`). */
  recompute?: boolean | { every: number };
  /** Stacked tasks: keep the task axis on the gradients (see `mamlGradient`). Default false. */
  perTask?: boolean;
}

/** The switches of `mamlpp`. */
export interface MamlppSettings {
  /** Inner step size α (the learned ones' initial value). */
  innerLr: number;
  /** Inner steps k. */
  innerSteps: number;
  /** Learned inner step sizes: none, LSLR's per layer and step, or Meta-SGD's per parameter. Default 'none'. */
  learnedLr?: 'none' | 'per-layer-per-step' | 'per-parameter';
  /** MSL: the multi-step loss, annealed towards the last step over this many meta-iterations. Default: off. */
  msl?: { iterations: number };
  /** DA: first order before this meta-iteration, second order from it on. Default 0 (second order throughout); Infinity: first order throughout. */
  secondOrderFrom?: number;
  /** ANIL: the indices of the model parameters the inner loop adapts (e.g. the head's). Default: all. */
  adapt?: readonly number[];
}

/** Where in training a meta-gradient is taken. */
export interface MetaContext {
  /** Meta-iterations done before this one. */
  iteration: number;
}

/**
 * What a worker thread needs to compute an algorithm's `taskGradient` (the model and task aside);
 * with `recordMoments`, each task's result also carries the batch moments its forward passes saw
 * (`MetaGradient.moments`: per-step batch-norm running statistics).
 */
export type WorkerAlgorithm = (
  | (MamlTaskSettings & { kind?: 'maml' })
  | { kind: 'reptile'; innerLr: number; innerSteps: number }
  | { kind: 'family'; innerLr: number; coefficients: readonly number[] }
  | { kind: 'mamlpp'; settings: MamlppSettings; modelParams: number }
) & { recordMoments?: boolean };

/**
 * A meta-learning algorithm: the direction an outer optimiser steps the meta-parameters along,
 * computed from a meta-batch of Tasks. Algorithms hold settings, never the parameters: the
 * training loop (`MetaLearner`) holds those, the outer optimiser, and everything about memory,
 * failures and checkpoints.
 */
export interface MetaAlgorithm {
  /** The name errors use ('MAML', 'Reptile', …). */
  readonly name: string;
  /**
   * The meta-gradient of a meta-batch at `params`, and the loss it saw. `context.iteration` is the
   * meta-iteration (for schedules inside the algorithm, such as MAML++'s annealing).
   */
  metaGradient(model: Model, params: readonly Tensor[], tasks: readonly Task[], context?: MetaContext): MetaGradient;
  /**
   * Present when tasks are independent: one task's meta-gradient. `metaGradient` is then the
   * mean of these in task order ({@link meanGradient}), so the tasks may be spread over threads
   * with bit-identical results.
   */
  taskGradient?(model: Model, params: readonly Tensor[], task: Task, context?: MetaContext): MetaGradient;
  /**
   * Present when a stacked task's meta-gradient can be had per task: `taskGradient` with every
   * gradient keeping the task axis, so that its sum over that axis is `taskGradient`'s bit for
   * bit. A stacked meta-batch is then shared between threads by parts (`Task.part`), the
   * workers computing with `workerSettings` and `perTask: true`.
   */
  taskRows?(model: Model, params: readonly Tensor[], task: Task, context?: MetaContext): MetaGradient;
  /** An optimiser whose state carries from task to task (Reptile's inner Adam), if any. */
  readonly innerOptimizer?: Optimizer;
  /**
   * Present when worker threads can compute `taskGradient`: what they rebuild the algorithm from
   * (`TaskWorkers`).
   */
  readonly workerSettings?: WorkerAlgorithm;
}

/** The mean of per-task meta-gradients, summed in task order, and the mean of their losses. */
export function meanGradient(results: readonly MetaGradient[]): MetaGradient {
  if (results.length === 0) throw new RangeError('meanGradient: no meta-gradients to average (an empty meta-batch)');
  let lossSum = 0;
  for (const r of results) lossSum += r.loss;
  if (results.length === 1) return results[0]!;
  return noGrad(() => {
    let sum: Tensor[] = results[0]!.grads;
    for (let t = 1; t < results.length; t++) {
      const prev = sum;
      sum = results[t]!.grads.map((g, i) => add(g, prev[i]!));
    }
    return { grads: sum.map((g) => scale(g, 1 / results.length)), loss: lossSum / results.length };
  });
}

/**
 * The algorithm whose tasks are independent: its meta-gradient is the mean, in task order, of
 * `taskGradient` over the meta-batch, which worker threads can share (`workerSettings`).
 */
export function independentTasks<S>(
  name: string,
  settings: S,
  taskGradient: NonNullable<MetaAlgorithm['taskGradient']>,
  workerSettings?: WorkerAlgorithm,
): MetaAlgorithm & { readonly settings: S } {
  return {
    name,
    settings,
    taskGradient,
    workerSettings,
    metaGradient: (model, params, tasks, context) => meanGradient(tasks.map((t) => taskGradient(model, params, t, context))),
  };
}
