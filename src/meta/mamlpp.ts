/**
 * MAML++ (Antoniou, Edwards and Storkey 2019, "How to Train Your MAML") and the learned inner
 * loops of the same family, over any Task, each part a switch:
 *
 *   φ₁ = θ;  φᵢ₊₁ = φᵢ − αᵢ ⊙ ∇Lᵢ(φᵢ)   for the adapted parameters (all, or ANIL's head)
 *   loss = Σᵢ wᵢ L_query(φᵢ₊₁)           (MSL; w = (0, …, 0, 1) is MAML's)
 *   the outer optimiser steps θ and the learned αᵢ along ∂loss/∂(θ, α)
 *
 * - LSLR: αᵢ one learned scalar per adapted parameter tensor and per step (`learnedLr:
 *   'per-layer-per-step'`); Meta-SGD: one learned step size per parameter element, shared by the
 *   steps (`learnedLr: 'per-parameter'`); otherwise α is the constant `innerLr`.
 * - MSL: the query loss after every step, weighted; the weights anneal from uniform towards the
 *   last step over `msl.iterations` meta-iterations, as in the paper's code (non-final weights
 *   fall by 1/(k·n) per iteration-unit to at least 0.03/k, the final one takes what they lose).
 * - DA: first order before iteration `secondOrderFrom`, second order after.
 * - ANIL (Raghu et al. 2020): the inner loop adapts only the parameters `adapt` lists (the head);
 *   the rest (the body) is meta-learned through it.
 * - CA: cosine annealing of the outer learning rate is a schedule of the training loop
 *   ({@link cosineAnnealing} for `MetaLearner`'s `schedule`).
 *
 * The learned step sizes are meta-parameters after the model's: `mamlpp` returns them initialised
 * to `innerLr`, to append to the model's parameters.
 */
import { grad, noGrad } from '../autograd.js';
import type { Model } from '../nn/model.js';
import { add, mul, sub } from '../ops/binary.js';
import { index } from '../ops/layout.js';
import { scale } from '../ops/unary.js';
import { full } from '../creation.js';
import { Tensor } from '../tensor.js';
import { checkInteger, checkNonNegative, checkPositive } from '../checks.js';
import { meanGradient, type MamlppSettings, type MetaAlgorithm, type MetaContext, type WorkerAlgorithm } from './algorithm.js';
import { tileParams, type MetaGradient } from './inner.js';
import type { Task } from './task.js';

export type { MamlppSettings };

/** The per-step weights of the multi-step loss at `iteration` (MAML++'s annealing; k steps, over `iterations`). */
export function mslWeights(k: number, iteration: number, iterations: number): number[] {
  const w = Array.from({ length: k }, () => 1 / k);
  if (k === 1) return w;
  const decay = 1 / k / iterations;
  const minNonFinal = 0.03 / k;
  for (let i = 0; i < k - 1; i++) w[i] = Math.max(w[i]! - iteration * decay, minNonFinal);
  w[k - 1] = Math.min(w[k - 1]! + iteration * (k - 1) * decay, 1 - (k - 1) * minNonFinal);
  return w;
}

/** Cosine annealing of a learning rate from `max` to `min` over `iterations`, then `min`: a `MetaLearner` schedule. */
export function cosineAnnealing(max: number, min: number, iterations: number): (iteration: number) => number {
  checkPositive('cosineAnnealing: max', max);
  checkNonNegative('cosineAnnealing: min', min);
  checkInteger('cosineAnnealing: iterations', iterations);
  return (it) => min + 0.5 * (max - min) * (1 + Math.cos((Math.PI * Math.min(it, iterations)) / iterations));
}

/** The MAML++ algorithm: a {@link MetaAlgorithm} that can also adapt to a task with its learned step sizes. */
export interface MamlppAlgorithm extends MetaAlgorithm {
  /** Its switches. */
  readonly settings: Readonly<MamlppSettings>;
  /** The model's parameters adapted to `task` by `steps` inner steps (off the tape), for evaluation. */
  adapt(model: Model, params: readonly Tensor[], task: Task, steps?: number): Tensor[];
  taskGradient: NonNullable<MetaAlgorithm['taskGradient']>;
  readonly workerSettings: WorkerAlgorithm;
}

/**
 * MAML++ and its relatives as a {@link MetaAlgorithm} for the parameters `modelParams` has.
 * Returns the algorithm and the extra meta-parameters (the learned step sizes, if any) to append
 * to the model's: `new MetaLearner(model, [...modelParams, ...extra], algorithm, optimizer)`.
 */
