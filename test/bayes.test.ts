/**
 * PLATIPUS, BMAML, EMAML and SVGD against float64 finite differences of forward-only references,
 * and the predictive measures against hand-worked cases.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectClose, numericGrad } from './helpers/fd.js';

const f64 = { dtype: 'float64' as const };
const flat = (ts: readonly Tensor[]) => Float64Array.from(ts.flatMap((t) => Array.from(t.data)));
const model = mg.mlp([1, 4, 1], { activation: 'tanh' });

function oneTask(seed: number, shots = 4): mg.Task {
  return new mg.SineTasks({ rng: new mg.Rng(seed), dtype: 'float64', shots }).sampleBatch(1).split()[0]!;
}

/** Random particles: `shapes` tensors with a leading axis M. */
function randomParticles(M: number, shapes: number[][], seed: number): Tensor[] {
  const rng = new mg.Rng(seed);
  return shapes.map((s) => mg.randn([M, ...s], { rng, ...f64 }));
}

describe('SVGD', () => {
  test('the direction is (1/M) Σⱼ k(θⱼ, θᵢ) sⱼ plus the repulsive term, against finite differences of the kernel', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 2 ** 30 }), (M, seed) => {
        const shapes = [[2], [1, 3]];
        const theta = randomParticles(M, shapes, seed);
        const scores = randomParticles(M, shapes, seed + 1);
        const h = mg.medianBandwidth(mg.particleDistances(theta));
        const phi = flat(mg.svgdDirection(theta, scores));
        // Plain float64 reference: particles as vectors, the kernel's gradient by central differences.
        const D = 5;
        const vec = (ts: Tensor[], m: number) => [...ts[0]!.data.slice(m * 2, m * 2 + 2), ...ts[1]!.data.slice(m * 3, m * 3 + 3)];
        const X = Array.from({ length: M }, (_, m) => vec(theta, m));
        const S = Array.from({ length: M }, (_, m) => vec(scores, m));
        const k = (a: number[], b: number[]) => Math.exp(-a.reduce((acc, v, i) => acc + (v - b[i]!) ** 2, 0) / h);
        const want = Array.from({ length: M }, () => new Float64Array(D));
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < M; j++) {
            for (let d = 0; d < D; d++) {
              const up = [...X[j]!];
              const down = [...X[j]!];
              up[d]! += 1e-6;
              down[d]! -= 1e-6;
              const dk = (k(up, X[i]!) - k(down, X[i]!)) / 2e-6;
              want[i]![d]! += (k(X[j]!, X[i]!) * S[j]![d]! + dk) / M;
            }
          }
        }
        // Back to the stacked layout: tensor 0's entries of every particle, then tensor 1's.
        const expected = [...want.flatMap((w) => [w[0]!, w[1]!]), ...want.flatMap((w) => [w[2]!, w[3]!, w[4]!])];
        expectClose(phi, expected, 1e-7, `M = ${M}`);
      }),
      { numRuns: 25 },
    );
  });

  test('the bandwidth is the median of squared distances over pairs, over log M', () => {
    const theta = [mg.tensor([[0], [1], [3]], f64)];
    // Pairs: 1, 9, 4 → median 4.
    expect(mg.medianBandwidth(mg.particleDistances(theta))).toBeCloseTo(4 / Math.log(3), 12);
    expect(mg.medianBandwidth(mg.particleDistances([mg.tensor([[2]], f64)]))).toBe(1);
  });

  test('the direction differentiates correctly through the kernel and the scores (second order, bandwidth held)', () => {
    const theta = randomParticles(3, [[2], [2]], 7);
    const h = mg.medianBandwidth(mg.particleDistances(theta));
    const weights = randomParticles(3, [[2], [2]], 8);
    // A density whose score depends on the particles: log p = −Σ sin(θ)².
    const f = (ps: Tensor[]) => {
      const logp = ps.reduce<Tensor>((acc, p) => mg.add(acc, mg.scale(mg.sum(mg.square(mg.sin(p))), -1)), mg.tensor(0, f64));
      const scores = mg.isGradEnabled() ? mg.grad(logp, ps, { createGraph: true }) : scoresOffTape(ps);
      const phi = mg.svgdDirection(ps, scores, { bandwidth: h });
      return phi.reduce<Tensor>((acc, d, t) => mg.add(acc, mg.sum(mg.mul(d, weights[t]!))), mg.tensor(0, f64));
    };
    // The finite-difference side evaluates without the tape: the score written out, −2 sin θ cos θ.
    const scoresOffTape = (ps: Tensor[]) => ps.map((p) => mg.scale(mg.mul(mg.sin(p), mg.cos(p)), -2));
    const leaves = theta.map((t) => t.detach().requireGrad());
    const analytic = mg.grad(f(leaves), leaves);
    const numeric = numericGrad(f, theta);
    analytic.forEach((g, i) => expectClose(g.data, numeric[i]!, 1e-6, `d/dθ${i}`));
  });

  test('with one particle an SVGD step is exactly a gradient-descent step', () => {
    const task = oneTask(3);
    const theta = model.init({ rng: new mg.Rng(4), ...f64 });
    const stacked = theta.map((p) => mg.unsqueeze(p, 0));
    const pt = mg.particleTask(task, 1);
    const svgd = mg.svgdStep(stacked, (p) => mg.scale(pt.supportLoss(model, p, 0), -1), 0.05);
    const gd = mg.sgdInnerLoop(theta, [(p) => task.supportLoss(model, p, 0)], 0.05).params;
    svgd.forEach((p, j) => expect(Array.from(p.data)).toEqual(Array.from(gd[j]!.data)));
  });
});

