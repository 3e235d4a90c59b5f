/**
 * Bayesian MAML (Kim et al. 2018) and its ensemble-of-MAMLs baseline, over any model and Task.
 * The meta-parameters are M particles Θ₀ (each parameter stacked `[M, …]`, see
 * `initParticles`); log p(θ | D) = −L_D(θ)/τ − (λ/2)‖θ‖², L_D the task's loss on the set D.
 *
 * BMAML, for each task τ of the meta-batch:
 *   Θₙ   = n SVGD steps from Θ₀ on the support set             (the chaser, on the tape)
 *   Θₙ₊ₛ = s more SVGD steps from Θₙ on support ∪ query         (the leader, held constant)
 *   loss = Σₘ ‖θₘⁿ − stop(θₘⁿ⁺ˢ)‖²                               (the chaser loss)
 * and the outer optimiser steps Θ₀ along the mean over tasks of ∂loss/∂Θ₀.
 *
 * EMAML: the M particles are M independent MAMLs (gradient descent inside, no kernel); the
 * loss is the mean over particles of the query loss after adaptation.
 *
 * Both adapt to a new task the way they train (SVGD, or gradient descent) and predict with the
 * ensemble of adapted particles (`predictParticles`, `regressionPredictive`).
 */
import { grad } from '../autograd.js';
import type { Model } from '../nn/model.js';
import { add, sub } from '../ops/binary.js';
import { sum } from '../ops/reduce.js';
import { scale, square } from '../ops/unary.js';
import { Tensor } from '../tensor.js';
import type { Rng } from '../random.js';
import { tidy } from '../tidy.js';
import { checkInteger, checkNonNegative, checkPositive } from '../checks.js';
import { meanGradient, type MetaAlgorithm } from '../meta/algorithm.js';
import { supportLosses } from '../meta/adapt.js';
import { mamlGradient, sgdInnerLoop, type MetaGradient } from '../meta/inner.js';
import type { Task } from '../meta/task.js';
import { particleTask, singleTasks } from './particles.js';
import { particleCount, svgdStep } from './svgd.js';

/** A meta-learner whose adapted model is an ensemble: M parameter sets, stacked `[M, …]`. */
export interface EnsembleAlgorithm extends MetaAlgorithm {
  /**
   * The ensemble adapted to one (unstacked) `task` from the meta-parameters, off the tape, stacked
   * `[members, …]`. `steps` defaults to the training inner steps; `samples` and `rng` are for
   * methods that draw their members (PLATIPUS), the others keep their particles.
   */
  adapt(model: Model, params: readonly Tensor[], task: Task, options?: { steps?: number; samples?: number; rng?: Rng }): Tensor[];
}

/** The settings of {@link bmaml}. */
export interface BmamlSettings {
  /** SVGD step size ε of the chaser (and of adaptation). */
  innerLr: number;
  /** The chaser's SVGD steps n. */
  innerSteps: number;
  /** The leader's further SVGD steps s on support ∪ query. Default 1. */
  leaderSteps?: number;
  /** The leader's step size. Default `innerLr`. */
  leaderLr?: number;
  /** τ in log p = −L/τ − (λ/2)‖θ‖². Default 1. */
  temperature?: number;
  /** λ, the precision of a Gaussian prior on every parameter. Default 0 (none). */
  priorPrecision?: number;
  /** Treat the chaser's scores as constants (no second-order terms). Default false. */
  firstOrder?: boolean;
}

/** The settings of {@link emaml}. */
export interface EmamlSettings {
  /** Inner gradient-descent step size α of every particle. */
  innerLr: number;
  /** Inner steps k. */
  innerSteps: number;
  /** First-order MAML for every particle. Default false. */
  firstOrder?: boolean;
}

/** An ensemble method's algorithm from its one-task gradient and its adaptation: stacked meta-batches are split into their tasks. */
function ensembleAlgorithm<S>(name: string, settings: S, taskGradient: (model: Model, params: readonly Tensor[], task: Task) => MetaGradient, adapt: EnsembleAlgorithm['adapt']): EnsembleAlgorithm & { readonly settings: S } {
  const all = overTasks(taskGradient);
  return { name, settings, taskGradient: (model, params, task) => (task.stacked === undefined ? taskGradient(model, params, task) : all(model, params, [task])), metaGradient: all, adapt };
}

/** An algorithm's meta-gradient from a one-task gradient: the mean over the meta-batch's single tasks, each step's temporaries recycled. */
function overTasks(taskGradient: (model: Model, params: readonly Tensor[], task: Task) => MetaGradient): MetaAlgorithm['metaGradient'] {
  return (model, params, tasks) => meanGradient(singleTasks(tasks).map((t) => tidy(() => taskGradient(model, params, t))));
}