export function mamlpp(modelParams: readonly Tensor[], settings: MamlppSettings, owner = 'MAML++'): { algorithm: MamlppAlgorithm; extra: Tensor[] } {
  const s = Object.freeze({ ...settings });
  checkPositive(`${owner}: innerLr`, s.innerLr);
  checkInteger(`${owner}: innerSteps`, s.innerSteps);
  const mode = s.learnedLr ?? 'none';
  if (mode !== 'none' && mode !== 'per-layer-per-step' && mode !== 'per-parameter') throw new RangeError(`${owner}: learnedLr must be 'none', 'per-layer-per-step' or 'per-parameter', got ${JSON.stringify(mode)}`);
  if (s.msl !== undefined) checkInteger(`${owner}: msl.iterations`, s.msl.iterations);
  const n = modelParams.length;
  const adapted = s.adapt ?? modelParams.map((_, i) => i);
  if (adapted.length === 0 || adapted.some((i) => !Number.isInteger(i) || i < 0 || i >= n) || new Set(adapted).size !== adapted.length) {
    throw new RangeError(`${owner}: adapt must list distinct indices of the ${n} model parameters, got ${JSON.stringify(s.adapt)}`);
  }
  const dtype = modelParams[0]?.dtype ?? 'float32';
  const extra =
    mode === 'per-layer-per-step' ? [full([s.innerSteps, adapted.length], s.innerLr, { dtype })] : mode === 'per-parameter' ? adapted.map((i) => full(modelParams[i]!.shape, s.innerLr, { dtype })) : [];
  const count = n + extra.length;

  const taskGradient = (model: Model, params: readonly Tensor[], task: Task, context?: MetaContext): MetaGradient => {
    if (params.length !== count) throw new RangeError(`${owner}: expected the ${n} model parameters and ${extra.length} learned step sizes, got ${params.length} tensors`);
    const iteration = context?.iteration ?? 0;
    const secondOrder = iteration >= (s.secondOrderFrom ?? 0);
    const weights = s.msl === undefined ? null : mslWeights(s.innerSteps, iteration, s.msl.iterations);
    const leaves = params.map((p) => new Tensor(p.data, p.shape, true));
    const theta = leaves.slice(0, n);
    const lrs = leaves.slice(n);
    // The step size of adapted parameter j at step i, as a tensor on the tape when it is learned.
    const stepSize = (i: number, j: number): Tensor | number =>
      mode === 'per-layer-per-step' ? index(index(lrs[0]!, 0, i), 0, j) : mode === 'per-parameter' ? lrs[j]! : s.innerLr;
    let phi = task.stacked === undefined ? theta : tileParams(theta, task.stacked);
    let loss: Tensor | null = null;
    for (let i = 0; i < s.innerSteps; i++) {
      const inner = task.supportLoss(model, phi, i);
      const targets = adapted.map((k) => phi[k]!);
      const g = grad(inner, targets, { createGraph: secondOrder, allowUnused: true });
      const next = [...phi];
      adapted.forEach((k, j) => {
        const a = stepSize(i, j);
        // First order: the gradient is a constant, but the step (and a learned step size) stays on the tape.
        const gj = secondOrder ? g[j]! : g[j]!.detach();
        next[k] = typeof a === 'number' ? add(phi[k]!, scale(gj, -a)) : sub(phi[k]!, mul(gj, a));
      });
      phi = next;
      if (weights !== null && weights[i]! > 0) {
        const term = scale(task.queryLoss(model, phi, 'query', i + 1), weights[i]!);
        loss = loss === null ? term : add(loss, term);
      }
    }
    if (weights === null) loss = task.queryLoss(model, phi, 'query', s.innerSteps);
    const value = loss!;
    return { grads: grad(value, leaves, { allowUnused: true }), loss: value.item() };
  };
  const adaptTask = (model: Model, params: readonly Tensor[], task: Task, steps = s.innerSteps): Tensor[] => {
    if (params.length !== count) throw new RangeError(`${owner}: expected the ${n} model parameters and ${extra.length} learned step sizes, got ${params.length} tensors`);
    const lrs = params.slice(n);
    let phi = task.stacked === undefined ? params.slice(0, n) : noGrad(() => tileParams(params.slice(0, n), task.stacked!));
    for (let i = 0; i < steps; i++) {
      const at = Math.min(i, s.innerSteps - 1);
      const leaves = phi.map((p) => new Tensor(p.data, p.shape, true));
      const g = grad(task.supportLoss(model, leaves, i), adapted.map((k) => leaves[k]!), { allowUnused: true });
      phi = noGrad(() => {
        const next = leaves.map((p) => new Tensor(p.data, p.shape));
        adapted.forEach((k, j) => {
          const a = mode === 'per-layer-per-step' ? index(index(lrs[0]!, 0, at), 0, j) : mode === 'per-parameter' ? lrs[j]! : s.innerLr;
          next[k] = typeof a === 'number' ? add(next[k]!, scale(g[j]!, -a)) : sub(next[k]!, mul(g[j]!, a));
        });
        return next;
      });
    }
    return phi;
  };
  const algorithm = {
    name: owner,
    settings: s,
    adapt: adaptTask,
    taskGradient,
    workerSettings: { kind: 'mamlpp' as const, settings: s, modelParams: n },
    metaGradient: (model: Model, params: readonly Tensor[], tasks: readonly Task[], context?: MetaContext) => meanGradient(tasks.map((t) => taskGradient(model, params, t, context))),
  };
  return { algorithm, extra: noGrad(() => extra) };
}
