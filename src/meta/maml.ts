/**
 * MAML (Finn et al. 2017, Algorithm 2) and first-order MAML, over any Task:
 *
 *   for each task Tᵢ of the meta-batch:
 *     φᵢ = φ after k SGD steps of size α on Tᵢ's support loss
 *     gᵢ = ∂/∂φ L_Tᵢ(φᵢ)          (exact, through the inner steps; first order: L_Tᵢ'(φᵢ))
 *   the outer optimiser steps φ along the mean of the gᵢ
 *
 * L_Tᵢ is the query loss ('separate' tail) or the support loss itself ('shared' tail, Reptile
 * paper §6.3). A stacked Task runs its tasks as one batched computation. With an inner optimiser
 * (first order only) tasks adapt in turn, its state carried from each to the next.
 */
import { noGrad } from '../autograd.js';
import { valueAndGrad } from '../functional.js';
import type { Model } from '../nn/model.js';
import { add } from '../ops/binary.js';
import { scale } from '../ops/unary.js';
import type { Optimizer } from '../optim/optimizer.js';
import { checkInteger, checkPositive } from '../checks.js';
import { adapt, supportLosses } from './adapt.js';
import { meanGradient, type MamlTaskSettings, type MetaAlgorithm } from './algorithm.js';

export type { MamlTaskSettings };
import { mamlGradient, recomputeEvery, tileParams, type MetaGradient } from './inner.js';
import { grad } from '../autograd.js';
import { Tensor } from '../tensor.js';
import type { DifferentiableOptimizer } from '../optim/differentiable.js';
import type { Task } from './task.js';

/** The settings of {@link maml}. */
export interface MamlSettings {
  /** Inner step size α. */
  innerLr: number;
  /** Inner SGD steps k. */
  innerSteps: number;
  /** Drop the second-order terms (FOMAML). */
  firstOrder: boolean;
  /** Where the meta-loss is taken: the query set ('separate') or the support set ('shared'). */
  tail: 'separate' | 'shared';
  /** First order only: adapt with this optimiser instead of SGD, tasks in turn. */
  innerOptimizer?: Optimizer;
  /**
   * Second order only: keep one inner step's graph at a time, recomputing each in the reverse
   * sweep (about one more forward and backward pass per step). `true` keeps the k inner
   * parameter vectors; `{ every: s }` only every s-th, recomputing the rest (one more inner
   * gradient per step; s = ⌈√k⌉: memory ∝ √k). Default false.
   */
  recompute?: boolean | { every: number };
  /**
   * Take the inner steps with this optimiser on the tape (e.g. `differentiableAdam()`), so the
   * meta-gradient differentiates through its steps and state; `innerLr` is then unused.
   */
  differentiableInner?: DifferentiableOptimizer;
}

/** MAML as a {@link MetaAlgorithm}, its settings checked (`owner` names the caller in errors). */
export function maml(settings: MamlSettings, owner = 'MAML'): MetaAlgorithm & { readonly settings: Readonly<MamlSettings> } {
  const s = Object.freeze({ ...settings });
  if (s.innerOptimizer !== undefined && !s.firstOrder) throw new RangeError(`${owner}: innerOptimizer needs firstOrder: true (second-order MAML differentiates through SGD steps)`);
  if (s.tail !== 'separate' && s.tail !== 'shared') throw new RangeError(`${owner}: tail must be 'separate' or 'shared', got '${String(s.tail)}'`);
  checkInteger(`${owner}: innerSteps`, s.innerSteps);
  checkPositive(`${owner}: innerLr`, s.innerLr);
  recomputeEvery(owner, s.recompute);
  const taskGradient = (model: Model, params: readonly Tensor[], task: Task): MetaGradient =>
    s.differentiableInner === undefined ? mamlTaskGradient(model, params, task, s) : throughOptimizer(model, params, task, s, s.differentiableInner);
  return {
    name: owner,
    settings: s,
    innerOptimizer: s.innerOptimizer,
    taskGradient: s.innerOptimizer === undefined ? taskGradient : undefined,
    taskRows: s.innerOptimizer === undefined && s.differentiableInner === undefined ? (model, params, task) => mamlTaskGradient(model, params, task, { ...s, perTask: true }) : undefined,
    workerSettings: s.innerOptimizer === undefined && s.differentiableInner === undefined ? { innerLr: s.innerLr, innerSteps: s.innerSteps, firstOrder: s.firstOrder, tail: s.tail, recompute: s.recompute } : undefined,
    metaGradient(model, params, tasks) {
      if (s.innerOptimizer !== undefined) return inTurn(model, params, tasks, s, s.innerOptimizer, owner);
      return meanGradient(tasks.map((t) => taskGradient(model, params, t)));
    },
  };
}

/** One task's MAML (or FOMAML) meta-gradient: the body of Algorithm 2's task loop. */
export function mamlTaskGradient(model: Model, params: readonly Tensor[], task: Task, s: MamlTaskSettings): MetaGradient {
  const on = s.tail === 'shared' ? 'support' : 'query';
  const outer = (p: Tensor[]) => task.queryLoss(model, p, on, s.innerSteps);
  return mamlGradient(params, supportLosses(model, task, s.innerSteps), outer, s.innerLr, { firstOrder: s.firstOrder, tasks: task.stacked, recompute: s.recompute ?? false, perTask: s.perTask ?? false });
}

/** One task's meta-gradient with the inner steps taken by a differentiable optimiser on the tape. */
function throughOptimizer(model: Model, params: readonly Tensor[], task: Task, s: MamlSettings, opt: DifferentiableOptimizer): MetaGradient {
  const leaves = params.map((p) => new Tensor(p.data, p.shape, true));
  let phi = task.stacked === undefined ? leaves : tileParams(leaves, task.stacked);
  let state = opt.init(phi);
  for (let i = 0; i < s.innerSteps; i++) {
    const g = grad(task.supportLoss(model, phi, i), phi, { createGraph: !s.firstOrder, allowUnused: true });
    ({ params: phi, state } = opt.step(phi, s.firstOrder ? g.map((t) => t.detach()) : g, state, i + 1));
  }
  const L = task.queryLoss(model, phi, s.tail === 'shared' ? 'support' : 'query', s.innerSteps);
  return { grads: grad(L, leaves, { allowUnused: true }), loss: L.item() };
}

/** FOMAML with a stateful inner optimiser: tasks in turn, the mean of their tail gradients. */
function inTurn(model: Model, params: readonly Tensor[], tasks: readonly Task[], s: MamlSettings, optimizer: Optimizer, owner: string): MetaGradient {
  const each = tasks.flatMap((t) => (t.split === undefined ? [t] : t.split()));
  let sum: Tensor[] | null = null;
  let lossSum = 0;
  for (const task of each) {
    const adapted = adapt(model, params, task, { steps: s.innerSteps, optimizer }).params;
    const on = s.tail === 'shared' ? 'support' : 'query';
    const [loss, g] = valueAndGrad((p: Tensor[]) => task.queryLoss(model, p, on, s.innerSteps))(adapted.map((p) => p.detach()));
    lossSum += loss.item();
    const prev: Tensor[] | null = sum;
    sum = prev === null ? g : noGrad(() => g.map((gi, i) => add(gi, prev[i]!)));
  }
  if (sum === null) throw new RangeError(`${owner}: the meta-batch holds no tasks`);
  const total = sum;
  return { grads: noGrad(() => total.map((g) => scale(g, 1 / each.length))), loss: lossSum / each.length };
}
