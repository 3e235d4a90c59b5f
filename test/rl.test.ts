/**
 * Meta-reinforcement learning: the 2-D navigation tasks, Gaussian policies, returns and the
 * linear feature baseline, the policy-gradient estimator (unbiased on a Gaussian bandit), the
 * Fisher-vector products against an explicit Fisher matrix, conjugate gradient, the TRPO step's
 * KL bound, and MAML's meta-gradient through a policy-gradient inner step against finite
 * differences (float64).
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { PolicyBatch, Rollouts, Tensor } from '../src/index.js';
import { expectClose } from './helpers/fd.js';

const f64 = { dtype: 'float64' as const };
const flat = (ts: readonly Tensor[]) => Float64Array.from(ts.flatMap((t) => Array.from(t.data)));

describe('Navigation2D', () => {
  test('moves by 0.1·clip(a, −1, 1), rewards the negative distance after the move, and ends within 0.01 of the goal', () => {
    const env = new mg.Navigation2D();
    const batch = env.reset([{ x: 0.3, y: -0.2 }, { x: 0.05, y: 0 }], 1);
    expect(Array.from(batch.observations())).toEqual([0, 0, 0, 0]);
    const s = batch.step(Float32Array.from([5, -0.5, 0.5, 0]));
    const pos = Array.from(batch.observations());
    expect(pos[0]).toBeCloseTo(0.1, 6);
    expect(pos[1]).toBeCloseTo(-0.05, 6);
    expect(pos[2]).toBeCloseTo(0.05, 6);
    expect(s.rewards[0]).toBeCloseTo(-Math.hypot(0.1 - 0.3, -0.05 + 0.2), 6);
    expect(Array.from(s.done)).toEqual([0, 1]); // the second reached its goal
    // An ended episode no longer moves or earns.
    const t = batch.step(Float32Array.from([0, 0, 1, 1]));
    expect(Array.from(batch.observations()).slice(2)).toEqual(pos.slice(2));
    expect(t.rewards[1]).toBe(0);
    expect(() => batch.step(new Float32Array(3))).toThrow(/expected 4 action values \(2 episodes × 2\), got 3/);
  });

  test('goals are uniform in [−0.5, 0.5]² and drawn from the generator given', () => {
    const env = new mg.Navigation2D();
    const goals = env.sampleTasks(2000, new mg.Rng(1));
    for (const g of goals) for (const v of [g.x, g.y]) expect(Math.abs(v)).toBeLessThanOrEqual(0.5);
    expect(goals.reduce((s, g) => s + g.x, 0) / goals.length).toBeCloseTo(0, 1);
    expect(env.sampleTasks(3, new mg.Rng(1))).toEqual(goals.slice(0, 3));
  });
});

describe('rollouts, returns and the baseline', () => {
  test('a rollout records each action at the observation it was taken, and masks the steps after an episode ends', () => {
    const env = new mg.Navigation2D(6);
    const policy = mg.gaussianMlpPolicy([2, 8, 2]);
    const params = policy.init({ rng: new mg.Rng(2) });
    const goals = [{ x: 0, y: 0.005 }, { x: 0.4, y: 0.4 }]; // the first ends at once: its goal is beside the start
    const r = mg.rollout(env, policy, mg.tileParams(params, 2), goals, 3, new mg.Rng(3));
    expect(r.observations.shape).toEqual([2, 18, 2]);
    expect(r.actions.shape).toEqual([2, 18, 2]);
    // Replaying the second task's first episode from its recorded actions gives its observations.
    let x = 0, y = 0;
    for (let t = 0; t < 6; t++) {
      const row = 18 + t;
      expect(r.observations.data[2 * row]).toBeCloseTo(x, 6);
      expect(r.observations.data[2 * row + 1]).toBeCloseTo(y, 6);
      x += 0.1 * Math.max(-1, Math.min(1, r.actions.data[2 * row]!));
      y += 0.1 * Math.max(-1, Math.min(1, r.actions.data[2 * row + 1]!));
      expect(r.rewards[row]).toBeCloseTo(-Math.hypot(x - 0.4, y - 0.4), 5);
    }
    expect(Array.from(r.mask.data.subarray(18, 36))).toEqual(Array(18).fill(1));
    const returns = mg.averageReturns(r);
    expect(returns[1]).toBeCloseTo((r.rewards.subarray(18, 36).reduce((a, b) => a + b, 0)) / 3, 9);
    // An ended episode's later steps are masked and earn nothing.
    const ended = Array.from(r.mask.data.subarray(0, 6));
    const first = ended.indexOf(0);
    if (first >= 0) {
      expect(ended.slice(first).every((m) => m === 0)).toBe(true);
      expect(Array.from(r.rewards.subarray(first, 6)).every((v) => v === 0)).toBe(true);
    }
  });

  test('ridgeSolve solves a symmetric positive definite system; the baseline fits returns that are linear in its features (to the ridge term\'s bias)', () => {
    const A = Float64Array.from([4, 1, 0, 1, 3, 1, 0, 1, 2]);
    const x = mg.ridgeSolve(A, Float64Array.from([1, 2, 3]), 3, 0);
    const Ax = [0, 1, 2].map((i) => A[3 * i]! * x[0]! + A[3 * i + 1]! * x[1]! + A[3 * i + 2]! * x[2]!);
    expectClose(Float64Array.from(Ax), Float64Array.from([1, 2, 3]), 1e-12, 'A x = b');
    // Returns = 2·s₀ − s₁² + 3·(t/100)² + 1, on 30 random steps.
    const rng = new mg.Rng(4);
    const obs = Float32Array.from({ length: 60 }, () => rng.uniformIn(-1, 1));
    const steps = Array.from({ length: 30 }, (_, i) => [2 * i, 3 * i] as const);
    const truth = Float64Array.from(steps, ([o, t]) => 2 * obs[o]! - obs[o + 1]! ** 2 + 3 * (t / 100) ** 2 + 1);
    expectClose(mg.fitLinearBaseline(obs, 2, steps, truth), truth, 1e-3, 'baseline fit');
    // A wrong fit is far off: the same returns shifted by one step's worth of t.
    expect(() => expectClose(mg.fitLinearBaseline(obs, 2, steps, truth.map((v, i) => v + (i % 2))), truth, 1e-3, 'shifted returns')).toThrow();
  });

  test('advantages are centred to unit variance per task over the steps taken, and 0 where masked', () => {
    const env = new mg.Navigation2D(20);
    const policy = mg.gaussianMlpPolicy([2, 8, 2]);
    const r = mg.rollout(env, policy, mg.tileParams(policy.init({ rng: new mg.Rng(5) }), 3), env.sampleTasks(3, new mg.Rng(6)), 4, new mg.Rng(7));
    const a = mg.advantages(r, 0.99);
    for (let task = 0; task < 3; task++) {
      const vals = Array.from(a.data.subarray(task * 80, (task + 1) * 80)).filter((_, i) => r.mask.data[task * 80 + i] === 1);
      const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
      expect(mean).toBeCloseTo(0, 5);
      expect(Math.sqrt(vals.reduce((s, v) => s + v * v, 0) / vals.length)).toBeCloseTo(1, 4);
    }
  });
});

describe('Gaussian policies', () => {
  const policy = mg.gaussianMlpPolicy([3, 5, 2], { activation: 'tanh', initStd: 0.7 });
  const rng = new mg.Rng(8);
  const params = policy.init({ rng, ...f64 });
  const obs = mg.randn([4, 3], { rng, ...f64 });
  const act = mg.randn([4, 2], { rng, ...f64 });

  test('logProb and kl are the closed forms of a diagonal Gaussian', () => {
    const mu = policy.forward(params, obs);
    const ls = params[params.length - 1]!.data;
    expect(ls[0]).toBeCloseTo(Math.log(0.7), 12);
    const lp = policy.logProb(params, obs, act);
    for (let i = 0; i < 4; i++) {
      let want = 0;
      for (let j = 0; j < 2; j++) want += -0.5 * ((act.data[2 * i + j]! - mu.data[2 * i + j]!) / Math.exp(ls[j]!)) ** 2 - ls[j]! - 0.5 * Math.log(2 * Math.PI);
      expect(lp.data[i]).toBeCloseTo(want, 12);
    }
    const other = params.map((p) => mg.add(p, mg.scale(mg.randn(p.shape, { rng, ...f64 }), 0.1)));
    const kl = policy.kl(params, other, obs);
    const mu2 = policy.forward(other, obs);
    const ls2 = other[other.length - 1]!.data;
    for (let i = 0; i < 4; i++) {
      let want = 0;
      for (let j = 0; j < 2; j++) want += ls2[j]! - ls[j]! + (Math.exp(2 * ls[j]!) + (mu.data[2 * i + j]! - mu2.data[2 * i + j]!) ** 2) / (2 * Math.exp(2 * ls2[j]!)) - 0.5;
      expect(kl.data[i]).toBeCloseTo(want, 12);
    }
    expect(Array.from(policy.kl(params, params, obs).data).every((v) => Math.abs(v) < 1e-14)).toBe(true);
  });

  test('the KL Hessian-vector products at the old policy are an explicit Fisher matrix’s products (float64)', () => {
    // F = mean over states of J_μᵀ diag(1/σ²) J_μ + 2 J_ℓᵀ J_ℓ (ℓ = log σ): a Gaussian's Fisher information.
    const n = flat(params).length;
    const leaves = params.map((p) => new mg.Tensor(p.data, p.shape, true));
    const F = new Float64Array(n * n);
    const sigma2 = Array.from(params[params.length - 1]!.data, (l) => Math.exp(2 * l));
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 2; j++) {
        const Jmu = flat(mg.grad(mg.slice(mg.slice(policy.forward(leaves, obs), 0, i, i + 1), 1, j, j + 1), leaves, { allowUnused: true }));
        for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) F[p * n + q] = F[p * n + q]! + (Jmu[p]! * Jmu[q]!) / sigma2[j]! / 4;
        const l = n - 2 + j; // logStd's entries are the last two parameters
        F[l * n + l] = F[l * n + l]! + 2 / 4;
      }
    }
    const Fv = mg.klCurvature(params, (p) => mg.mean(policy.kl(params, p, obs)));
    for (let trial = 0; trial < 3; trial++) {
      const v = Float64Array.from({ length: n }, () => rng.normal());
      const want = Float64Array.from({ length: n }, (_, p) => v.reduce((s, vq, q) => s + F[p * n + q]! * vq, 0));
      expectClose(Fv(v), want, 1e-10, 'F v');
    }
  });

  test('the REINFORCE estimate is unbiased: a Gaussian bandit’s gradient, within 4 standard errors', () => {
    // One state (input 1), reward −(a − 0.8)²: ∂E[r]/∂μ = −2(μ − 0.8), ∂E[r]/∂log σ = −2σ².
    const bandit = mg.gaussianMlpPolicy([1, 1], { initStd: 0.6 });
    const ps = [mg.tensor([[0.1]]), mg.tensor([[0.2]]), mg.tensor([[Math.log(0.6)]])];
    const mu = 0.3;
    const want = [-2 * (mu - 0.8), -2 * (mu - 0.8), -2 * 0.36];
    const draws = new mg.Rng(9);
    const estimates: number[][] = [];
    for (let b = 0; b < 30; b++) {
      const n = 4000;
      const obs = new mg.Tensor(new Float32Array(n).fill(1), [1, n, 1]);
      const tiled = mg.tileParams(ps, 1);
      const acts = bandit.sample(tiled, obs, draws);
      const r: Rollouts = { tasks: 1, episodes: n, horizon: 1, observations: obs, actions: new mg.Tensor(acts, [1, n, 1]), rewards: Float64Array.from(acts, (a) => -((a - 0.8) ** 2)), mask: new mg.Tensor(new Float32Array(n).fill(1), [1, n]) };
      const batch: PolicyBatch = { rollouts: r, advantages: new mg.Tensor(Float32Array.from(r.rewards), [1, n]) };
      const leaves = tiled.map((p) => new mg.Tensor(p.data, p.shape, true));
      estimates.push(Array.from(flat(mg.grad(mg.sum(mg.surrogate(bandit, leaves, batch)), leaves)), (g) => -g));
    }
    want.forEach((w, k) => {
      const xs = estimates.map((e) => e[k]!);
      const m = xs.reduce((s, v) => s + v, 0) / xs.length;
      const se = Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / (xs.length - 1) / xs.length);
      expect(Math.abs(m - w), `component ${k}: ${m} against ${w} (se ${se})`).toBeLessThan(4 * se);
      expect(se).toBeLessThan(0.05 * Math.abs(w) + 0.01); // precise enough for the test to mean something
    });
  });
});

describe('conjugate gradient and the TRPO step', () => {
  test('conjugate gradient solves a symmetric positive definite system in n steps, and refuses an indefinite one', () => {
    const rng = new mg.Rng(10);
    const n = 6;
    const B = Float64Array.from({ length: n * n }, () => rng.normal());
    const A = Float64Array.from({ length: n * n }, (_, k) => {
      const [i, j] = [Math.floor(k / n), k % n];
      let s = i === j ? 0.5 : 0;
      for (let m = 0; m < n; m++) s += B[i * n + m]! * B[j * n + m]!;
      return s;
    });
    const mul = (x: Float64Array) => Float64Array.from({ length: n }, (_, i) => x.reduce((s, xj, j) => s + A[i * n + j]! * xj, 0));
    const b = Float64Array.from({ length: n }, () => rng.normal());
    expectClose(mul(mg.conjugateGradient(mul, b, n)), b, 1e-8, 'CG solution');
    expect(() => mg.conjugateGradient((x) => x.map((v) => -v), b, 3)).toThrow(/not positive definite/);
  });

  const env = new mg.Navigation2D(15);
  const policy = mg.gaussianMlpPolicy([2, 16, 2]);

  test('a TRPO step improves the surrogate within the KL bound; a step that cannot improve leaves the parameters as they were', () => {
    const rng = new mg.Rng(11);
    const params = policy.init({ rng });
    const old = mg.tileParams(params, 4);
    const r = mg.rollout(env, policy, old, env.sampleTasks(4, rng), 5, rng);
    const batch = mg.policyBatch(policy, r, 0.99, old);
    const objective = (p: Tensor[]) => mg.mean(mg.surrogate(policy, mg.tileParams(p, 4), batch));
    const kl = (p: Tensor[]) => mg.mean(mg.meanKl(policy, old, mg.tileParams(p, 4), batch));
    for (const maxKl of [0.01, 0.001]) {
      const step = mg.trpoStep(params, objective, kl, { maxKl });
      expect(step.accepted).toBe(true);
      expect(step.after).toBeLessThan(step.before);
      expect(step.kl).toBeLessThanOrEqual(maxKl);
      expect(step.kl).toBeGreaterThan(maxKl / 100); // it used the trust region, not a vanishing step
      expect(kl(step.params).item()).toBeCloseTo(step.kl, 8);
    }
    // At the objective's minimum no step improves it.
    const bowl = (p: Tensor[]) => p.map((pi, i) => mg.sum(mg.square(mg.sub(pi, params[i]!)))).reduce((a, b) => mg.add(a, b));
    const stuck = mg.trpoStep(params, bowl, kl, { maxKl: 0.01, maxBacktracks: 2 });
    expect(stuck.accepted).toBe(false);
    expect(flat(stuck.params)).toEqual(flat(params));
  });

  test('bad TRPO settings are named; damping adds itself times v to every curvature product', () => {
    const p = [mg.tensor([0.5, -1], f64)];
    const f = (q: Tensor[]) => mg.sum(mg.square(q[0]!));
    for (const [settings, message] of [
      [{ backtrackRatio: 0 }, /backtrackRatio must be in \(0, 1\), got 0/],
      [{ backtrackRatio: 1 }, /backtrackRatio must be in \(0, 1\), got 1/],
      [{ maxKl: 0 }, /trpoStep: maxKl/],
      [{ cgIterations: 1.5 }, /trpoStep: cgIterations/],
    ] as const) expect(() => mg.trpoStep(p, f, f, settings)).toThrow(message);
    expect(() => mg.conjugateGradient((x) => x, new Float64Array(2), 0.5)).toThrow(/conjugateGradient: iterations/);
    // kl = Σ q², whose Hessian is 2I: (2 + d)·v.
    const v = Float64Array.from([1, -2]);
    expectClose(mg.klCurvature(p, f, 0.25)(v), Float64Array.from([2.25, -4.5]), 1e-12, 'damped F v');
    expectClose(mg.klCurvature(p, f)(v), Float64Array.from([2, -4]), 1e-12, 'F v');
  });

  test('MAML-TRPO and pretraining: steps within the KL bound, bit-identical for the same seed', () => {
    const s = { metaBatch: 3, episodes: 4, innerLr: 0.1 };
    const run = (step: typeof mg.mamlTrpoStep) => {
      const rng = new mg.Rng(12);
      let p = policy.init({ rng });
      const out: mg.MetaRlStep[] = [];
      for (let i = 0; i < 2; i++) {
        const r = mg.tidy(() => step(env, policy, p, rng, s));
        out.push(r);
        p = r.params;
      }
      return out;
    };
    for (const step of [mg.mamlTrpoStep, mg.pretrainTrpoStep]) {
      const a = run(step);
      const b = run(step);
      expect(flat(a[1]!.params)).toEqual(flat(b[1]!.params));
      for (const r of a) {
        if (r.trpo.accepted) expect(r.trpo.kl).toBeLessThanOrEqual(0.01);
        expect(Number.isFinite(r.preReturn)).toBe(true);
      }
    }
    expect(run(mg.mamlTrpoStep)[0]!.postReturn).toBeTypeOf('number');
  });
});

test("MAML's meta-gradient through a policy-gradient inner step equals central finite differences (float64)", () => {
  const policy = mg.gaussianMlpPolicy([2, 4, 2], { activation: 'tanh' });
  const rng = new mg.Rng(13);
  const params = policy.init({ rng, ...f64 });
  const T = 2, M = 6;
  const batch = (old?: Tensor[]): PolicyBatch => {
    const r: Rollouts = { tasks: T, episodes: 2, horizon: 3, observations: mg.randn([T, M, 2], { rng, ...f64 }), actions: mg.randn([T, M, 2], { rng, ...f64 }), rewards: new Float64Array(T * M), mask: mg.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]], f64) };
    const b: PolicyBatch = { rollouts: r, advantages: mg.randn([T, M], { rng, ...f64 }) };
    if (old !== undefined) b.oldLogProb = mg.noGrad(() => policy.logProb(old, r.observations, r.actions));
    return b;
  };
  const alpha = 0.3;
  const support = batch();
  const adaptedOld = mg.tileParams(params, T).map((p) => mg.add(p, mg.scale(mg.randn(p.shape, { rng, ...f64 }), 0.05)));
  const task = new mg.PolicyGradientTask(support, batch(adaptedOld));
  const objective = (theta: Tensor[]) => {
    const phi = mg.tileParams(theta, T);
    const g = mg.grad(task.supportLoss(policy, phi), phi, { createGraph: true });
    return task.queryLoss(policy, phi.map((p, j) => mg.add(p, mg.scale(g[j]!, -alpha))));
  };
  const [, grads] = mg.valueAndGrad(objective)(params);
  // The same gradient as the library's MAML over this Task.
  const viaMaml = mg.mamlTaskGradient(policy, params, task, { innerLr: alpha, innerSteps: 1, firstOrder: false });
  expectClose(flat(viaMaml.grads), flat(grads), 1e-12, 'MAML meta-gradient = the objective\'s gradient');
  // The second-order terms matter here: first-order MAML's gradient is far from the exact one.
  const fo = mg.mamlTaskGradient(policy, params, task, { innerLr: alpha, innerSteps: 1, firstOrder: true });
  expect(() => expectClose(flat(fo.grads), flat(grads), 1e-3, 'first order against exact')).toThrow();
  const h = 1e-6;
  const x = flat(params);
  const fd = x.map((_, k) => {
    const at = (d: number) => {
      let o = 0;
      const ps = params.map((p) => {
        const data = Float64Array.from(p.data);
        if (k >= o && k < o + p.size) data[k - o]! += d;
        o += p.size;
        return new mg.Tensor(data, p.shape);
      });
      return objectiveValue(ps);
    };
    return (at(h) - at(-h)) / (2 * h);
  });
  function objectiveValue(ps: Tensor[]): number {
    const phi = mg.tileParams(ps.map((p) => new mg.Tensor(p.data, p.shape, true)), T);
    const g = mg.grad(task.supportLoss(policy, phi), phi);
    return task.queryLoss(policy, phi.map((p, j) => mg.add(p.detach(), mg.scale(g[j]!, -alpha)))).item();
  }
  expectClose(flat(grads), fd, 1e-6, 'meta-gradient against finite differences');
});

describe('the planar runner (MuJoCo, mujoco-js)', () => {
  test('rewards: goal direction d·v − 0.05‖a‖², goal velocity −|v − v*| − 0.05‖a‖², actions clipped to [−1, 1]', async () => {
    const dir = await mg.PlanarRunner.create('direction', 20);
    const vel = await mg.PlanarRunner.create('velocity', 20);
    try {
      expect([dir.name, vel.name, dir.observationSize, dir.actionSize]).toEqual(['cheetah-dir', 'cheetah-vel', 17, 6]);
      const actions = Float32Array.from([5, -0.5, 0.25, -3, 0, 1]); // clipped: 1, −0.5, 0.25, −1, 0, 1
      const cost = 0.05 * (1 + 0.25 + 0.0625 + 1 + 0 + 1);
      const first = (env: mg.PlanarRunner, task: mg.RunnerTask) => {
        const b = env.reset([task], 1, new mg.Rng(5)); // the same start, so the same physics
        expect(b.observations()).toHaveLength(17);
        return b.step(actions).rewards[0]!;
      };
      const fwd = first(dir, { kind: 'direction', target: 1 });
      const back = first(dir, { kind: 'direction', target: -1 });
      expect(fwd + back).toBeCloseTo(-2 * cost, 9);
      const v = (fwd - back) / 2;
      expect(Math.abs(v)).toBeGreaterThan(1e-4); // the robot moved
      expect(first(vel, { kind: 'velocity', target: 0.7 })).toBeCloseTo(-Math.abs(v - 0.7) - cost, 9);
      expect(() => dir.reset([{ kind: 'direction', target: 1 }], 1, new mg.Rng(1)).step(new Float32Array(5))).toThrow(/expected 6 action values \(1 episodes × 6\), got 5/);
      // Tasks: velocities in [0, 2], directions ±1, both from the generator given.
      const goals = vel.sampleTasks(500, new mg.Rng(2));
      expect(goals.every((t) => t.kind === 'velocity' && t.target >= 0 && t.target <= 2)).toBe(true);
      expect(new Set(dir.sampleTasks(50, new mg.Rng(3)).map((t) => t.target))).toEqual(new Set([1, -1]));
      await expect(mg.PlanarRunner.create('sideways' as never)).rejects.toThrow(/kind must be 'velocity' or 'direction'/);
    } finally {
      dir.close();
      vel.close();
    }
  });

  test('a rollout of a meta-batch is the same for the same seed, and stays finite under random actions', async () => {
    const env = await mg.PlanarRunner.create('velocity', 30);
    try {
      const policy = mg.gaussianMlpPolicy([17, 16, 6]);
      const params = mg.tileParams(policy.init({ rng: new mg.Rng(4) }), 2);
      const run = () => mg.rollout(env, policy, params, env.sampleTasks(2, new mg.Rng(6)), 3, new mg.Rng(7));
      const [a, b] = [run(), run()];
      expect(Array.from(a.rewards)).toEqual(Array.from(b.rewards));
      expect(a.observations.data.every(Number.isFinite)).toBe(true);
      expect(a.observations.shape).toEqual([2, 90, 17]);
    } finally {
      env.close();
    }
  });
});
