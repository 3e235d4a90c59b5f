/**
 * PLATIPUS, probabilistic MAML (Finn, Xu and Levine 2018), over any model and Task. The
 * meta-parameters are a Gaussian prior over the model's initial parameters, N(μ_θ, σ²_θ), the
 * variance v_q of the approximate posterior, and two learned step sizes γ_p, γ_q.
 *
 * Meta-training (the paper's Algorithm 1), for each task (D_tr, D_test) of the meta-batch:
 *   q = N(μ_θ − γ_q ∇L(μ_θ, D_test), v_q);  θ ~ q (reparameterised: θ = mean + √v_q ⊙ ε)
 *   φ = θ after k gradient steps of size α on L(·, D_tr)
 *   p = N(μ_θ − γ_p ∇L(μ_θ, D_tr), σ²_θ)
 *   loss = L(φ, D_test) + β KL(q ‖ p)        (L(φ, D_test) averaged over `samples` draws of ε)
 * and Adam steps all of them along the mean over tasks of ∂loss/∂(μ_θ, σ²_θ, v_q, γ), through
 * the inner steps and both gradient steps (second order).
 *
 * Meta-testing (Algorithm 2): θ ~ p = N(μ_θ − γ_p ∇L(μ_θ, D_tr), σ²_θ), then the same k steps
 * on D_tr; several draws give several models of the task (`adapt`, an ensemble `[S, …]`).
 *
 * Variances are held as their logarithms. The noise of meta-iteration i is drawn from a
 * generator seeded with (seed, i), so a resumed run draws what the uninterrupted one would.
 */
import { grad } from '../autograd.js';
import { full } from '../creation.js';
import type { Model } from '../nn/model.js';
import { add, mul, sub } from '../ops/binary.js';
import { index, stack } from '../ops/layout.js';
import { sum } from '../ops/reduce.js';
import { exp, scale, square } from '../ops/unary.js';
import { randn } from '../creation.js';
import { iterationRng, Rng, rngOption } from '../random.js';
import { noGrad } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { checkInteger, checkNonNegative, checkPositive } from '../checks.js';
import { meanGradient, type MetaContext } from '../meta/algorithm.js';
import { supportLosses } from '../meta/adapt.js';
import { sgdInnerLoop, type MetaGradient } from '../meta/inner.js';
import type { Task } from '../meta/task.js';
import type { EnsembleAlgorithm } from './bmaml.js';
import { singleTasks } from './particles.js';

/** The settings of {@link platipus}. */
export interface PlatipusSettings {
  /** Inner step size α. */
  innerLr: number;
  /** Inner steps k. */
  innerSteps: number;
  /** β, the weight of KL(q ‖ p). Default 1. */
  klWeight?: number;
  /** Draws of θ per task in training. Default 1. */
  samples?: number;
  /** Draws of θ per task when adapting to a new one. Default 10. */
  testSamples?: number;
  /** The initial standard deviation of the prior and of q (both learned). Default 0.01. */
  initialStd?: number;
  /** Seed of the training noise (meta-iteration i draws from a generator seeded with (seed, i)). Default 0. */
  seed?: number;
}

/** PLATIPUS's meta-parameters, named (views into the learner's parameter list). */
export interface PlatipusParams {
  /** μ_θ, the prior's mean (the model's parameters). */
  mean: Tensor[];
  /** log σ²_θ, the prior's log-variance, one per model parameter. */
  logVariance: Tensor[];
  /** log v_q, the posterior's log-variance. */
  posteriorLogVariance: Tensor[];
  /** [γ_p, γ_q]. */
  stepSizes: Tensor;
}

/**
 * The PLATIPUS algorithm: an {@link EnsembleAlgorithm} whose `adapt` draws `samples` (default
 * `testSamples`) models from the prior and adapts each; `rng` defaults to one seeded with the
 * settings' seed.
 */
export interface PlatipusAlgorithm extends EnsembleAlgorithm {
  readonly settings: Readonly<PlatipusSettings>;
  /** The learner's parameter list, named. */
  split(params: readonly Tensor[]): PlatipusParams;
  /** The variational objective of one task under given noise (one list of tensors shaped like the model's parameters per draw), on the tape. */
  objective(model: Model, params: readonly Tensor[], task: Task, noise: readonly (readonly Tensor[])[]): Tensor;
}

/**
 * PLATIPUS for the parameters `modelParams` has. Returns the algorithm and the extra
 * meta-parameters to append to the model's (log σ², log v_q, [γ_p, γ_q]):
 * `new MetaLearner(model, [...modelParams, ...extra], algorithm, new Adam(…))`.
 */
