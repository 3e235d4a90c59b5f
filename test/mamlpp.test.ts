/**
 * MAML++'s switches and the learned inner loops, each against float64 central finite differences
 * of the loss they differentiate (written here with forward passes only), and with every switch
 * off, plain MAML bit for bit.
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectClose, numericGrad } from './helpers/fd.js';

const f64 = { dtype: 'float64' as const };
const model = mg.mlp([1, 6, 6, 1], { activation: 'tanh' });
const flat = (ts: readonly Tensor[]) => Float64Array.from(ts.flatMap((t) => Array.from(t.data)));

function setup(seed: number) {
  const rng = new mg.Rng(seed);
  const theta = model.init({ rng, ...f64 });
  const batch = new mg.SineTasks({ rng, dtype: 'float64', shots: 5 }).sampleBatch(2);
  return { theta, batch, one: batch.split()[0]! };
}

/**
 * The MAML++ loss as a plain function of (θ, learned step sizes), forward passes only: k steps
 * φᵢ₊₁ = φᵢ − αᵢ ⊙ ∇Lᵢ(φᵢ) on the adapted parameters (their gradients taken on the tape, then
 * the step written out), Σ wᵢ L_query(φᵢ₊₁).
 */
function reference(task: mg.Task, k: number, lrOf: (extra: Tensor[], i: number, j: number) => Tensor | number, adapt: number[], weights: number[] | null, n: number, net: mg.Model = model) {
  return (all: Tensor[]): Tensor =>
    mg.enableGrad(() => {
      let phi = all.slice(0, n);
      const extra = all.slice(n);
      let loss: Tensor | null = null;
      for (let i = 0; i < k; i++) {
        const leaves = phi.map((p) => p.detach().requireGrad());
        const g = mg.grad(task.supportLoss(net, leaves, i), adapt.map((a) => leaves[a]!), { allowUnused: true });
        const next = [...phi];
        adapt.forEach((a, j) => {
          const lr = lrOf(extra, i, j);
          next[a] = mg.sub(phi[a]!, typeof lr === 'number' ? mg.scale(g[j]!, lr) : mg.mul(g[j]!, lr));
        });
        phi = next;
        if (weights !== null) {
          const term = mg.scale(task.queryLoss(net, phi, 'query', i + 1), weights[i]!);
          loss = loss === null ? term : mg.add(loss, term);
        }
      }
      return loss ?? task.queryLoss(net, phi, 'query', k);
    });
}

describe('against finite differences of the loss (first step sizes and weights perturbed too)', () => {
  const k = 2;
  const cases: [string, Omit<mg.MamlppSettings, 'innerLr' | 'innerSteps'>][] = [
    ['LSLR (per layer, per step)', { learnedLr: 'per-layer-per-step' }],
    ['Meta-SGD (per parameter)', { learnedLr: 'per-parameter' }],
    ['MSL, part-way through its annealing', { msl: { iterations: 10 } }],
    ['ANIL (the head adapts; the body learns through it)', { adapt: [4, 5] }],
    ['LSLR + MSL + ANIL together', { learnedLr: 'per-layer-per-step', msl: { iterations: 10 }, adapt: [2, 3, 4, 5] }],
  ];
  test.each(cases)('%s', (_, switches) => {
    const { theta, one } = setup(3);
    const { algorithm, extra } = mg.mamlpp(theta, { innerLr: 0.1, innerSteps: k, ...switches });
    // Learned step sizes away from their initial value, so each is its own number.
    const perturbed = extra.map((e, i) => mg.tensor(Array.from(e.data, (v, j) => v * (1 + 0.1 * Math.sin(3 * i + j))), { shape: e.shape, ...f64 }));
    const all = [...theta, ...perturbed];
    const iteration = 4;
    const { grads } = algorithm.metaGradient(model, all, [one], { iteration });
    const adapt = [...(switches.adapt ?? theta.map((_, i) => i))];
    const lrOf = (ex: Tensor[], i: number, j: number): Tensor | number =>
      switches.learnedLr === 'per-layer-per-step' ? mg.index(mg.index(ex[0]!, 0, i), 0, j) : switches.learnedLr === 'per-parameter' ? ex[j]! : 0.1;
    const weights = switches.msl === undefined ? null : mg.mslWeights(k, iteration, switches.msl.iterations);
    const numeric = numericGrad(reference(one, k, lrOf, adapt, weights, theta.length), all);
    grads.forEach((g, i) => expectClose(g.data, numeric[i]!, 1e-6, `${_}: d/d(param ${i})`));
  });
});