describe('BMAML', () => {
  const settings = { innerLr: 0.03, innerSteps: 2, leaderSteps: 1, priorPrecision: 0.1 };

  test('the chaser-loss meta-gradient matches finite differences with the leader held constant (it receives no gradient)', () => {
    const task = oneTask(11, 3);
    const theta0 = mg.initParticles(model, 3, { rng: new mg.Rng(12), ...f64 });
    const algo = mg.bmaml(settings);
    const pt = mg.particleTask(task, 3);
    const logp = (on: 'support' | 'both', step: number) => (p: Tensor[]) => {
      let L = pt.supportLoss(model, p, step);
      if (on === 'both') L = mg.add(L, mg.scale(pt.queryLoss(model, p, 'query', step), 3));
      return p.reduce<Tensor>((acc, q) => mg.add(acc, mg.scale(mg.sum(mg.square(q)), -0.05)), mg.scale(L, -1));
    };
    // At the base point: each step's bandwidth, and the leader.
    const bandwidths: number[] = [];
    let chaser = theta0;
    for (let i = 0; i < 2; i++) {
      bandwidths.push(mg.medianBandwidth(mg.particleDistances(chaser)));
      chaser = mg.svgdStep(chaser, logp('support', i), 0.03);
    }
    const leader = mg.svgdStep(chaser, logp('both', 2), 0.03);
    // Forward only: Θ₀ ↦ Σ ‖Θₙ(Θ₀) − leader‖², the leader and bandwidths fixed.
    const reference = (ps: Tensor[]) =>
      mg.enableGrad(() => {
        let c = ps.map((p) => p.detach());
        for (let i = 0; i < 2; i++) c = mg.svgdStep(c, logp('support', i), 0.03, { bandwidth: bandwidths[i] });
        return c.reduce<Tensor>((acc, p, j) => mg.add(acc, mg.sum(mg.square(mg.sub(p, leader[j]!)))), mg.tensor(0, f64));
      });
    const { grads, loss } = algo.taskGradient!(model, theta0, task);
    expect(loss).toBeCloseTo(reference(theta0).item(), 12);
    const numeric = numericGrad(reference, theta0);
    grads.forEach((g, i) => expectClose(g.data, numeric[i]!, 1e-6, `∂/∂Θ₀[${i}]`));
  });

  test('first order drops only the second-order terms: its gradient is 2 Σ (Θₙ − leader)', () => {
    const task = oneTask(13, 3);
    const theta0 = mg.initParticles(model, 2, { rng: new mg.Rng(14), ...f64 });
    const exact = mg.bmaml(settings).taskGradient!(model, theta0, task);
    const first = mg.bmaml({ ...settings, firstOrder: true }).taskGradient!(model, theta0, task);
    expect(first.loss).toBeCloseTo(exact.loss, 12);
    expect(flat(first.grads)).not.toEqual(flat(exact.grads));
    // With the chaser's Jacobian the identity, the gradient is the distance's own: 2(Θₙ − leader).
    const adapted = mg.bmaml(settings).adapt(model, theta0, task);
    const leader = mg.svgdStep(adapted, (p) => {
      const pt = mg.particleTask(task, 2);
      const L = mg.add(pt.supportLoss(model, p, 2), mg.scale(pt.queryLoss(model, p, 'query', 2), 2));
      return p.reduce<Tensor>((acc, q) => mg.add(acc, mg.scale(mg.sum(mg.square(q)), -0.05)), mg.scale(L, -1));
    }, 0.03);
    expectClose(flat(first.grads), flat(adapted.map((a, j) => mg.scale(mg.sub(a, leader[j]!), 2))), 1e-12, 'first order');
  });

  test('a stacked meta-batch is the mean over its tasks; adaptation changes the particles', () => {
    const batch = new mg.SineTasks({ rng: new mg.Rng(15), dtype: 'float64', shots: 3 }).sampleBatch(2);
    const theta0 = mg.initParticles(model, 2, { rng: new mg.Rng(16), ...f64 });
    const algo = mg.bmaml(settings);
    const whole = algo.metaGradient(model, theta0, [batch]);
    const parts = batch.split().map((t) => algo.taskGradient!(model, theta0, t));
    expectClose(flat(whole.grads), flat(parts[0]!.grads).map((v, i) => (v + flat(parts[1]!.grads)[i]!) / 2), 1e-12, 'mean');
    const adapted = algo.adapt(model, theta0, batch.split()[0]!);
    expect(flat(adapted)).not.toEqual(flat(theta0));
  });

  test('bad settings and particles are named', () => {
    expect(() => mg.bmaml({ innerLr: -1, innerSteps: 1 })).toThrow(/BMAML: innerLr/);
    expect(() => mg.bmaml({ innerLr: 0.1, innerSteps: 1.5 })).toThrow(/BMAML: innerSteps/);
    const bad = [mg.zeros([2, 3], f64), mg.zeros([3, 1], f64)];
    expect(() => mg.bmaml({ innerLr: 0.1, innerSteps: 1 }).taskGradient!(model, bad, oneTask(1))).toThrow(/leading particle axis/);
  });
});