/** Where the task's losses meet the particles: `logDensity(on, step)` is the particles' summed log-density on the support set or on support ∪ query. */
function densities(model: Model, task: Task, M: number, temperature: number, prior: number) {
  const pt = particleTask(task, M);
  const logDensity = (on: 'support' | 'both', step: number) => (p: Tensor[]): Tensor => {
    let L = pt.supportLoss(model, p, step);
    if (on === 'both') L = add(L, scale(pt.queryLoss(model, p, 'query', step), M));
    let logp = scale(L, -1 / temperature);
    if (prior > 0) for (const q of p) logp = add(logp, scale(sum(square(q)), -prior / 2));
    return logp;
  };
  return { pt, logDensity };
}

/** BMAML as a {@link MetaAlgorithm} over particles `[M, …]` (its settings checked; `owner` names it in errors). */
export function bmaml(settings: BmamlSettings, owner = 'BMAML'): EnsembleAlgorithm & { readonly settings: Readonly<BmamlSettings> } {
  const s = Object.freeze({ ...settings });
  checkPositive(`${owner}: innerLr`, s.innerLr);
  checkInteger(`${owner}: innerSteps`, s.innerSteps);
  checkInteger(`${owner}: leaderSteps`, s.leaderSteps ?? 1);
  checkPositive(`${owner}: leaderLr`, s.leaderLr ?? s.innerLr);
  checkPositive(`${owner}: temperature`, s.temperature ?? 1);
  checkNonNegative(`${owner}: priorPrecision`, s.priorPrecision ?? 0);
  const tau = s.temperature ?? 1;
  const prior = s.priorPrecision ?? 0;

  const taskGradient = (model: Model, params: readonly Tensor[], task: Task): MetaGradient => {
    const M = particleCount(owner, params);
    const { logDensity } = densities(model, task, M, tau, prior);
    const theta0 = params.map((p) => new Tensor(p.data, p.shape, true));
    let chaser = theta0;
    for (let i = 0; i < s.innerSteps; i++) chaser = svgdStep(chaser, logDensity('support', i), s.innerLr, { createGraph: !s.firstOrder });
    if (s.firstOrder === true) chaser = chaser.map((c, j) => add(theta0[j]!, sub(c, theta0[j]!).detach()));
    // The leader starts from the chaser's values, off the tape: no gradient reaches it.
    let leader = chaser.map((c) => c.detach());
    for (let i = 0; i < (s.leaderSteps ?? 1); i++) leader = svgdStep(leader, logDensity('both', s.innerSteps + i), s.leaderLr ?? s.innerLr);
    let loss: Tensor | null = null;
    chaser.forEach((c, j) => {
      const d = sum(square(sub(c, leader[j]!)));
      loss = loss === null ? d : add(loss, d);
    });
    const L = loss!;
    return { grads: grad(L, theta0, { allowUnused: true }), loss: L.item() };
  };

  return ensembleAlgorithm(owner, s, taskGradient, (model, params, task, options = {}) => {
    const M = particleCount(owner, params);
    const { logDensity } = densities(model, task, M, tau, prior);
    let phi = params.map((p) => p.detach());
    for (let i = 0; i < (options.steps ?? s.innerSteps); i++) {
      const from = phi;
      phi = tidy(() => svgdStep(from, logDensity('support', i), s.innerLr));
    }
    return phi;
  });
}

/** EMAML, the ensemble of M independent MAMLs, as a {@link MetaAlgorithm} over particles `[M, …]`. */
export function emaml(settings: EmamlSettings, owner = 'EMAML'): EnsembleAlgorithm & { readonly settings: Readonly<EmamlSettings> } {
  const s = Object.freeze({ ...settings });
  checkPositive(`${owner}: innerLr`, s.innerLr);
  checkInteger(`${owner}: innerSteps`, s.innerSteps);
  const taskGradient = (model: Model, params: readonly Tensor[], task: Task): MetaGradient => {
    const pt = particleTask(task, particleCount(owner, params));
    return mamlGradient(params, supportLosses(model, pt, s.innerSteps), (p) => pt.queryLoss(model, p, 'query', s.innerSteps), s.innerLr, { firstOrder: s.firstOrder === true });
  };
  return ensembleAlgorithm(owner, s, taskGradient, (model, params, task, options = {}) => {
    const pt = particleTask(task, particleCount(owner, params));
    // The particles already carry the stacked axis: no tiling, one detached SGD loop.
    return tidy(() => sgdInnerLoop(params, supportLosses(model, pt, options.steps ?? s.innerSteps), s.innerLr, 'detached').params);
  });
}