describe('per-step batch-norm weights (BNWB) in conv4', () => {
  test('each inner step uses its own γ and β: the MAML++ meta-gradient with LSLR and MSL equals finite differences', () => {
    const net = mg.conv4({ classes: 2, filters: 2, side: 8, stepNorms: 3 });
    const rng = new mg.Rng(9);
    const theta = net.init({ rng, ...f64 });
    expect(theta).toHaveLength(4 * (2 + 2 * 3) + 2);
    // Distinct per-step norms, so a step using the wrong set would show.
    const all = theta.map((t, i) => mg.tensor(Array.from(t.data, (v, j) => v + 0.05 * Math.sin(i + 3 * j)), { shape: t.shape, ...f64 }));
    const task = mg.supervisedTask({ xSupport: mg.rand([4, 8, 8, 1], { rng, ...f64 }), ySupport: [0, 1, 0, 1], xQuery: mg.rand([4, 8, 8, 1], { rng, ...f64 }), yQuery: [1, 0, 0, 1] }, { loss: 'cross-entropy' });
    const { algorithm, extra } = mg.mamlpp(all, { innerLr: 0.2, innerSteps: 2, learnedLr: 'per-layer-per-step', msl: { iterations: 10 } });
    const params = [...all, ...extra];
    const { grads } = algorithm.metaGradient(net, params, [task], { iteration: 3 });
    const lrOf = (ex: Tensor[], i: number, j: number) => mg.index(mg.index(ex[0]!, 0, i), 0, j);
    // h = 1e-7: at the usual 1e-5 one ReLU input of this small net lies within h of its kink.
    const numeric = numericGrad(reference(task, 2, lrOf, all.map((_, i) => i), mg.mslWeights(2, 3, 10), all.length, net), params, 1e-7);
    grads.forEach((g, i) => expectClose(g.data, numeric[i]!, 1e-6, `BNWB: d/d(param ${i})`));
    // The forward pass after step s reads set s: changing set 2 changes only what step 2 computes.
    const x = task.xQuery;
    const at2 = net.forward(all, x, { step: 2 });
    const moved = all.map((t, i) => (i === 6 ? mg.scale(t, 2) : t)); // block 0's γ of set 2
    expect(Array.from(net.forward(moved, x, { step: 1 }).data)).toEqual(Array.from(net.forward(all, x, { step: 1 }).data));
    expect(Array.from(net.forward(moved, x, { step: 2 }).data)).not.toEqual(Array.from(at2.data));
    expect(Array.from(net.forward(all, x, { step: 5 }).data)).toEqual(Array.from(at2.data)); // past the last set: the last
  });
});

