/**
 * MAML for policy-gradient reinforcement learning (Finn et al. 2017, Algorithm 3) with TRPO as
 * the meta-optimiser, as in the paper's experiments:
 *
 *   sample a meta-batch of tasks Tᵢ
 *   for each Tᵢ: sample K episodes Dᵢ with f_θ; θᵢ' = θ − α ∇θ L_Tᵢ(f_θ) on Dᵢ (one policy-gradient step)
 *                sample K episodes Dᵢ' with f_θᵢ'
 *   θ ← the TRPO step on Σᵢ L_Tᵢ(f_θᵢ') over the Dᵢ', differentiated through the inner step
 *
 * and the paper's baseline, a policy "pretrained" on all tasks jointly: TRPO on the episodes
 * of a meta-batch of tasks, no inner step. All tasks of a meta-batch run as one stacked
 * computation (the parameters tiled along a task axis).
 */
import { grad, noGrad } from '../autograd.js';
import { add } from '../ops/binary.js';
import { mean, sum } from '../ops/reduce.js';
import { scale } from '../ops/unary.js';
import { tileParams } from '../meta/inner.js';
import type { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { checkInteger, checkPositive } from '../checks.js';
import type { Environment } from './environment.js';
import type { GaussianPolicy } from './policy.js';
import { averageReturns, rollout, type Rollouts } from './rollout.js';
import { meanKl, policyBatch, PolicyGradientTask, surrogate } from './policy-task.js';
import { trpoStep, type TrpoResult, type TrpoSettings } from './trpo.js';

/** Settings of {@link mamlTrpoStep} and {@link pretrainTrpoStep}; defaults are the authors' 2-D navigation settings. */
export interface MetaRlSettings extends TrpoSettings {
  /** Tasks per meta-iteration. Default 20. */
  metaBatch?: number;
  /** Episodes per task for each policy-gradient estimate. Default 20. */
  episodes?: number;
  /** Inner policy-gradient step size α. Default 0.5 (the authors' 2-D navigation value). */
  innerLr?: number;
  /** Discount γ of the returns. Default 0.99. */
  discount?: number;
  /** Drop the second-order terms of the meta-gradient (and of the KL's curvature). Default false. */
  firstOrder?: boolean;
}

/** What a meta-iteration did: TRPO's step and the average returns before and after adaptation. */
export interface MetaRlStep {
  /** The new meta-parameters. */
  params: Tensor[];
  /** What the TRPO step did. */
  trpo: TrpoResult;
  /** Mean return over the meta-batch of the episodes sampled with θ. */
  preReturn: number;
  /** MAML only: mean return of the episodes sampled with the adapted θᵢ'. */
  postReturn?: number;
}

function resolved(s: MetaRlSettings) {
  const r = { metaBatch: s.metaBatch ?? 20, episodes: s.episodes ?? 20, innerLr: s.innerLr ?? 0.5, discount: s.discount ?? 0.99, firstOrder: s.firstOrder ?? false };
  checkInteger('meta-RL: metaBatch', r.metaBatch);
  checkInteger('meta-RL: episodes', r.episodes);
  checkPositive('meta-RL: innerLr', r.innerLr);
  if (!(r.discount > 0 && r.discount <= 1)) throw new RangeError(`meta-RL: discount must be in (0, 1], got ${r.discount}`);
  return r;
}

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Parameters as tensors the tape follows (leaves where they are constants). */
const tracked = (ps: readonly Tensor[]): Tensor[] => ps.map((p) => (p.requiresGrad ? p : new Tensor(p.data, p.shape, true)));

/** θᵢ' = θ − α ∇ L_Tᵢ for every task at once (θ tiled); on the tape when `createGraph`. */
function innerStep(policy: GaussianPolicy, theta: readonly Tensor[], support: PolicyGradientTask['support'], alpha: number, tasks: number, createGraph: boolean): Tensor[] {
  const phi = tileParams(tracked(theta), tasks);
  const g = grad(sum(surrogate(policy, phi, support)), phi, { createGraph, allowUnused: true });
  return phi.map((p, j) => add(p, scale(g[j]!, -alpha)));
}

/** One MAML-TRPO meta-iteration on a fresh meta-batch of `env`'s tasks. */
export function mamlTrpoStep<P>(env: Environment<P>, policy: GaussianPolicy, params: readonly Tensor[], rng: Rng, settings: MetaRlSettings = {}): MetaRlStep {
  const s = resolved(settings);
  const T = s.metaBatch;
  const tasks = env.sampleTasks(T, rng);
  const pre = rollout(env, policy, noGrad(() => tileParams(params, T)), tasks, s.episodes, rng);
  const support = policyBatch(policy, pre, s.discount);
  const adapted = innerStep(policy, params, support, s.innerLr, T, false).map((p) => p.detach());
  const post = rollout(env, policy, adapted, tasks, s.episodes, rng);
  const task = new PolicyGradientTask(support, policyBatch(policy, post, s.discount, adapted));
  const createGraph = !s.firstOrder;
  const objective = (theta: Tensor[]) => task.queryLoss(policy, innerStep(policy, theta, support, s.innerLr, T, createGraph));
  const kl = (theta: Tensor[]) => mean(meanKl(policy, adapted, innerStep(policy, theta, support, s.innerLr, T, createGraph), task.query));
  const trpo = trpoStep(params, objective, kl, settings);
  return { params: trpo.params, trpo, preReturn: meanOf(averageReturns(pre)), postReturn: meanOf(averageReturns(post)) };
}

/** One TRPO iteration of the pretrained baseline: the policy that does best on all tasks at once. */
export function pretrainTrpoStep<P>(env: Environment<P>, policy: GaussianPolicy, params: readonly Tensor[], rng: Rng, settings: MetaRlSettings = {}): MetaRlStep {
  const s = resolved(settings);
  const T = s.metaBatch;
  const tasks = env.sampleTasks(T, rng);
  const old = noGrad(() => tileParams(params, T));
  const episodes = rollout(env, policy, old, tasks, s.episodes, rng);
  const batch = policyBatch(policy, episodes, s.discount, old);
  const objective = (theta: Tensor[]) => mean(surrogate(policy, tileParams(theta, T), batch));
  const kl = (theta: Tensor[]) => mean(meanKl(policy, old, tileParams(theta, T), batch));
  const trpo = trpoStep(params, objective, kl, settings);
  return { params: trpo.params, trpo, preReturn: meanOf(averageReturns(episodes)) };
}

/** Options of {@link adaptationReturns}. */
export interface AdaptationOptions {
  /** Policy-gradient steps after the first evaluation. Default 3. */
  steps?: number;
  /** Episodes per task for each step and evaluation. Default 40 (the authors' test batch). */
  episodes?: number;
  /** Step size of the first policy-gradient step. Default 0.5. */
  lr?: number;
  /** Step size of the later steps. Default lr / 2, as the authors' evaluation script (`test_maml_point.py`) takes them. */
  laterLr?: number;
  /** Discount. Default 0.99. */
  discount?: number;
}

/**
 * Fine-tuning on each of `tasks` from `params` with vanilla policy gradient, as the paper
 * evaluates: `returns[k][i]` is task i's mean episode return after k steps; `rollouts[k]` the
 * episodes it was measured on.
 */
export function adaptationReturns<P>(env: Environment<P>, policy: GaussianPolicy, params: readonly Tensor[], tasks: readonly P[], rng: Rng, options: AdaptationOptions = {}): { returns: number[][]; rollouts: Rollouts[] } {
  const steps = options.steps ?? 3;
  const episodes = options.episodes ?? 40;
  const lr = options.lr ?? 0.5;
  const laterLr = options.laterLr ?? lr / 2;
  const discount = options.discount ?? 0.99;
  checkInteger('adaptationReturns: steps', steps, 0);
  let phi = noGrad(() => tileParams(params, tasks.length));
  const returns: number[][] = [];
  const all: Rollouts[] = [];
  for (let k = 0; k <= steps; k++) {
    const r = rollout(env, policy, phi, tasks, episodes, rng);
    returns.push(averageReturns(r));
    all.push(r);
    if (k === steps) break;
    const batch = policyBatch(policy, r, discount);
    const at = tracked(phi);
    const g = grad(sum(surrogate(policy, at, batch)), at, { allowUnused: true });
    const step = k === 0 ? lr : laterLr;
    phi = noGrad(() => at.map((p, j) => add(p, scale(g[j]!, -step)).detach()));
  }
  return { returns, rollouts: all };
}
