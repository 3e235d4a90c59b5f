/**
 * Sampling episodes with a policy, and what policy gradients need of them: discounted returns,
 * advantages against the linear feature baseline, normalised per task as rllab does.
 */
import { Tensor } from '../tensor.js';
import type { Rng } from '../random.js';
import { checkInteger } from '../checks.js';
import type { Environment } from './environment.js';
import type { GaussianPolicy } from './policy.js';
import { fitLinearBaseline } from './baseline.js';

/** Episodes of T tasks, `episodes` each, `horizon` steps at most, stored `[T, episodes·horizon, …]`. */
export interface Rollouts {
  /** T. */
  tasks: number;
  /** Episodes per task. */
  episodes: number;
  /** Steps per episode at most. */
  horizon: number;
  /** `[T, episodes·horizon, observationSize]` (the observation each action was taken at). */
  observations: Tensor;
  /** `[T, episodes·horizon, actionSize]`, the policy's raw samples. */
  actions: Tensor;
  /** `[T, episodes·horizon]`. */
  rewards: Float64Array;
  /** `[T, episodes·horizon]`: 1 for the steps the episode took, 0 after it ended. */
  mask: Tensor;
}

/**
 * Runs `episodes` episodes of each task with the policy whose parameters carry a leading task
 * axis (`params[i]` is `[T, …]`, one policy per task: `tileParams` for one policy everywhere).
 */
export function rollout<P>(env: Environment<P>, policy: GaussianPolicy, params: readonly Tensor[], tasks: readonly P[], episodes: number, rng: Rng): Rollouts {
  checkInteger('rollout: episodes', episodes);
  const T = tasks.length;
  if (params.some((p) => p.shape[0] !== T)) throw new RangeError(`rollout: the parameters need a leading axis of ${T} (one policy per task), got shapes ${params.map((p) => `[${p.shape.join(', ')}]`).join(' ')}`);
  const { horizon: H, observationSize: d, actionSize: a } = env;
  const batch = env.reset(tasks, episodes, rng);
  const steps = episodes * H;
  const obs = new Float32Array(T * steps * d);
  const act = new Float32Array(T * steps * a);
  const rewards = new Float64Array(T * steps);
  const mask = new Float32Array(T * steps);
  const alive = new Uint8Array(T * episodes).fill(1);
  for (let t = 0; t < H; t++) {
    const o = batch.observations();
    const sampled = policy.sample(params, new Tensor(o, [T, episodes, d]), rng);
    const { rewards: r, done } = batch.step(sampled);
    for (let e = 0; e < T * episodes; e++) {
      if (!alive[e]) continue;
      const task = Math.floor(e / episodes);
      const row = task * steps + (e % episodes) * H + t;
      obs.set(o.subarray(e * d, (e + 1) * d), row * d);
      act.set(sampled.subarray(e * a, (e + 1) * a), row * a);
      rewards[row] = r[e]!;
      mask[row] = 1;
      if (done[e]) alive[e] = 0;
    }
  }
  return { tasks: T, episodes, horizon: H, observations: new Tensor(obs, [T, steps, d]), actions: new Tensor(act, [T, steps, a]), rewards, mask: new Tensor(mask, [T, steps]) };
}

/** Each task's mean undiscounted episode return. */
export function averageReturns(r: Rollouts): number[] {
  const steps = r.episodes * r.horizon;
  return Array.from({ length: r.tasks }, (_, task) => {
    let s = 0;
    for (let i = 0; i < steps; i++) s += r.rewards[task * steps + i]!;
    return s / r.episodes;
  });
}

/**
 * Advantages `[T, episodes·horizon]`: discounted returns minus the linear feature baseline fitted
 * to each task's episodes, then centred and scaled to unit variance per task (0 where masked).
 */
export function advantages(r: Rollouts, discount: number): Tensor {
  const { tasks: T, episodes: N, horizon: H } = r;
  const d = r.observations.shape[2]!;
  const steps = N * H;
  const out = new Float32Array(T * steps);
  for (let task = 0; task < T; task++) {
    const rows: [number, number][] = [];
    const returns: number[] = [];
    for (let e = 0; e < N; e++) {
      const base = task * steps + e * H;
      let len = 0;
      while (len < H && r.mask.data[base + len] === 1) len++;
      const ret = new Float64Array(len);
      for (let t = len - 1, acc = 0; t >= 0; t--) ret[t] = acc = r.rewards[base + t]! + discount * acc;
      for (let t = 0; t < len; t++) {
        rows.push([(base + t) * d, t]);
        returns.push(ret[t]!);
      }
    }
    const b = fitLinearBaseline(r.observations.data as Float32Array, d, rows, Float64Array.from(returns));
    const adv = returns.map((g, i) => g - b[i]!);
    const mean = adv.reduce((s, v) => s + v, 0) / adv.length;
    const std = Math.sqrt(adv.reduce((s, v) => s + (v - mean) ** 2, 0) / adv.length);
    rows.forEach(([o], i) => (out[o / d] = (adv[i]! - mean) / (std + 1e-8)));
  }
  return new Tensor(out, [T, steps]);
}