export function platipus(modelParams: readonly Tensor[], settings: PlatipusSettings, owner = 'PLATIPUS'): { algorithm: PlatipusAlgorithm; extra: Tensor[] } {
  const s = Object.freeze({ ...settings });
  checkPositive(`${owner}: innerLr`, s.innerLr);
  checkInteger(`${owner}: innerSteps`, s.innerSteps);
  checkNonNegative(`${owner}: klWeight`, s.klWeight ?? 1);
  checkInteger(`${owner}: samples`, s.samples ?? 1);
  checkInteger(`${owner}: testSamples`, s.testSamples ?? 10);
  checkPositive(`${owner}: initialStd`, s.initialStd ?? 0.01);
  if (!Number.isSafeInteger(s.seed ?? 0)) throw new RangeError(`${owner}: seed must be a safe integer, got ${String(s.seed)}`);
  const n = modelParams.length;
  if (n === 0) throw new RangeError(`${owner}: the model has no parameters`);
  const dtype = modelParams[0]!.dtype;
  const logVar = 2 * Math.log(s.initialStd ?? 0.01);
  const extra = noGrad(() => [...modelParams.map((p) => full(p.shape, logVar, { dtype })), ...modelParams.map((p) => full(p.shape, logVar, { dtype })), full([2], s.innerLr, { dtype })]);

  const split = (params: readonly Tensor[]): PlatipusParams => {
    if (!Array.isArray(params) || params.length !== 3 * n + 1) throw new RangeError(`${owner}: expected the ${n} model parameters, ${n} prior log-variances, ${n} posterior log-variances and the step sizes [γ_p, γ_q] (${3 * n + 1} tensors), got ${Array.isArray(params) ? params.length : typeof params}`);
    return { mean: params.slice(0, n), logVariance: params.slice(n, 2 * n), posteriorLogVariance: params.slice(2 * n, 3 * n), stepSizes: params[3 * n]! };
  };

  /** μ_θ − γ ∇L(μ_θ) with the gradient on the tape. */
  const shifted = (mean: Tensor[], loss: Tensor, gamma: Tensor): Tensor[] => {
    const g = grad(loss, mean, { createGraph: true, allowUnused: true });
    return mean.map((m, j) => sub(m, mul(g[j]!, gamma)));
  };

  const objective = (model: Model, params: readonly Tensor[], task: Task, noise: readonly (readonly Tensor[])[]): Tensor => {
    split(params);
    // The gradient steps inside need μ on the tape, also when only the value is wanted.
    const { mean, logVariance, posteriorLogVariance, stepSizes } = split(params.map((p) => (p.requiresGrad ? p : new Tensor(p.data, p.shape, true))));
    if (noise.length === 0) throw new RangeError(`${owner}: the objective needs at least one draw of noise`);
    const gammaP = index(stepSizes, 0, 0);
    const gammaQ = index(stepSizes, 0, 1);
    const muQ = shifted(mean, task.queryLoss(model, mean, 'query', 0), gammaQ);
    const muP = shifted(mean, task.supportLoss(model, mean, 0), gammaP);
    let fit: Tensor | null = null;
    for (const eps of noise) {
      const theta = muQ.map((m, j) => add(m, mul(exp(scale(posteriorLogVariance[j]!, 0.5)), eps[j]!)));
      const phi = sgdInnerLoop(theta, supportLosses(model, task, s.innerSteps), s.innerLr, 'second-order').params;
      const l = task.queryLoss(model, phi, 'query', s.innerSteps);
      fit = fit === null ? l : add(fit, l);
    }
    // KL(N(μ_q, v_q) ‖ N(μ_p, σ²)) = ½ Σ [log σ² − log v_q + (v_q + (μ_q − μ_p)²)/σ² − 1]
    let kl: Tensor | null = null;
    mean.forEach((_, j) => {
      const lv = logVariance[j]!;
      const lq = posteriorLogVariance[j]!;
      const ratio = exp(sub(lq, lv));
      const gap = mul(square(sub(muQ[j]!, muP[j]!)), exp(scale(lv, -1)));
      const term = scale(sum(sub(add(sub(lv, lq), add(ratio, gap)), 1)), 0.5);
      kl = kl === null ? term : add(kl, term);
    });
    return add(scale(fit!, 1 / noise.length), scale(kl!, s.klWeight ?? 1));
  };

  const draw = (rng: Rng, count: number): Tensor[][] => Array.from({ length: count }, () => modelParams.map((p) => randn(p.shape, { rng, dtype })));

  const taskGradient = (model: Model, params: readonly Tensor[], task: Task, rng: Rng): MetaGradient => {
    const leaves = params.map((p) => new Tensor(p.data, p.shape, true));
    const L = objective(model, leaves, task, draw(rng, s.samples ?? 1));
    return { grads: grad(L, leaves, { allowUnused: true }), loss: L.item() };
  };

  const algorithm: PlatipusAlgorithm = {
    name: owner,
    settings: s,
    split,
    objective,
    metaGradient(model, params, tasks, context?: MetaContext) {
      const rng = iterationRng(s.seed ?? 0, context?.iteration ?? 0);
      return meanGradient(singleTasks(tasks).map((t) => tidy(() => taskGradient(model, params, t, rng))));
    },
    adapt(model, params, task, options = {}) {
      if (task.stacked !== undefined) throw new RangeError(`${owner}.adapt: give one task at a time (this one stacks ${task.stacked}; use task.split())`);
      const rng = options.rng === undefined ? new Rng(s.seed ?? 0) : rngOption(`${owner}.adapt`, options.rng);
      const { mean, logVariance, stepSizes } = split(params);
      const count = options.samples ?? s.testSamples ?? 10;
      checkInteger(`${owner}.adapt: samples`, count);
      const models = Array.from({ length: count }, () =>
        tidy(() => {
          const leaves = mean.map((m) => new Tensor(m.data, m.shape, true));
          const g = grad(task.supportLoss(model, leaves, 0), leaves, { allowUnused: true });
          const theta = noGrad(() => mean.map((m, j) => add(sub(m, mul(g[j]!, index(stepSizes, 0, 0))), mul(exp(scale(logVariance[j]!, 0.5)), randn(m.shape, { rng, dtype: m.dtype })))));
          return sgdInnerLoop(theta, supportLosses(model, task, options.steps ?? s.innerSteps), s.innerLr, 'detached').params.map((p) => p.detach());
        }),
      );
      return noGrad(() => models[0]!.map((_, j) => stack(models.map((m) => m[j]!))));
    },
  };
  return { algorithm, extra };
}