describe('EMAML', () => {
  test('particle m\'s meta-gradient is its own MAML gradient over M', () => {
    const task = oneTask(21, 3);
    const theta0 = mg.initParticles(model, 3, { rng: new mg.Rng(22), ...f64 });
    const { grads, loss } = mg.emaml({ innerLr: 0.05, innerSteps: 2 }).taskGradient!(model, theta0, task);
    const maml = mg.maml({ innerLr: 0.05, innerSteps: 2, firstOrder: false, tail: 'separate' });
    let lossSum = 0;
    for (let m = 0; m < 3; m++) {
      const own = maml.taskGradient!(model, mg.noGrad(() => mg.particle(theta0, m)), task);
      lossSum += own.loss;
      own.grads.forEach((g, j) => expectClose(mg.noGrad(() => mg.index(grads[j]!, 0, m)).data, Float64Array.from(g.data, (v) => v / 3), 1e-12, `particle ${m}, tensor ${j}`));
    }
    expect(loss).toBeCloseTo(lossSum / 3, 12);
  });

  test('adaptation is each particle\'s own gradient descent', () => {
    const task = oneTask(23, 3);
    const theta0 = mg.initParticles(model, 2, { rng: new mg.Rng(24), ...f64 });
    const adapted = mg.emaml({ innerLr: 0.05, innerSteps: 2 }).adapt(model, theta0, task);
    for (let m = 0; m < 2; m++) {
      const own = mg.sgdInnerLoop(mg.noGrad(() => mg.particle(theta0, m)), [0, 1].map((i) => (p: Tensor[]) => task.supportLoss(model, p, i)), 0.05).params;
      expectClose(flat(mg.noGrad(() => mg.particle(adapted, m))), flat(own), 1e-12, `particle ${m}`);
    }
  });
});

