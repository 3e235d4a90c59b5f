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

  describe('the objective, written out by hand', () => {
    // The whole training objective for a task, from the formulas of docs/leo.md, without the relation net.
    function reference(algo: mg.LeoAlgorithm, theta: Tensor[], task: mg.SupervisedTask, noise: mg.LeoNoise | null): { loss: number; weights: number[] } {
      const s = algo.settings;
      const [enc, dec, alpha, eta] = theta.map((t) => new mg.Tensor(t.data, t.shape, true)) as [Tensor, Tensor, Tensor, Tensor];
      const N = s.ways, E = s.features, L = s.latent;
      const labels = Array.from(task.ySupport as Int32Array);
      const mask = (x: Tensor, m: Tensor | undefined) => (m === undefined ? x : mg.mul(x, m));
      const xs = mask(task.xSupport, noise?.dropout?.support), xq = mask(task.xQuery, noise?.dropout?.query);
      const ce = (x: Tensor, w: Tensor, y: Int32Array) => mg.crossEntropy(mg.matmul(x, mg.transpose(w)), y);
      const codes = mg.matmul(xs, enc);
      const rows = (c: number) => labels.flatMap((l, i) => (l === c ? [i] : []));
      const perClass = mg.stack(Array.from({ length: N }, (_, c) => mg.mean(mg.stack(rows(c).map((i) => mg.index(codes, 0, i))), 0)));
      const mu = mg.slice(perClass, 1, 0, L), u = mg.slice(perClass, 1, L, 2 * L);
      const sd = (v: Tensor, offset: number) => mg.where(mg.greater(mg.sub(mg.exp(v), 1 - offset), 1e-10), mg.sub(mg.exp(v), 1 - offset), 1e-10);
      let z = mu;
      let extra: Tensor = mg.zeros([], f64);
      if (noise !== null) {
        z = mg.add(mu, mg.mul(sd(u, 0), noise.latent));
        const logq = mg.sub(mg.scale(mg.square(noise.latent), -0.5), mg.log(sd(u, 0)));
        const logp = mg.scale(mg.square(z), -0.5);
        extra = mg.scale(mg.mean(mg.sub(logq, logp)), s.klWeight);
      }
      const decode = (zz: Tensor, i: number) => {
        const out = mg.matmul(zz, dec);
        const m = mg.slice(out, 1, 0, E);
        return noise === null ? m : mg.add(m, mg.mul(sd(mg.slice(out, 1, E, 2 * E), Math.sqrt(2 / (N + E))), noise.weights[i]!));
      };
      const ys = Int32Array.from(labels);
      let w: Tensor;
      let steps = s.finetuneSteps;
      if (s.space === 'latent') {
        const z0 = z;
        for (let k = 0; k < s.innerSteps; k++) z = mg.sub(z, mg.mul(alpha, mg.grad(ce(xs, decode(z, k), ys), [z], { createGraph: true })[0]!));
        if (noise !== null) extra = mg.add(extra, mg.scale(mg.mean(mg.square(mg.sub(z0, z.detach()))), s.encoderPenalty));
        w = decode(z, s.innerSteps);
      } else {
        w = decode(z, 0);
        steps += s.innerSteps;
      }
      for (let k = 0; k < steps; k++) w = mg.sub(w, mg.mul(eta, mg.grad(ce(xs, w, ys), [w], { createGraph: true })[0]!));
      let loss = mg.add(ce(xq, w, task.yQuery as Int32Array), extra);
      if (noise !== null) {
        const l2 = mg.add(mg.sum(mg.square(enc)), mg.sum(mg.square(dec)));
        const norms = mg.sqrt(mg.sum(mg.square(dec), 1, true));
        const corr = mg.div(mg.matmul(dec, mg.transpose(dec)), mg.matmul(norms, mg.transpose(norms)));
        const eye = mg.tensor(Array.from({ length: L }, (_, i) => Array.from({ length: L }, (_, j) => (i === j ? 1 : 0))), f64);
        loss = mg.add(loss, mg.add(mg.scale(l2, s.weightDecay / 2), mg.scale(mg.mean(mg.square(mg.sub(corr, eye))), s.orthogonality)));
      }
      return { loss: loss.item(), weights: Array.from(w.data) };
    }

    for (const space of ['latent', 'weights'] as const) {
      test(`with and without noise, inner loop in ${space} space`, () => {
        const algo = mg.leo({ ...tiny, relationNet: false, space, innerSteps: 2, finetuneSteps: 1, encoderPenalty: 0.3, dropout: 0.3 });
        const task = featureTask(50);
        const theta = params(algo, 51);
        const noise = algo.noise(task, new mg.Rng(52), 'float64');
        expect(noise.latent.shape).toEqual([3, 2]);
        expect(noise.weights.map((t) => t.shape)).toEqual(Array.from({ length: space === 'latent' ? 3 : 1 }, () => [3, 4]));
        for (const n of [noise, null]) {
          const ours = algo.objective(algo.classifier, theta, task, n);
          const ref = reference(algo, theta, task, n);
          expect(ours.loss.item()).toBeCloseTo(ref.loss, 12);
          expectClose(ours.weights.data, ref.weights, 1e-12, `weights, noise ${n === null ? 'off' : 'on'}`);
        }
        expectClose(algo.adapt(algo.classifier, theta, task).data, reference(algo, theta, task, null).weights, 1e-12, 'adapt');
        // Every meta-parameter is used or, in weight space, α gets a zero gradient.
        const g = algo.metaGradient(algo.classifier, theta, [task]);
        expect(g.grads.map((t) => t.shape)).toEqual(theta.map((t) => t.shape));
        expect(g.grads[2]!.data.every((v) => v === 0)).toBe(space === 'weights');
      });
    }

    test('dropout masks are 0 or 1/(1 − rate), at about the rate, on both feature sets; none without dropout', () => {
      const task = featureTask(53, 3, 400);
      const noise = mg.leo({ ...tiny, features: 400, dropout: 0.25 }).noise(task, new mg.Rng(54), 'float64');
      for (const m of [noise.dropout!.support, noise.dropout!.query]) {
        expect(m.shape).toEqual([6, 400]);
        const zeros = Array.from(m.data).filter((v) => v === 0).length / m.size;
        expect(Array.from(m.data).every((v) => v === 0 || v === 1 / 0.75)).toBe(true);
        expect(zeros).toBeGreaterThan(0.2);
        expect(zeros).toBeLessThan(0.3);
      }
      expect(mg.leo(tiny).noise(featureTask(53), new mg.Rng(54)).dropout).toBeUndefined();
    });

    test('masked features keep the task\'s own options (mini-batches of the support set)', () => {
      const algo = mg.leo({ ...tiny, dropout: 0.5 });
      const base = featureTask(55);
      const opts = { loss: 'cross-entropy' as const, innerBatch: 2, order: [5, 4, 3, 2, 1, 0] };
      const task = mg.supervisedTask({ xSupport: base.xSupport, ySupport: base.ySupport, xQuery: base.xQuery, yQuery: base.yQuery }, opts);
      const theta = params(algo, 56);
      const noise = algo.noise(task, new mg.Rng(57), 'float64');
      const masked = mg.supervisedTask({ xSupport: mg.mul(task.xSupport, noise.dropout!.support), ySupport: task.ySupport, xQuery: mg.mul(task.xQuery, noise.dropout!.query), yQuery: task.yQuery }, opts);
      const { dropout: _, ...rest } = noise;
      expect(algo.objective(algo.classifier, theta, task, noise).loss.item()).toBe(algo.objective(algo.classifier, theta, masked, rest).loss.item());
    });
  });

  test('the defaults are the authors\' published settings', () => {
    expect(mg.leo({ ways: 5, features: 64 }).settings).toEqual({ ways: 5, features: 64, latent: 64, innerSteps: 5, finetuneSteps: 5, innerLr: 1, finetuneLr: 0.001, klWeight: 1e-3, encoderPenalty: 1e-9, weightDecay: 1e-8, orthogonality: 1e-3, dropout: 0, relationNet: true, space: 'latent', clipValue: 0.1, clipNorm: 0.1, seed: 0 });
  });

  test('names every other refusal', () => {
    const algo = mg.leo(tiny);
    const theta = params(algo, 1);
    const withLabels = (ys: number[]) => mg.supervisedTask({ xSupport: mg.zeros([ys.length, 4], f64), ySupport: ys, xQuery: mg.zeros([1, 4], f64), yQuery: [0] }, { loss: 'cross-entropy' });
    expect(() => algo.adapt(algo.classifier, theta, withLabels([0, 1, 3]))).toThrow(/LEO: support label 3 at 2 is not a class of a 3-way task \(0 … 2\)/);
    expect(() => algo.adapt(algo.classifier, theta, withLabels([0, -1, 2]))).toThrow(/support label -1 at 1/);
    expect(() => algo.adapt(algo.classifier, theta, withLabels([0, 1.5, 2]))).toThrow(/support label 1.5 at 1/);
    expect(() => algo.adapt(algo.classifier, theta, withLabels([1, 1, 2]))).toThrow(/class 0 has no support example/);
    const flat = mg.supervisedTask({ xSupport: mg.zeros([3, 2, 2], f64), ySupport: [0, 1, 2], xQuery: mg.zeros([1, 2, 2], f64), yQuery: [0] }, { loss: 'cross-entropy' });
    expect(() => algo.adapt(algo.classifier, theta, flat)).toThrow(/support features must be \[n, 4\], got \[3,2,2\]/);
    const deep = mg.supervisedTask({ xSupport: mg.zeros([3, 4, 2], f64), ySupport: [0, 1, 2], xQuery: mg.zeros([1, 4, 2], f64), yQuery: [0] }, { loss: 'cross-entropy' });
    expect(() => algo.adapt(algo.classifier, theta, deep)).toThrow(/support features must be \[n, 4\], got \[3,4,2\]/);
    const tensorLabels = mg.supervisedTask({ xSupport: mg.zeros([3, 4], f64), ySupport: mg.zeros([3], f64), xQuery: mg.zeros([1, 4], f64), yQuery: mg.zeros([1], f64) }, { loss: (p) => mg.sum(p) });
    expect(() => algo.adapt(algo.classifier, theta, tensorLabels)).toThrow(/cross-entropy/);
    expect(() => algo.classifier.forward([], mg.zeros([1, 4]))).toThrow(/linearClassifier: expected one weight matrix \[N, E\], got 0 tensors/);
    expect(() => mg.orthogonalityPenalty(mg.zeros([2, 2, 2]))).toThrow(/orthogonalityPenalty: expected a matrix, got shape \[2,2,2\]/);
    expect(() => mg.leo({ ...tiny, finetuneSteps: -1 })).toThrow(/LEO: finetuneSteps/);
    expect(() => mg.leo({ ...tiny, innerLr: 0 })).toThrow(/LEO: innerLr/);
    expect(() => mg.leo({ ...tiny, clipNorm: 0 })).toThrow(/LEO: clipNorm must be a positive number or Infinity, got 0/);
    expect(() => mg.leo({ ...tiny, clipValue: '1' as never })).toThrow(/LEO: clipValue must be a positive number or Infinity, got 1/);
    expect(() => mg.leo({ ...tiny, klWeight: -1 })).toThrow(/LEO: klWeight/);
    expect(() => mg.leo({ ...tiny, dropout: -0.1 })).toThrow(/LEO: dropout must be in \[0, 1\), got -0.1/);
    expect(() => mg.leo({ ...tiny, seed: 0.5 })).toThrow(/LEO: seed must be a safe integer, got 0.5/);
    expect(() => mg.leo({ ways: 3, features: 4 }, 'Mine').split([])).toThrow(/^Mine: expected 7 tensors \(encoder, three relation layers, decoder, α, η\), got 0$/);
    expect(() => mg.leo({ ...tiny, relationNet: false }).split([])).toThrow(/expected 4 tensors \(encoder, decoder, α, η\)/);
    expect(() => mg.leo(null as never)).toThrow(/LEO: options must be an object such as \{ ways: 5, features: 64 \}/);
    for (const [i, name] of [[1, 'relation layer 0'], [4, 'decoder'], [5, 'α'], [6, 'η']] as const) {
      const bad = theta.map((t, j) => (j === i ? mg.zeros([1, 1], f64) : t));
      expect(() => algo.split(bad)).toThrow(new RegExp(`the ${name} must be`));
    }
  });

  test('LeoTrainer: the presets, Adam at the configured rate, evaluation progress and the refusals, named', () => {
    expect(Object.keys(mg.LEO_PRESETS)).toEqual(['leo-5way-1shot', 'leo-5way-5shot', 'leo-20way-1shot', 'leo-20way-5shot']);
    expect(mg.LEO_PRESETS['leo-20way-5shot']).toEqual({ nWay: 20, kShot: 5, queryPerClass: 15, metaBatch: 12, iterations: 20_000, outerLr: 5e-4, leo: { dropout: 0.3 } });
    const emb = mg.randn([8, 20, 5], { rng: new mg.Rng(70) });
    const config: mg.LeoConfig = { nWay: 2, kShot: 1, queryPerClass: 2, metaBatch: 1, iterations: 2, outerLr: 3e-3, leo: { latent: 2, innerSteps: 1, finetuneSteps: 1 } };
    const t = new mg.LeoTrainer(emb, config, 1);
    expect(t.learner.optimizer.lr).toBe(3e-3);
    const done: number[] = [];
    t.evaluate(emb, 3, new mg.Rng(2), (d) => done.push(d));
    expect(done).toEqual([1, 2, 3]);
    expect(() => t.evaluate(emb, 0)).toThrow(/LeoTrainer.evaluate: episodes/);
    expect(() => t.setState({ tensors: {}, metadata: {} })).toThrow(/^LeoTrainer.setState: /);
    expect(() => new mg.LeoTrainer(emb, null as never, 1)).toThrow(/LeoTrainer: config must be a LeoConfig object \(see LEO_PRESETS\), got null/);
    expect(() => new mg.LeoTrainer(emb, [] as never, 1)).toThrow(/LeoTrainer: config must be a LeoConfig object/);
    expect(() => new mg.LeoTrainer(emb, { ...config, metaBatch: 0 }, 1)).toThrow(/LeoConfig.metaBatch/);
    expect(() => new mg.LeoTrainer(emb, { ...config, outerLr: 0 }, 1)).toThrow(/LeoConfig.outerLr/);
    expect(() => new mg.LeoTrainer(mg.zeros([8, 5]), config, 1)).toThrow(/LeoTrainer: embeddings must be \[classes, drawers, features\], got 2 dimensions/);
    expect(() => new mg.LeoTrainer(emb, { ...config, leo: { latent: 0 } }, 1)).toThrow(/^LeoTrainer: latent/);
  });
});
