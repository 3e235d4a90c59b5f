import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectClose, numericGrad } from './helpers/fd.js';

const f64 = { dtype: 'float64' as const };

/** A 3-way task on 4 features: 2 support and 2 query examples per class, labels out of order. */
function featureTask(seed: number, ways = 3, features = 4): mg.SupervisedTask {
  const rng = new mg.Rng(seed);
  const ySupport = Int32Array.from({ length: 2 * ways }, (_, i) => (i * 2) % ways);
  const yQuery = Int32Array.from({ length: 2 * ways }, (_, i) => i % ways);
  return mg.supervisedTask(
    { xSupport: mg.randn([2 * ways, features], { rng, ...f64 }), ySupport, xQuery: mg.randn([2 * ways, features], { rng, ...f64 }), yQuery },
    { loss: 'cross-entropy' },
  );
}

function params(algo: mg.LeoAlgorithm, seed: number): Tensor[] {
  return algo.init({ rng: new mg.Rng(seed), ...f64 });
}

const tiny = { ways: 3, features: 4, latent: 2, innerSteps: 2, finetuneSteps: 2, innerLr: 0.5, finetuneLr: 0.1, klWeight: 0.1, encoderPenalty: 0, weightDecay: 0.01, orthogonality: 0.2 };

describe('LEO', () => {
  for (const [name, extra] of [
    ['latent inner loop, relation net, fine-tuning', {}],
    ['no relation net', { relationNet: false }],
    ['inner loop in weight space', { space: 'weights' as const }],
    ['no fine-tuning, with dropout', { finetuneSteps: 0, dropout: 0.4 }],
  ] as const) {
    test(`the meta-gradient matches central finite differences (${name})`, () => {
      const algo = mg.leo({ ...tiny, ...extra });
      const task = featureTask(1);
      const theta = params(algo, 2);
      const noise = algo.noise(task, new mg.Rng(3), 'float64');
      const f = (ps: Tensor[]): Tensor => algo.objective(algo.classifier, ps, task, noise).loss;
      const leaves = theta.map((p) => new mg.Tensor(p.data, p.shape, true));
      const analytic = mg.grad(f(leaves), leaves, { allowUnused: true });
      const numeric = numericGrad(f, theta, 1e-6);
      analytic.forEach((g, i) => expectClose(g.data, numeric[i]!, 1e-6, `∂/∂param ${i}`));
      // Second order matters: the meta-gradient is not the one with the inner gradients held constant.
      expect(analytic.some((g) => g.data.some((v) => v !== 0))).toBe(true);
    });
  }

  test('the encoder penalty pulls z₀ towards the adapted codes held constant: its meta-gradient is that of γ mean((z₀ − stop(z_k))²)', () => {
    const task = featureTask(21);
    const without = mg.leo(tiny);
    const withPenalty = mg.leo({ ...tiny, encoderPenalty: 0.3 });
    const theta = params(without, 22);
    const noise = without.noise(task, new mg.Rng(23), 'float64');
    const gradOf = (algo: mg.LeoAlgorithm): Tensor[] => {
      const leaves = theta.map((p) => new mg.Tensor(p.data, p.shape, true));
      return mg.grad(algo.objective(algo.classifier, leaves, task, noise).loss, leaves, { allowUnused: true });
    };
    const zk = mg.noGrad(() => without.objective(without.classifier, theta, task, noise).latents.adapted.detach());
    const penalty = (ps: Tensor[]): Tensor => mg.scale(mg.mean(mg.square(mg.sub(without.objective(without.classifier, ps, task, noise).latents.initial, zk))), 0.3);
    const numeric = numericGrad(penalty, theta, 1e-6);
    const [a, b] = [gradOf(withPenalty), gradOf(without)];
    a.forEach((g, i) => expectClose(Array.from(g.data, (v, j) => v - b[i]!.data[j]!), numeric[i]!, 1e-6, `∂/∂param ${i}`));
    expect(numeric[0]!.some((v) => Math.abs(v) > 1e-4)).toBe(true);
  });

  test('the orthogonality penalty is the mean squared gap between the rows\' cosine similarities and I, and its gradient matches finite differences', () => {
    const w = mg.tensor([[1, 0, 0], [1, 1, 0]], f64);
    // cos = 1/√2 off the diagonal: mean over 4 entries of (2 · ½) = 0.25
    expect(mg.orthogonalityPenalty(w).item()).toBeCloseTo(0.25, 14);
    expect(mg.orthogonalityPenalty(mg.tensor([[2, 0], [0, 3]], f64)).item()).toBe(0);
    const x = mg.randn([3, 5], { rng: new mg.Rng(4), ...f64 });
    const leaf = new mg.Tensor(x.data, x.shape, true);
    const g = mg.grad(mg.orthogonalityPenalty(leaf), [leaf])[0]!;
    expectClose(g.data, numericGrad(([t]) => mg.orthogonalityPenalty(t!), [x], 1e-6)[0]!, 1e-7, 'orthogonality');
  });

  test('training noise is deterministic under the seed and differs between meta-iterations; adapting uses no noise', () => {
    const algo = mg.leo({ ...tiny, seed: 7 });
    const task = featureTask(5);
    const theta = params(algo, 6);
    const a = algo.metaGradient(algo.classifier, theta, [task], { iteration: 3 });
    const b = algo.metaGradient(algo.classifier, theta, [task], { iteration: 3 });
    const c = algo.metaGradient(algo.classifier, theta, [task], { iteration: 4 });
    expect(a.loss).toBe(b.loss);
    a.grads.forEach((g, i) => expect(Array.from(g.data)).toEqual(Array.from(b.grads[i]!.data)));
    expect(c.loss).not.toBe(a.loss);
    const w1 = algo.adapt(algo.classifier, theta, task);
    const w2 = algo.adapt(algo.classifier, theta, task);
    expect(w1.shape).toEqual([3, 4]);
    expect(Array.from(w1.data)).toEqual(Array.from(w2.data));
  });

  test('the latent distribution is per class: permuting the support examples within the episode changes nothing', () => {
    const algo = mg.leo(tiny);
    const task = featureTask(8);
    const theta = params(algo, 9);
    const perm = [5, 0, 3, 1, 4, 2];
    const permuted = mg.supervisedTask({ xSupport: mg.selectRows(task.xSupport, perm), ySupport: Int32Array.from(perm, (i) => (task.ySupport as Int32Array)[i]!), xQuery: task.xQuery, yQuery: task.yQuery }, { loss: 'cross-entropy' });
    expectClose(algo.adapt(algo.classifier, theta, permuted).data, algo.adapt(algo.classifier, theta, task).data, 1e-12, 'permuted support');
  });

  test('the meta-gradient is clipped elementwise, then by its global norm', () => {
    const task = featureTask(10);
    const loose = mg.leo({ ...tiny, clipValue: Infinity, clipNorm: Infinity });
    const theta = params(loose, 11);
    const raw = loose.metaGradient(loose.classifier, theta, [task]);
    const byValue = mg.leo({ ...tiny, clipValue: 1e-3, clipNorm: Infinity }).metaGradient(loose.classifier, theta, [task]);
    byValue.grads.forEach((g, i) => g.data.forEach((v, j) => expect(v).toBe(Math.max(-1e-3, Math.min(1e-3, raw.grads[i]!.data[j]!)))));
    const byNorm = mg.leo({ ...tiny, clipValue: Infinity, clipNorm: 1e-3 }).metaGradient(loose.classifier, theta, [task]);
    const norm = (gs: Tensor[]): number => Math.sqrt(gs.reduce((s, g) => s + Array.from(g.data).reduce((a, v) => a + v * v, 0), 0));
    expect(norm(raw.grads)).toBeGreaterThan(1e-3);
    expect(norm(byNorm.grads)).toBeCloseTo(1e-3, 12);
    expectClose(byNorm.grads[0]!.data, Array.from(raw.grads[0]!.data, (v) => (v * 1e-3) / norm(raw.grads)), 1e-12, 'direction kept');
  });

  test('meta-training on separable features raises query accuracy on new tasks', () => {
    // Each class is a random direction in feature space; tasks draw 3 of 8 directions.
    const rng = new mg.Rng(12);
    const dirs = mg.randn([8, 6], { rng, ...f64 });
    const sample = (r: mg.Rng): mg.SupervisedTask => {
      const classes = r.sample(8, 3);
      const rows = (k: number) => mg.tensor(Array.from({ length: 3 * k }, (_, i) => Array.from({ length: 6 }, (_, j) => dirs.data[classes[i % 3]! * 6 + j]! + 0.8 * r.normal())), f64);
      return mg.supervisedTask({ xSupport: rows(1), ySupport: Int32Array.from([0, 1, 2]), xQuery: rows(3), yQuery: Int32Array.from({ length: 9 }, (_, i) => i % 3) }, { loss: 'cross-entropy' });
    };
    const algo = mg.leo({ ways: 3, features: 6, latent: 4, innerSteps: 2, finetuneSteps: 1, innerLr: 1, finetuneLr: 0.01 });
    const learner = new mg.MetaLearner(algo.classifier, algo.init({ rng: new mg.Rng(13), ...f64 }), algo, new mg.Adam({ lr: 1e-2 }));
    const accuracy = (): number => {
      const r = new mg.Rng(99);
      let acc = 0;
      for (let i = 0; i < 40; i++) {
        const t = sample(r);
        acc += t.score(algo.classifier, [algo.adapt(algo.classifier, learner.params, t)])[0]! / 40;
      }
      return acc;
    };
    const before = accuracy();
    const train = new mg.Rng(14);
    for (let i = 0; i < 200; i++) learner.step([sample(train), sample(train)]);
    const after = accuracy();
    expect(after).toBeGreaterThan(before + 0.08);
    expect(after).toBeGreaterThan(0.8);
  });

  test('refuses settings, parameters and tasks it cannot use, naming them', () => {
    expect(() => mg.leo({ ways: 3, features: 4, latnet: 2 } as never)).toThrow(/latnet/);
    expect(() => mg.leo({ ways: 0, features: 4 })).toThrow(/ways/);
    expect(() => mg.leo({ ways: 3, features: 4, dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    expect(() => mg.leo({ ways: 3, features: 4, space: 'params' as never })).toThrow(/space must be 'latent' or 'weights'/);
    const algo = mg.leo(tiny);
    const theta = params(algo, 1);
    const task = featureTask(1);
    expect(() => algo.adapt(algo.classifier, theta.slice(1), task)).toThrow(/expected 7 tensors/);
    expect(() => algo.adapt(algo.classifier, [mg.zeros([5, 2], f64), ...theta.slice(1)], task)).toThrow(/encoder must be \[4,2\], got \[5,2\]/);
    expect(() => algo.adapt(algo.classifier, theta, featureTask(1, 3, 5))).toThrow(/support features must be \[n, 4\]/);
    expect(() => algo.adapt(algo.classifier, theta, featureTask(1, 2))).toThrow(/class 1 has no support example/);
    const mseTask = mg.supervisedTask({ xSupport: mg.zeros([3, 4], f64), ySupport: mg.zeros([3, 1], f64), xQuery: mg.zeros([3, 4], f64), yQuery: mg.zeros([3, 1], f64) });
    expect(() => algo.adapt(algo.classifier, theta, mseTask)).toThrow(/cross-entropy/);
    expect(() => algo.classifier.init()).toThrow(/generated per task/);
  });

  test('LeoTrainer: a run stopped and resumed from its state ends where the uninterrupted run ends; a different configuration is refused', () => {
    const emb = mg.randn([12, 20, 6], { rng: new mg.Rng(30) });
    const config: mg.LeoConfig = { nWay: 3, kShot: 1, queryPerClass: 2, metaBatch: 2, iterations: 4, outerLr: 1e-2, leo: { latent: 3, innerSteps: 1, finetuneSteps: 1, dropout: 0.2 } };
    const whole = new mg.LeoTrainer(emb, config, 31);
    for (let i = 0; i < 4; i++) whole.step();
    const first = new mg.LeoTrainer(emb, config, 31);
    first.step();
    first.step();
    const state = mg.decodeSafetensors(mg.encodeSafetensors(first.getState().tensors, first.getState().metadata));
    const second = new mg.LeoTrainer(emb, config, 31);
    second.setState(state);
    expect(second.iteration).toBe(2);
    second.step();
    second.step();
    second.params.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(whole.params[i]!.data)));
    const acc = second.evaluate(emb, 5, new mg.Rng(1));
    expect(acc.n).toBe(5);
    expect(acc.mean).toBeGreaterThanOrEqual(0);
    const other = new mg.LeoTrainer(emb, { ...config, leo: { ...config.leo, latent: 4 } }, 31);
    expect(() => other.setState(state)).toThrow(/different configuration \(leo: /);
    expect(() => new mg.LeoTrainer(emb, { ...config, metabatch: 2 } as never, 1)).toThrow(/metabatch/);
  });

  test('a meta-batch whose loss is not finite steps along a weight decay alone, as the authors\' code does', () => {
    const algo = mg.leo(tiny);
    const theta = params(algo, 40);
    const good = featureTask(41);
    const bad = mg.supervisedTask({ xSupport: mg.mul(good.xSupport, mg.full(good.xSupport.shape, NaN, f64)), ySupport: good.ySupport, xQuery: good.xQuery, yQuery: good.yQuery }, { loss: 'cross-entropy' });
    const g = mg.leo({ ...tiny, clipValue: Infinity, clipNorm: Infinity }).metaGradient(algo.classifier, theta, [good, bad]);
    expect(g.loss).toBeNaN();
    g.grads.forEach((t, i) => expectClose(t.data, Array.from(theta[i]!.data, (v) => (i < theta.length - 2 ? 1e-4 * v : 0)), 1e-15, `pull-back ${i}`));
  });

  test('unitLength scales every feature vector to length 1 and leaves zero vectors alone', () => {
    const u = mg.unitLength(mg.tensor([[[3, 4], [0, 0]], [[1, 0], [0, -2]]]));
    expect(Array.from(u.data)).toEqual([0.6, 0.8, 0, 0, 1, 0, 0, -1].map((v) => Math.fround(v)));
    expect(u.shape).toEqual([2, 2, 2]);
  });
});