describe('PLATIPUS', () => {
  const net = mg.mlp([1, 3, 1], { activation: 'tanh' });
  const settings = { innerLr: 0.05, innerSteps: 2, klWeight: 0.7, initialStd: 0.3 };

  function setup(seed: number) {
    const theta = net.init({ rng: new mg.Rng(seed), ...f64 });
    const { algorithm, extra } = mg.platipus(theta, settings);
    // Move the variances and step sizes off their initial values so every term is exercised.
    const rng = new mg.Rng(seed + 1);
    const params = [...theta, ...extra.map((e) => mg.add(e, mg.scale(mg.randn(e.shape, { rng, ...f64 }), 0.2)))];
    const noise = [0, 1].map(() => theta.map((p) => mg.randn(p.shape, { rng, ...f64 })));
    return { algorithm, params, noise, n: theta.length };
  }

  test('the variational objective\'s gradient (prior mean and variance, posterior variance, step sizes) matches finite differences at fixed noise', () => {
    const { algorithm, params, noise } = setup(31);
    const task = oneTask(32, 3);
    const f = (ps: Tensor[]) => mg.enableGrad(() => algorithm.objective(net, ps, task, noise));
    const leaves = params.map((p) => p.detach().requireGrad());
    const analytic = mg.grad(f(leaves), leaves);
    const numeric = numericGrad(f, params);
    analytic.forEach((g, i) => expectClose(g.data, numeric[i]!, 1e-6, `∂/∂param ${i}`));
  });

  test('the KL term is that of two diagonal Gaussians', () => {
    const { algorithm, params, noise, n } = setup(33);
    const task = oneTask(34, 3);
    const withKl = algorithm.objective(net, params, task, noise).item();
    const { algorithm: noKl } = mg.platipus(params.slice(0, n), { ...settings, klWeight: 0 });
    const fit = noKl.objective(net, params, task, noise).item();
    // The KL by hand from the two means (μ − γ ∇L) and the variances.
    const { mean, logVariance, posteriorLogVariance, stepSizes } = algorithm.split(params);
    const leaves = mean.map((m) => m.detach().requireGrad());
    const gq = mg.grad(task.queryLoss(net, leaves, 'query', 0), leaves);
    const gp = mg.grad(task.supportLoss(net, leaves, 0), leaves);
    let kl = 0;
    mean.forEach((m, j) => {
      for (let e = 0; e < m.size; e++) {
        const muQ = m.data[e]! - stepSizes.data[1]! * gq[j]!.data[e]!;
        const muP = m.data[e]! - stepSizes.data[0]! * gp[j]!.data[e]!;
        const lv = logVariance[j]!.data[e]!;
        const lq = posteriorLogVariance[j]!.data[e]!;
        kl += 0.5 * (lv - lq + (Math.exp(lq) + (muQ - muP) ** 2) / Math.exp(lv) - 1);
      }
    });
    expect(withKl).toBeCloseTo(fit + 0.7 * kl, 10);
  });

  test('training noise follows (seed, iteration): the same iteration gives the same gradient, another a different one', () => {
    const { algorithm, params } = setup(35);
    const tasks = [oneTask(36, 3)];
    const a = algorithm.metaGradient(net, params, tasks, { iteration: 5 });
    const b = algorithm.metaGradient(net, params, tasks, { iteration: 5 });
    const c = algorithm.metaGradient(net, params, tasks, { iteration: 6 });
    expect(flat(a.grads)).toEqual(flat(b.grads));
    expect(flat(a.grads)).not.toEqual(flat(c.grads));
  });

  test('adaptation draws are deterministic under a seed and differ between draws', () => {
    const { algorithm, params } = setup(37);
    const task = oneTask(38, 3);
    const a = algorithm.adapt(net, params, task, { samples: 3, rng: new mg.Rng(1) });
    const b = algorithm.adapt(net, params, task, { samples: 3, rng: new mg.Rng(1) });
    expect(a[0]!.shape).toEqual([3, ...params[0]!.shape]);
    expect(flat(a)).toEqual(flat(b));
    const first = mg.noGrad(() => mg.particle(a, 0));
    const second = mg.noGrad(() => mg.particle(a, 1));
    expect(flat(first)).not.toEqual(flat(second));
  });

  test('a wrong parameter list, a stacked task to adapt to, and an empty noise list are named', () => {
    const { algorithm, params } = setup(39);
    expect(() => algorithm.objective(net, params.slice(1), oneTask(1), [])).toThrow(/PLATIPUS: expected the 4 model parameters/);
    expect(() => algorithm.objective(net, params, oneTask(1), [])).toThrow(/at least one draw of noise/);
    const batch = new mg.SineTasks({ rng: new mg.Rng(2), dtype: 'float64', shots: 3 }).sampleBatch(2);
    expect(() => algorithm.adapt(net, params, batch)).toThrow(/PLATIPUS\.adapt: give one task at a time \(this one stacks 2/);
    expect(() => mg.emaml({ innerLr: 0.1, innerSteps: 1 }).adapt(net, mg.initParticles(net, 2, f64), batch)).toThrow(/particleTask: give one task at a time/);
  });
});

describe('predictive measures', () => {
  test('normal quantiles', () => {
    expect(mg.normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(mg.normalQuantile(0.5)).toBe(0);
    expect(mg.normalQuantile(0.01)).toBeCloseTo(-2.326347874040841, 8);
    expect(() => mg.normalQuantile(1)).toThrow(/\(0, 1\)/);
  });

  test('regression: mean, variance with noise, MSE, NLL and coverage by hand', () => {
    const outputs = mg.tensor([[[1], [0]], [[3], [2]]], f64); // 2 members, 2 points
    const p = mg.regressionPredictive(outputs, { noiseVariance: 0.5 });
    expect(Array.from(p.mean)).toEqual([2, 1]);
    expect(Array.from(p.variance)).toEqual([1.5, 1.5]);
    const s = mg.regressionScores(p, [2, 3]);
    expect(s.mse).toBeCloseTo(2, 12);
    expect(s.nll).toBeCloseTo(0.5 * Math.log(2 * Math.PI * 1.5) + (0 + 4 / 3) / 2 / 1, 12);
    // Half-widths √1.5·z: 0.83 at 50%, 2.01 at 90%; the errors are 0 and 2.
    expect(s.coverage).toEqual({ '0.5': 0.5, '0.9': 1 });
  });

  test('coverage of a true Gaussian predictive is its level', () => {
    const rng = new mg.Rng(5);
    const n = 20000;
    const p = { mean: new Float64Array(n), variance: new Float64Array(n).fill(4) };
    const y = Array.from({ length: n }, () => 2 * rng.normal());
    const s = mg.regressionScores(p, y);
    expect(s.coverage['0.5']).toBeCloseTo(0.5, 1.5);
    expect(s.coverage['0.9']).toBeCloseTo(0.9, 1.5);
  });

  test('calibration: accuracy, ECE, MCE and the reliability table by hand', () => {
    const probs = [
      [0.95, 0.05],
      [0.9, 0.1],
      [0.35, 0.65],
      [0.4, 0.6],
    ];
    const c = mg.calibration(probs, [0, 1, 1, 0], 2);
    expect(c.accuracy).toBe(0.5);
    // Bin [0.5, 1): all four; confidence 0.775, accuracy 0.5.
    expect(c.bins[1]!.count).toBe(4);
    expect(c.bins[1]!.confidence).toBeCloseTo(0.775, 12);
    expect(c.ece).toBeCloseTo(0.275, 12);
    expect(c.mce).toBeCloseTo(0.275, 12);
    expect(() => mg.calibration(probs, [0, 1, 2, 0])).toThrow(/label 2 is 2/);
  });

  test('class probabilities average the members\' softmax', () => {
    const logits = mg.tensor([[[0, 0]], [[Math.log(3), 0]]], f64);
    const [row] = mg.classProbabilities(logits);
    expect(row![0]).toBeCloseTo((0.5 + 0.75) / 2, 12);
  });
});

describe('what the Bayesian methods refuse, and edge cases', () => {
  test('the median of an even number of pairs is the mean of the middle two', () => {
    // Four particles on a line: pairs 1, 4, 9, 1, 4, 1 → sorted 1 1 1 4 4 9, median (1 + 4)/2.
    const theta = [mg.tensor([[0], [1], [2], [3]], f64)];
    expect(mg.medianBandwidth(mg.particleDistances(theta))).toBeCloseTo(2.5 / Math.log(4), 12);
    // Coinciding particles: bandwidth 1, not 0 (the kernel would divide by it).
    expect(mg.medianBandwidth(mg.particleDistances([mg.tensor([[1], [1]], f64)]))).toBe(1);
  });

  test('distances are exact on the diagonal and symmetric', () => {
    const d = mg.particleDistances(randomParticles(4, [[3], [2, 2]], 3));
    for (let i = 0; i < 4; i++) {
      expect(d.data[i * 5]).toBe(0);
      for (let j = 0; j < 4; j++) expect(d.data[i * 4 + j]).toBeCloseTo(d.data[j * 4 + i]!, 12);
    }
  });

  test('an explicit bandwidth is used as given, and a bad one is refused', () => {
    const theta = randomParticles(3, [[2]], 4);
    const { kernel, bandwidth } = mg.rbfKernel(theta, 2);
    expect(bandwidth).toBe(2);
    const d = mg.particleDistances(theta);
    expectClose(kernel.data, Float64Array.from(d.data, (v) => Math.exp(-v / 2)), 1e-14, 'kernel');
    expect(() => mg.rbfKernel(theta, 0)).toThrow(/rbfKernel: bandwidth/);
  });

  test('SVGD names mismatched particles and scores', () => {
    const theta = randomParticles(3, [[2], [1]], 5);
    expect(() => mg.svgdDirection(theta, theta.slice(1))).toThrow(/2 particle tensors but 1 scores|particle tensors but/);
    expect(() => mg.svgdDirection(theta, [theta[0]!, mg.zeros([3, 2], f64)])).toThrow(/scores\[1\] must have the particles' shape \[3,1\]/);
    expect(() => mg.svgdDirection([mg.zeros([3, 2], f64), mg.zeros([2, 2], f64)], [])).toThrow(/same leading particle axis/);
    expect(() => mg.svgdDirection([], [])).toThrow(/non-empty list/);
    expect(() => mg.svgdStep(theta, () => mg.zeros([2], f64), 0.1)).toThrow(/logDensity must return a scalar Tensor/);
    expect(() => mg.svgdStep(theta, (p) => mg.sum(p[0]!), -0.1)).toThrow(/svgdStep: stepSize/);
  });

  test('an SVGD step off the tape is detached; on the tape it keeps the graph', () => {
    const theta = randomParticles(2, [[2]], 6).map((t) => t.requireGrad());
    const logp = (p: Tensor[]) => mg.scale(mg.sum(mg.square(p[0]!)), -1);
    const off = mg.svgdStep(theta, logp, 0.1);
    expect(off[0]!.requiresGrad).toBe(false); // values, off the tape
    expect(() => mg.grad(mg.sum(off[0]!), theta)).toThrow();
    const on = mg.svgdStep(theta, logp, 0.1, { createGraph: true });
    expect(flat(on)).toEqual(flat(off));
    const [g] = mg.grad(mg.sum(on[0]!), theta);
    expect(g!.shape).toEqual([2, 2]);
  });

  test('settings are checked by name', () => {
    expect(() => mg.bmaml({ innerLr: 0.1, innerSteps: 1, leaderSteps: 0 })).toThrow(/BMAML: leaderSteps/);
    expect(() => mg.bmaml({ innerLr: 0.1, innerSteps: 1, leaderLr: 0 })).toThrow(/BMAML: leaderLr/);
    expect(() => mg.bmaml({ innerLr: 0.1, innerSteps: 1, temperature: -1 })).toThrow(/BMAML: temperature/);
    expect(() => mg.bmaml({ innerLr: 0.1, innerSteps: 1, priorPrecision: -1 })).toThrow(/BMAML: priorPrecision/);
    expect(() => mg.emaml({ innerLr: 0, innerSteps: 1 })).toThrow(/EMAML: innerLr/);
    expect(() => mg.emaml({ innerLr: 0.1, innerSteps: 0 })).toThrow(/EMAML: innerSteps/);
    const theta = model.init({ rng: new mg.Rng(1), ...f64 });
    expect(() => mg.platipus(theta, { innerLr: 0, innerSteps: 1 })).toThrow(/PLATIPUS: innerLr/);
    expect(() => mg.platipus(theta, { innerLr: 0.1, innerSteps: 0 })).toThrow(/PLATIPUS: innerSteps/);
    expect(() => mg.platipus(theta, { innerLr: 0.1, innerSteps: 1, klWeight: -1 })).toThrow(/PLATIPUS: klWeight/);
    expect(() => mg.platipus(theta, { innerLr: 0.1, innerSteps: 1, samples: 0 })).toThrow(/PLATIPUS: samples/);
    expect(() => mg.platipus(theta, { innerLr: 0.1, innerSteps: 1, testSamples: 1.5 })).toThrow(/PLATIPUS: testSamples/);
    expect(() => mg.platipus(theta, { innerLr: 0.1, innerSteps: 1, initialStd: 0 })).toThrow(/PLATIPUS: initialStd/);
    expect(() => mg.platipus(theta, { innerLr: 0.1, innerSteps: 1, seed: 0.5 })).toThrow(/PLATIPUS: seed must be a safe integer/);
    expect(() => mg.platipus([], { innerLr: 0.1, innerSteps: 1 })).toThrow(/PLATIPUS: the model has no parameters/);
  });

  test('PLATIPUS starts from the prior it is given: log-variances of the initial std, step sizes α', () => {
    const theta = model.init({ rng: new mg.Rng(1), ...f64 });
    const { extra, algorithm } = mg.platipus(theta, { innerLr: 0.07, innerSteps: 1, initialStd: 0.5 });
    expect(extra).toHaveLength(2 * theta.length + 1);
    for (const e of extra.slice(0, -1)) for (const v of e.data) expect(v).toBeCloseTo(2 * Math.log(0.5), 12);
    expect(Array.from(extra[extra.length - 1]!.data)).toEqual([0.07, 0.07]);
    const named = algorithm.split([...theta, ...extra]);
    expect(named.mean).toEqual(theta);
    expect(named.stepSizes).toBe(extra[extra.length - 1]);
    // Draws: as many as asked, each an adapted model; the default count is testSamples.
    const task = oneTask(3, 3);
    expect(algorithm.adapt(model, [...theta, ...extra], task)[0]!.shape[0]).toBe(10);
    expect(algorithm.adapt(model, [...theta, ...extra], task, { samples: 2 })[0]!.shape[0]).toBe(2);
  });

  test('a particle task of any Task runs the particles one at a time with the same losses', () => {
    const task = oneTask(41, 3);
    const theta = mg.initParticles(model, 3, { rng: new mg.Rng(42), ...f64 });
    const batched = mg.particleTask(task, 3);
    // A task that is not an MSE supervisedTask takes the particle-by-particle path.
    const wrapped: mg.Task = { supportLoss: (m, p, s) => task.supportLoss(m, p, s), queryLoss: (m, p, on, s) => task.queryLoss(m, p, on, s), score: (m, p, s) => task.score(m, p, s) };
    const looped = mg.particleTask(wrapped, 3);
    expect(looped.stacked).toBe(3);
    expect(looped.supportLoss(model, theta, 0).item()).toBeCloseTo(batched.supportLoss(model, theta, 0).item(), 12);
    expect(looped.queryLoss(model, theta).item()).toBeCloseTo(batched.queryLoss(model, theta).item(), 12);
    expect(looped.score(model, theta)).toHaveLength(3);
    expect(looped.score(model, theta)[1]).toBeCloseTo(task.score(model, mg.particle(theta, 1))[0]!, 12);
    // Predictions: all particles at once, or one at a time, the same.
    const x = mg.tensor([[0.5], [-1]], f64);
    expectClose(mg.predictParticles(model, theta, x).data, mg.predictParticles(model, theta, x, { byParticle: true }).data, 1e-14, 'predictions');
  });
});

describe('predictive measures refuse what they cannot score', () => {
  test('shapes, noise, lengths, bins', () => {
    expect(mg.normalQuantile(0.99)).toBeCloseTo(2.326347874040841, 8);
    expect(mg.normalQuantile(0.3)).toBeCloseTo(-0.5244005127080407, 8);
    expect(() => mg.regressionPredictive(mg.zeros([3], f64))).toThrow(/\[members, points\]/);
    expect(() => mg.regressionPredictive(mg.zeros([2, 3, 2], f64))).toThrow(/\[members, points, 1\], got \[2,3,2\]/);
    expect(() => mg.regressionPredictive(mg.zeros([2, 3], f64), { noiseVariance: -1 })).toThrow(/noiseVariance must be a finite number ≥ 0/);
    const p = mg.regressionPredictive(mg.zeros([2, 3], f64));
    expect(() => mg.regressionScores(p, [1, 2])).toThrow(/3 predictions but 2 targets/);
    expect(mg.regressionScores(p, [0, 0, 0]).nll).toBeNaN(); // zero variance
    expect(() => mg.calibration([], [])).toThrow(/no predictions/);
    expect(() => mg.calibration([[1, 0]], [0, 1])).toThrow(/1 predictions but 2 labels/);
    expect(() => mg.calibration([[1, 0]], [0], 0)).toThrow(/bins must be a positive integer/);
    expect(() => mg.classProbabilities(mg.zeros([2, 3], f64))).toThrow(/\[members, points, classes\]/);
    // A confidence of exactly 1 falls in the last bin.
    expect(mg.calibration([[1, 0]], [0], 4).bins[3]!.count).toBe(1);
  });
});

describe('details the mutation run asked about', () => {
  test('the temperature divides the scores: one particle at τ = 2 steps as gradient descent at half the step', () => {
    const task = oneTask(51, 3);
    const theta = mg.initParticles(model, 1, { rng: new mg.Rng(52), ...f64 });
    const hot = mg.bmaml({ innerLr: 0.1, innerSteps: 2, temperature: 2 }).adapt(model, theta, task);
    const gd = mg.sgdInnerLoop(mg.particle(theta, 0), [0, 1].map((i) => (p: Tensor[]) => task.supportLoss(model, p, i)), 0.05).params;
    expectClose(flat(hot), flat(gd), 1e-12, 'τ = 2');
  });

  test('the chaser sees support steps 0 … n−1, the leader n … n+s−1, each with the query loss at its step', () => {
    const task = oneTask(53, 3);
    const seen: string[] = [];
    const recording: mg.Task = {
      supportLoss: (m, p, step) => (seen.push(`support ${step}`), task.supportLoss(m, p, step)),
      queryLoss: (m, p, on, step) => (seen.push(`query ${step}`), task.queryLoss(m, p, on, step)),
      score: (m, p, step) => task.score(m, p, step),
    };
    const theta = mg.initParticles(model, 2, { rng: new mg.Rng(54), ...f64 });
    mg.bmaml({ innerLr: 0.01, innerSteps: 2, leaderSteps: 2 }).taskGradient!(model, theta, recording);
    expect([...new Set(seen)]).toEqual(['support 0', 'support 1', 'support 2', 'query 2', 'support 3', 'query 3']);
    expect(seen.filter((s) => s === 'support 0')).toHaveLength(2); // once per particle
  });

  test('particle tasks keep mini-batches and cross-entropy: the losses are the particles\' own', () => {
    const theta = mg.initParticles(model, 2, { rng: new mg.Rng(55), ...f64 });
    const x = mg.tensor([[0.1], [0.5], [-0.3], [0.9]], f64);
    const y = mg.tensor([[1], [0], [2], [-1]], f64);
    const batched = mg.supervisedTask({ xSupport: x, ySupport: y, xQuery: x, yQuery: y }, { batches: [[0, 1], [2, 3]] });
    const classes = mg.supervisedTask({ xSupport: x, ySupport: [0, 1, 1, 0], xQuery: x, yQuery: [1, 0, 0, 1] }, { loss: 'cross-entropy' });
    const net = mg.mlp([1, 4, 2], { activation: 'tanh' });
    const thetaC = mg.initParticles(net, 2, { rng: new mg.Rng(56), ...f64 });
    for (const [task, ps, m] of [[batched, theta, model], [classes, thetaC, net]] as const) {
      const pt = mg.particleTask(task, 2);
      for (const step of [0, 1]) {
        const own = [0, 1].reduce((acc, k) => acc + task.supportLoss(m, mg.particle(ps, k), step).item(), 0);
        expect(pt.supportLoss(m, ps, step).item()).toBeCloseTo(own, 12);
      }
    }
  });

  test('predictions one particle at a time work for models without a task axis', () => {
    const flatOnly: mg.Model = {
      init: ({ rng } = {}) => [mg.randn([1, 1], { rng, ...f64 })],
      forward: ([w], x) => {
        if (x.ndim !== 2) throw new RangeError('two-dimensional inputs only');
        return mg.matmul(x, w!);
      },
    };
    const ps = mg.initParticles(flatOnly, 3, { rng: new mg.Rng(57) });
    const x = mg.tensor([[1], [2]], f64);
    expect(mg.predictParticles(flatOnly, ps, x, { byParticle: true }).shape).toEqual([3, 2, 1]);
    expect(() => mg.predictParticles(flatOnly, ps, x)).toThrow(/failed on a stacked meta-batch/);
  });

  test('bandwidth of two particles, and particles that are vectors', () => {
    expect(mg.medianBandwidth(mg.particleDistances([mg.tensor([0, 3], f64)]))).toBeCloseTo(9 / Math.log(2), 12);
    const step = mg.svgdStep([mg.tensor([0, 1, 3], f64)], (p) => mg.scale(mg.sum(mg.square(p[0]!)), -0.5), 0.1);
    expect(step[0]!.shape).toEqual([3]);
  });

  test('class probabilities keep points and members apart, and calibration counts right answers', () => {
    // Two members, two points, two classes.
    const logits = mg.tensor([[[0, 0], [Math.log(3), 0]], [[Math.log(3), 0], [0, Math.log(3)]]], f64);
    const [p0, p1] = mg.classProbabilities(logits);
    expect(p0![0]).toBeCloseTo((0.5 + 0.75) / 2, 12);
    expect(p1![0]).toBeCloseTo((0.75 + 0.25) / 2, 12);
    const c = mg.calibration([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], [0, 0, 1, 1], 5);
    expect(c.accuracy).toBe(0.75);
    // A tie goes to the first class.
    expect(mg.calibration([[0.5, 0.5]], [0], 2).accuracy).toBe(1);
    expect(() => mg.normalQuantile(0)).toThrow(/\(0, 1\)/);
  });

  test('PLATIPUS training noise depends on the seed, also beyond 2^32', () => {
    const net = mg.mlp([1, 3, 1], { activation: 'tanh' });
    const theta = net.init({ rng: new mg.Rng(58), ...f64 });
    const task = [oneTask(59, 3)];
    const grads = (seed: number) => {
      const { algorithm, extra } = mg.platipus(theta, { innerLr: 0.05, innerSteps: 1, seed, initialStd: 0.3 });
      return flat(algorithm.metaGradient(net, [...theta, ...extra], task, { iteration: 0 }).grads);
    };
    const [a, b, c] = [grads(1), grads(2), grads(2 ** 32 + 1)];
    expect(a).not.toEqual(b);
    expect(a).not.toEqual(c);
  });
});

describe('the mutation run\'s remaining questions', () => {
  test('a stacked task\'s taskGradient is the mean over its tasks; first-order EMAML is each particle\'s FOMAML over M', () => {
    const batch = new mg.SineTasks({ rng: new mg.Rng(61), dtype: 'float64', shots: 3 }).sampleBatch(2);
    const theta = mg.initParticles(model, 2, { rng: new mg.Rng(62), ...f64 });
    for (const algo of [mg.bmaml({ innerLr: 0.02, innerSteps: 1 }), mg.emaml({ innerLr: 0.02, innerSteps: 1 })]) {
      expectClose(flat(algo.taskGradient!(model, theta, batch).grads), flat(algo.metaGradient(model, theta, [batch]).grads), 1e-14, algo.name);
    }
    const task = batch.split()[0]!;
    const first = mg.emaml({ innerLr: 0.05, innerSteps: 2, firstOrder: true }).taskGradient!(model, theta, task);
    const fomaml = mg.maml({ innerLr: 0.05, innerSteps: 2, firstOrder: true, tail: 'separate' });
    for (let m = 0; m < 2; m++) {
      const own = fomaml.taskGradient!(model, mg.noGrad(() => mg.particle(theta, m)), task);
      own.grads.forEach((g, j) => expectClose(mg.noGrad(() => mg.index(first.grads[j]!, 0, m)).data, Float64Array.from(g.data, (v) => v / 2), 1e-12, `particle ${m}`));
    }
  });

  test('PLATIPUS averages its fit over the draws, and adapts with its own seed by default', () => {
    const net = mg.mlp([1, 3, 1], { activation: 'tanh' });
    const theta = net.init({ rng: new mg.Rng(63), ...f64 });
    const { algorithm, extra } = mg.platipus(theta, { innerLr: 0.05, innerSteps: 1, seed: 7, initialStd: 0.2 });
    const params = [...theta, ...extra];
    const task = oneTask(64, 3);
    const eps = theta.map((p) => mg.randn(p.shape, { rng: new mg.Rng(65), ...f64 }));
    expect(algorithm.objective(net, params, task, [eps, eps]).item()).toBeCloseTo(algorithm.objective(net, params, task, [eps]).item(), 12);
    expect(flat(algorithm.adapt(net, params, task, { samples: 2 }))).toEqual(flat(algorithm.adapt(net, params, task, { samples: 2, rng: new mg.Rng(7) })));
  });

  test('a particle task with innerBatch keeps its mini-batches; labels must be class indices', () => {
    const x = mg.tensor([[0.1], [0.5], [-0.3], [0.9]], f64);
    const y = mg.tensor([[1], [0], [2], [-1]], f64);
    const task = mg.supervisedTask({ xSupport: x, ySupport: y, xQuery: x, yQuery: y }, { innerBatch: 2, order: [3, 2, 1, 0] });
    const theta = mg.initParticles(model, 2, { rng: new mg.Rng(66), ...f64 });
    const own = [0, 1].reduce((acc, k) => acc + task.supportLoss(model, mg.particle(theta, k), 0).item(), 0);
    expect(mg.particleTask(task, 2).supportLoss(model, theta, 0).item()).toBeCloseTo(own, 12);
    expect(() => mg.calibration([[0.6, 0.4]], [-1])).toThrow(/label 0 is -1/);
    expect(() => mg.calibration([[0.6, 0.4]], [0.5])).toThrow(/label 0 is 0.5/);
  });

  test('float32 particles: the distances\' diagonal is exactly zero', () => {
    const rng = new mg.Rng(67);
    const d = mg.particleDistances([mg.randn([4, 300], { rng }), mg.randn([4, 17, 3], { rng })]);
    for (let i = 0; i < 4; i++) expect(Math.abs(d.data[i * 5]!)).toBe(0);
  });
});
