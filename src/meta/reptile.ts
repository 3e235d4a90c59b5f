/**
 * Reptile (Nichol et al. 2018, Algorithm 1 and its batched version, eq. 5), over any Task:
 *
 *   for each task Tᵢ of the meta-batch: φ̃ᵢ = φ after k steps on Tᵢ's support loss
 *     (SGD of size α, or an inner optimiser whose state carries from task to task)
 *   Reptile gradient g = (φ − mean φ̃ᵢ)/α
 *   φ ← φ − εα·g = φ + ε(mean φ̃ᵢ − φ), ε annealed linearly (or an outer optimiser fed g)
 *
 * With SGD inside, a stacked Task adapts all its tasks at once (the parameters tiled along the
 * task axis) and separate Tasks are independent (so they may run on other threads); with an inner
 * optimiser the tasks adapt in turn, its state carried from each to the next.
 */
import { noGrad } from '../autograd.js';
import type { Model } from '../nn/model.js';
import { add, sub } from '../ops/binary.js';
import { scale } from '../ops/unary.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Tensor } from '../tensor.js';
import { checkInteger, checkNonNegative, checkPositive } from '../checks.js';
import { adapt, supportLosses } from './adapt.js';
import { independentTasks, type MetaAlgorithm } from './algorithm.js';
import { innerGradients, reptileFromInner, type MetaGradient } from './inner.js';
import type { Task } from './task.js';

/** The settings of {@link reptile}. */
export interface ReptileSettings {
  /** Inner SGD step size α (with an inner optimiser: the scale of the Reptile gradient, its learning rate). */
  innerLr: number;
  /** Inner steps k. */
  innerSteps: number;
  /** Adapt with this optimiser instead of SGD, tasks in turn, its state carried across tasks. */
  innerOptimizer?: Optimizer;
}

/**
 * Reptile as a {@link MetaAlgorithm}: its meta-gradient is the Reptile gradient (φ − mean φ̃ᵢ)/α,
 * its loss the mean of the inner losses over tasks and steps.
 */
export function reptile(settings: ReptileSettings, owner = 'Reptile'): MetaAlgorithm & { readonly settings: Readonly<ReptileSettings> } {
  const s = Object.freeze({ ...settings });
  checkInteger(`${owner}: innerSteps`, s.innerSteps);
  checkPositive(`${owner}: innerLr`, s.innerLr);
  if (s.innerOptimizer !== undefined) {
    // The optimiser's state carries from task to task: the tasks run in turn, on this thread.
    return { name: owner, settings: s, innerOptimizer: s.innerOptimizer, metaGradient: (model, params, tasks) => inTurn(model, params, tasks, s, owner) };
  }
  // With SGD inside, tasks are independent: each gives its own Reptile gradient (φ − φ̃)/α (a
  // stacked Task, all of its tasks at once: (φ − mean φ̃)/α), and the meta-gradient is their mean.
  const taskGradient: NonNullable<MetaAlgorithm['taskGradient']> = (model, params, task) => {
    if (task.stacked !== undefined) {
      const T = task.stacked;
      const res = innerGradients(params, supportLosses(model, task, s.innerSteps), s.innerLr, { tasks: T });
      return { grads: reptileFromInner(params, res, s.innerLr, T), loss: meanOf(res.losses) / T };
    }
    const { params: adapted, losses } = adapt(model, params, task, { steps: s.innerSteps, lr: s.innerLr });
    return { grads: noGrad(() => params.map((p, i) => scale(sub(p, adapted[i]!), 1 / s.innerLr))), loss: meanOf(losses) };
  };
  return independentTasks(owner, s, taskGradient, { kind: 'reptile', innerLr: s.innerLr, innerSteps: s.innerSteps });
}

/** The mean of `xs`. */
function meanOf(xs: readonly number[]): number {
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** (φ − mean φ̃ₜ)/α with the tasks adapted one after another; the loss is the mean inner loss. */
function inTurn(model: Model, params: readonly Tensor[], tasks: readonly Task[], s: ReptileSettings, owner: string): MetaGradient {
  const each = tasks.flatMap((t) => {
    if (t.stacked === undefined) return [t];
    if (t.split === undefined) throw new RangeError(`${owner}: a stacked Task without split() cannot adapt its tasks in turn`);
    return t.split();
  });
  if (each.length === 0) throw new RangeError(`${owner}: the meta-batch holds no tasks`);
  const how = s.innerOptimizer === undefined ? { steps: s.innerSteps, lr: s.innerLr } : { steps: s.innerSteps, optimizer: s.innerOptimizer };
  let sum: Tensor[] | null = null;
  let lossSum = 0;
  for (const task of each) {
    const { params: adapted, losses } = adapt(model, params, task, how);
    lossSum += meanOf(losses);
    const prev: Tensor[] | null = sum;
    sum = prev === null ? adapted : noGrad(() => adapted.map((a, i) => add(a, prev[i]!)));
  }
  const total = sum!;
  const grads = noGrad(() => params.map((p, i) => scale(sub(p, scale(total[i]!, 1 / each.length)), 1 / s.innerLr)));
  return { grads, loss: lossSum / each.length };
}

/** ε at `iteration`: linear from `metaStepSize` to `metaStepSizeFinal` over `iterations`, then constant. */
export function epsilonAt(iteration: number, metaStepSize: number, metaStepSizeFinal: number, iterations: number): number {
  const frac = Math.min(1, iteration / Math.max(1, iterations));
  return metaStepSize + (metaStepSizeFinal - metaStepSize) * frac;
}

/** Checks Reptile's ε schedule (`owner` names the caller). */
export function checkEpsilon(owner: string, metaStepSize: number, metaStepSizeFinal: number): void {
  checkPositive(`${owner}: metaStepSize`, metaStepSize);
  checkNonNegative(`${owner}: metaStepSizeFinal`, metaStepSizeFinal);
}

/**
 * Reptile's own outer update as an optimiser: φ ← φ − lr·g with lr = εα set before each step,
 * which with g = (φ − φ̃)/α is φ + ε(φ̃ − φ). It checks nothing: the learner refuses a
 * meta-gradient that is not finite before it gets here.
 */
export class ReptileUpdate implements Optimizer {
  /** εα for the coming step. */
  lr = 0;

  step(params: readonly Tensor[], grads: readonly Tensor[]): Tensor[] {
    const lr = this.lr;
    return noGrad(() => params.map((p, i) => sub(p, scale(grads[i]!, lr))));
  }

  /** It has no state. */
  getState(): unknown {
    return null;
  }

  /** It has no state. */
  setState(): void {}
}
