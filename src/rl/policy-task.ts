/**
 * A meta-batch of policy-gradient tasks as a {@link Task}: the support loss is the REINFORCE
 * surrogate on episodes sampled with the meta-parameters, so MAML's inner step is one vanilla
 * policy-gradient step; the query loss is the importance-weighted surrogate on episodes sampled
 * with each task's adapted policy, whose gradient at the sampling policy is the policy gradient.
 * Second-order MAML then differentiates through the inner policy-gradient step.
 */
import { noGrad } from '../autograd.js';
import { div, mul, sub } from '../ops/binary.js';
import { mean, sum } from '../ops/reduce.js';
import { exp, scale } from '../ops/unary.js';
import type { Model } from '../nn/model.js';
import type { Tensor } from '../tensor.js';
import type { Task } from '../meta/task.js';
import type { GaussianPolicy } from './policy.js';
import { advantages, type Rollouts } from './rollout.js';

/** Episodes with what a surrogate needs: advantages, and (query) the sampling policy's log-densities. */
export interface PolicyBatch {
  /** The episodes. */
  rollouts: Rollouts;
  /** `[T, steps]` (see `advantages`). */
  advantages: Tensor;
  /** `[T, steps]`, log π_old(a | s) of the policy that sampled them, when the loss is importance-weighted. */
  oldLogProb?: Tensor;
}

/** Rollouts with their advantages (and, given the sampling policy's parameters, its log-densities). */
export function policyBatch(policy: GaussianPolicy, rollouts: Rollouts, discount: number, samplingParams?: readonly Tensor[]): PolicyBatch {
  const batch: PolicyBatch = { rollouts, advantages: advantages(rollouts, discount) };
  if (samplingParams !== undefined) batch.oldLogProb = noGrad(() => policy.logProb(samplingParams, rollouts.observations, rollouts.actions));
  return batch;
}

function asPolicy(model: Model): GaussianPolicy {
  const p = model as Partial<GaussianPolicy>;
  if (typeof p.logProb !== 'function') throw new TypeError('a policy-gradient task needs a GaussianPolicy (gaussianMlpPolicy), not a plain Model');
  return model as GaussianPolicy;
}

/** Each task's surrogate −Σ mask·w·A / Σ mask, `[T]`, with w = log π (REINFORCE) or π / π_old (importance-weighted). */
export function surrogate(policy: GaussianPolicy, params: readonly Tensor[], b: PolicyBatch): Tensor {
  const { observations, actions, mask } = b.rollouts;
  const logp = policy.logProb(params, observations, actions);
  const w = b.oldLogProb === undefined ? logp : exp(sub(logp, b.oldLogProb));
  return scale(div(sum(mul(mul(w, b.advantages), mask), -1), sum(mask, -1)), -1);
}

/** Each task's mean KL(π_old ‖ π_params) over its sampled states, `[T]`. */
export function meanKl(policy: GaussianPolicy, old: readonly Tensor[], params: readonly Tensor[], b: PolicyBatch): Tensor {
  const { observations, mask } = b.rollouts;
  return div(sum(mul(policy.kl(old, params, observations), mask), -1), sum(mask, -1));
}

/** Stacked policy-gradient tasks: adapt on `support` (REINFORCE), judged on `query` (importance-weighted). */
export class PolicyGradientTask implements Task {
  /** The number of tasks (their episodes are stacked along a leading axis). */
  readonly stacked: number;
  /**
   * @param support episodes sampled with the meta-parameters (the inner step's)
   * @param query episodes sampled with each task's adapted policy, with its log-densities
   */
  constructor(
    readonly support: PolicyBatch,
    readonly query: PolicyBatch,
  ) {
    if (query.oldLogProb === undefined) throw new RangeError('PolicyGradientTask: the query episodes need the log-densities of the policies that sampled them');
    if (support.rollouts.tasks !== query.rollouts.tasks) throw new RangeError(`PolicyGradientTask: ${support.rollouts.tasks} support tasks but ${query.rollouts.tasks} query tasks`);
    this.stacked = support.rollouts.tasks;
  }

  /** The REINFORCE surrogate on the support episodes, summed over tasks. */
  supportLoss(model: Model, params: readonly Tensor[]): Tensor {
    return sum(surrogate(asPolicy(model), params, this.support));
  }

  /** The surrogate on the query (or support) episodes, averaged over tasks. */
  queryLoss(model: Model, params: readonly Tensor[], on: 'query' | 'support' = 'query'): Tensor {
    return mean(surrogate(asPolicy(model), params, on === 'query' ? this.query : this.support));
  }

  /** Each task's surrogate on the query episodes (returns need new episodes: see `adaptationReturns`). */
  score(model: Model, params: readonly Tensor[]): number[] {
    return noGrad(() => Array.from(surrogate(asPolicy(model), params, this.query).data));
  }
}