describe('switches', () => {
  test('all off is plain MAML bit for bit, on one task and on a stacked batch', () => {
    const { theta, batch, one } = setup(5);
    for (const task of [one, batch] as mg.Task[]) {
      const { algorithm, extra } = mg.mamlpp(theta, { innerLr: 0.05, innerSteps: 3 });
      expect(extra).toEqual([]);
      const ours = algorithm.metaGradient(model, theta, [task], { iteration: 0 });
      const plain = mg.maml({ innerLr: 0.05, innerSteps: 3, firstOrder: false, tail: 'separate' }).metaGradient(model, theta, [task]);
      expect(ours.loss).toBe(plain.loss);
      expect(flat(ours.grads)).toEqual(flat(plain.grads));
    }
  });

  test('derivative-order annealing: first order (FOMAML) before the set iteration, second order from it', () => {
    const { theta, one } = setup(6);
    const { algorithm } = mg.mamlpp(theta, { innerLr: 0.05, innerSteps: 2, secondOrderFrom: 10 });
    const fo = mg.maml({ innerLr: 0.05, innerSteps: 2, firstOrder: true, tail: 'separate' }).metaGradient(model, theta, [one]);
    const so = mg.maml({ innerLr: 0.05, innerSteps: 2, firstOrder: false, tail: 'separate' }).metaGradient(model, theta, [one]);
    expectClose(flat(algorithm.metaGradient(model, theta, [one], { iteration: 9 }).grads), flat(fo.grads), 1e-13, 'before');
    expectClose(flat(algorithm.metaGradient(model, theta, [one], { iteration: 10 }).grads), flat(so.grads), 1e-13, 'from');
  });

  test('the multi-step loss weights: uniform at first, annealed towards the last step, floored; and cosine annealing', () => {
    expect(mg.mslWeights(4, 0, 100)).toEqual([0.25, 0.25, 0.25, 0.25]);
    const mid = mg.mslWeights(4, 50, 100);
    expect(mid[0]).toBeCloseTo(0.125, 12);
    expect(mid.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(mg.mslWeights(4, 1000, 100)).toEqual([0.0075, 0.0075, 0.0075, 1 - 3 * 0.0075]);
    const ca = mg.cosineAnnealing(1e-3, 1e-5, 100);
    expect(ca(0)).toBe(1e-3);
    expect(ca(50)).toBeCloseTo(0.5 * (1e-3 + 1e-5), 15);
    expect(ca(100)).toBeCloseTo(1e-5, 15);
    expect(ca(500)).toBeCloseTo(1e-5, 15);
  });

  test('a learner meta-trains θ and the learned step sizes together; bad switches are named', () => {
    const rng = new mg.Rng(7);
    const net = mg.mlp([1, 40, 40, 1]);
    const theta = net.init({ rng });
    const { algorithm, extra } = mg.mamlpp(theta, { innerLr: 0.01, innerSteps: 2, learnedLr: 'per-layer-per-step', msl: { iterations: 100 } });
    const learner = new mg.MetaLearner(net, [...theta, ...extra], algorithm, new mg.Adam({ lr: 1e-3 }), { schedule: mg.cosineAnnealing(1e-3, 1e-4, 100) });
    const tasks = new mg.SineTasks({ rng });
    for (let i = 0; i < 20; i++) expect(Number.isFinite(learner.step(tasks.sampleBatch(10)))).toBe(true);
    expect(Array.from(learner.params.at(-1)!.data).some((v) => v !== 0.01)).toBe(true); // the step sizes moved
    expect(() => mg.mamlpp(theta, { innerLr: 0.01, innerSteps: 2, adapt: [9] })).toThrow(/MAML\+\+: adapt must list distinct indices of the 6 model parameters, got \[9\]/);
    expect(() => mg.mamlpp(theta, { innerLr: 0.01, innerSteps: 2, learnedLr: 'yes' as never })).toThrow(/learnedLr must be 'none', 'per-layer-per-step' or 'per-parameter'/);
    expect(() => algorithm.metaGradient(net, theta, [tasks.sampleBatch(2)])).toThrow(/MAML\+\+: expected the 6 model parameters and 1 learned step sizes, got 6 tensors/);
  });
});

describe('MAML through differentiable inner optimisers', () => {
  /** The adapted query loss with the inner steps computed in plain float64 arithmetic from first-order gradients: forward only. */
  function reference(task: mg.Task, steps: number, update: (p: Float64Array[], g: Float64Array[], t: number) => Float64Array[]) {
    return (theta: Tensor[]): Tensor =>
      mg.enableGrad(() => {
        let phi: Float64Array[] = theta.map((p) => Float64Array.from(p.data));
        for (let t = 1; t <= steps; t++) {
          const leaves = phi.map((d, i) => mg.tensor(d, { shape: theta[i]!.shape, ...f64, requiresGrad: true }));
          const g = mg.grad(task.supportLoss(model, leaves, t - 1), leaves).map((x) => Float64Array.from(x.data));
          phi = update(phi, g, t);
        }
        return task.queryLoss(model, phi.map((d, i) => mg.tensor(d, { shape: theta[i]!.shape, ...f64 })));
      });
  }

  test('Adam (β1 0.9 and 0) and SGD with momentum: the meta-gradient equals finite differences of the adapted loss', () => {
    const { theta, one } = setup(8);
    const adam = (lr: number, b1: number, b2: number, eps: number) => {
      let m: Float64Array[] = [], v: Float64Array[] = [];
      return (p: Float64Array[], g: Float64Array[], t: number) => {
        if (t === 1) [m, v] = [g.map((x) => x.map(() => 0)), g.map((x) => x.map(() => 0))];
        return p.map((pi, i) => pi.map((x, j) => {
          m[i]![j] = b1 * m[i]![j]! + (1 - b1) * g[i]![j]!;
          v[i]![j] = b2 * v[i]![j]! + (1 - b2) * g[i]![j]! ** 2;
          return x - (lr * (m[i]![j]! / (1 - b1 ** t))) / Math.sqrt(v[i]![j]! / (1 - b2 ** t) + eps * eps);
        }));
      };
    };
    const momentum = (lr: number, mu: number) => {
      let b: Float64Array[] = [];
      return (p: Float64Array[], g: Float64Array[], t: number) => {
        b = t === 1 ? g.map((x) => Float64Array.from(x)) : b.map((bi, i) => bi.map((x, j) => mu * x + g[i]![j]!));
        return p.map((pi, i) => pi.map((x, j) => x - lr * b[i]![j]!));
      };
    };
    const cases: [string, mg.DifferentiableOptimizer, () => (p: Float64Array[], g: Float64Array[], t: number) => Float64Array[]][] = [
      ['Adam β1 0.9', mg.differentiableAdam({ lr: 0.05, beta1: 0.9, eps: 1e-3 }), () => adam(0.05, 0.9, 0.999, 1e-3)],
      ['Adam β1 0', mg.differentiableAdam({ lr: 0.05, beta1: 0, eps: 1e-3 }), () => adam(0.05, 0, 0.999, 1e-3)],
      ['SGD momentum 0.9', mg.differentiableSgd({ lr: 0.1, momentum: 0.9 }), () => momentum(0.1, 0.9)],
    ];
    for (const [name, opt, update] of cases) {
      const { grads, loss } = mg.maml({ innerLr: 1, innerSteps: 3, firstOrder: false, tail: 'separate', differentiableInner: opt }).metaGradient(model, theta, [one]);
      // A fresh update closure for each evaluation, so its state starts empty.
      const f = (th: Tensor[]) => reference(one, 3, update())(th);
      expect(loss).toBeCloseTo(f(theta).item(), 12);
      const numeric = numericGrad(f, theta);
      grads.forEach((g, i) => expectClose(g.data, numeric[i]!, 1e-6, `${name}: d/dθ${i}`));
    }
    // Plain SGD on the tape is MAML's own inner loop.
    const sgd = mg.maml({ innerLr: 1, innerSteps: 2, firstOrder: false, tail: 'separate', differentiableInner: mg.differentiableSgd({ lr: 0.05 }) }).metaGradient(model, theta, [one]);
    const plain = mg.maml({ innerLr: 0.05, innerSteps: 2, firstOrder: false, tail: 'separate' }).metaGradient(model, theta, [one]);
    expectClose(flat(sgd.grads), flat(plain.grads), 1e-13, 'SGD on the tape');
    expect(() => mg.differentiableAdam({ beta1: 1 })).toThrow(/differentiableAdam: beta1 must be in \[0, 1\), got 1/);
    expect(() => mg.differentiableSgd({ lr: 0 })).toThrow(/differentiableSgd: lr must be a positive number, got 0/);
  });
});
