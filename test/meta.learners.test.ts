/** The meta-learners' structure: presets of the inner-gradient family, task batching, optimiser state. */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectClose } from './helpers/fd.js';

const f64 = { dtype: 'float64' as const };
const model = mg.mlp([1, 8, 8, 1], { activation: 'tanh' });
const flat = (ts: Tensor[]) => Float64Array.from(ts.flatMap((t) => Array.from(t.data)));

function setup(seed: number, tasks = 4) {
  const rng = new mg.Rng(seed);
  const sampler = new mg.SineTasks({ rng, ...f64 });
  return { params: model.init({ rng, ...f64 }), batch: sampler.sampleBatch(tasks) };
}

describe('presets of the inner-gradient family (Reptile paper §6.2)', () => {
  test('shared-tail FOMAML with k inner steps is Σcᵢgᵢ with c = [0,…,0,1] over k+1 losses', () => {
    const { params, batch } = setup(1);
    for (const k of [1, 3]) {
      const fomaml = new mg.MAML(model, params, { innerSteps: k, innerLr: 0.05, firstOrder: true, tail: 'shared' });
      const { grads } = fomaml.metaGradient(batch);
      const inner = mg.summedTaskMse(model, batch.xSupport, batch.ySupport);
      const coeffs = [...Array(k).fill(0), 1];
      const family = mg.combineInnerGradients(params, Array(k + 1).fill(inner), 0.05, coeffs, { tasks: 4 });
      expectClose(flat(grads), flat(family), 1e-12, `k=${k}`);
    }
  });

  test('Reptile is Σgᵢ: c = [1,…,1]', () => {
    const { params, batch } = setup(2);
    const inner = mg.summedTaskMse(model, batch.xSupport, batch.ySupport);
    const losses = Array(5).fill(inner);
    expectClose(flat(mg.reptileGradient(params, losses, 0.02, { tasks: 4 })), flat(mg.combineInnerGradients(params, losses, 0.02, [1, 1, 1, 1, 1], { tasks: 4 })), 1e-10, 'reptile');
  });
});

describe('task batching', () => {
  test('the tiled meta-batch gives the mean of the per-task meta-gradients (second order, k = 2)', () => {
    const { params, batch } = setup(3);
    const maml = new mg.MAML(model, params, { innerSteps: 2, innerLr: 0.05 });
    const batched = maml.metaGradient(batch).grads;
    const perTask = [0, 1, 2, 3].map((t) => {
      const one = (x: Tensor) => mg.reshape(mg.index(x, 0, t), [1, ...x.shape.slice(1)]);
      return maml.metaGradient({ xSupport: one(batch.xSupport), ySupport: one(batch.ySupport), xQuery: one(batch.xQuery), yQuery: one(batch.yQuery), tasks: [batch.tasks[t]!] }).grads;
    });
    const mean = perTask[0]!.map((_, i) => mg.scale(perTask.reduce((acc, g) => mg.add(acc, g[i]!), mg.zerosLike(perTask[0]![i]!)), 1 / 4));
    expectClose(flat(batched), flat(mean), 1e-12, 'batched vs looped');
  });
});

describe('Reptile', () => {
  test('ε anneals linearly from metaStepSize to metaStepSizeFinal', () => {
    const { params, batch } = setup(4);
    const r = new mg.Reptile(model, params, { iterations: 4, metaStepSize: 1, metaStepSizeFinal: 0.2 });
    const eps: number[] = [];
    for (let i = 0; i < 5; i++) {
      eps.push(r.epsilon);
      r.step(batch);
    }
    expect(eps.map((e) => +e.toFixed(12))).toEqual([1, 0.8, 0.6, 0.4, 0.2]);
  });

  test('with inner Adam: moments carry across training tasks; evaluation restores them around each task', () => {
    const { params, batch } = setup(5, 3);
    const inner = new mg.Adam({ lr: 1e-3, beta1: 0 });
    const r = new mg.Reptile(model, params, { iterations: 10, innerSteps: 4, innerOptimizer: inner });
    r.step(batch);
    expect((inner.getState() as { t: number }).t).toBe(12); // 3 tasks × 4 steps, one shared state
    const before = JSON.stringify(inner.getState());
    const losses = mg.adaptationLossesWithOptimizer(model, r.params, batch, 5, inner);
    expect(JSON.stringify(inner.getState())).toBe(before);
    // No leakage: task 2 alone gives the same loss as task 2 after tasks 0 and 1.
    const only2 = (x: Tensor) => mg.slice(x, 0, 2, 3);
    const alone = mg.adaptationLossesWithOptimizer(model, r.params, { xSupport: only2(batch.xSupport), ySupport: only2(batch.ySupport), xQuery: only2(batch.xQuery), yQuery: only2(batch.yQuery), tasks: [batch.tasks[2]!] }, 5, inner);
    expect(alone[0]).toBe(losses[2]);
    // A failure in the middle of a task's adaptation restores the state too.
    let calls = 0;
    const flaky: mg.Model = { ...model, forward: (p, x) => (++calls === 3 ? (() => { throw new Error('forward failed'); })() : model.forward(p, x)) };
    expect(() => mg.adaptationLossesWithOptimizer(flaky, r.params, batch, 5, inner)).toThrow(/forward failed/);
    expect(JSON.stringify(inner.getState())).toBe(before);
  });
});

describe('FOMAML with an inner Adam', () => {
  test('is the mean query gradient at Adam-adapted parameters, with one Adam state across tasks', () => {
    const { params, batch } = setup(9, 3);
    const inner = new mg.Adam({ lr: 0.01, beta1: 0 });
    const fomaml = new mg.MAML(model, params, { firstOrder: true, innerSteps: 3, innerOptimizer: inner });
    const { grads } = fomaml.metaGradient(batch);
    expect((inner.getState() as { t: number }).t).toBe(9);
    // the same computation by hand, from the same starting state
    const ref = new mg.Adam({ lr: 0.01, beta1: 0 });
    const perTask = [0, 1, 2].map((t) => {
      const phi = mg.adaptWithOptimizer(model, params, mg.index(batch.xSupport, 0, t), mg.index(batch.ySupport, 0, t), 3, ref);
      return mg.valueAndGrad((p) => mg.mse(model.forward(p, mg.index(batch.xQuery, 0, t)), mg.index(batch.yQuery, 0, t)))(phi)[1];
    });
    const mean = perTask[0]!.map((_, i) => mg.scale(mg.add(mg.add(perTask[0]![i]!, perTask[1]![i]!), perTask[2]![i]!), 1 / 3));
    expectClose(flat(grads), flat(mean), 1e-12, 'fomaml-adam');
    expect(() => new mg.MAML(model, params, { innerOptimizer: inner })).toThrow(/innerOptimizer needs firstOrder: true/);
  });
});

describe('learning', () => {
  test('300 MAML iterations on sine make 5-step adaptation clearly better than at initialisation', () => {
    const rng = new mg.Rng(6);
    const net = mg.mlp([1, 40, 40, 1]);
    const tasks = new mg.SineTasks({ rng });
    const maml = new mg.MAML(net, net.init({ rng }), { innerLr: 0.01 });
    const evalBatch = [new mg.SineTasks({ rng: new mg.Rng(60) }).sampleBatch(100)];
    const before = mg.evaluate(net, maml.params, evalBatch, [5], 0.01).get(5)!.mean;
    for (let i = 0; i < 300; i++) maml.step(tasks.sampleBatch(25));
    const after = mg.evaluate(net, maml.params, evalBatch, [5], 0.01).get(5)!.mean;
    expect(after).toBeLessThan(0.8 * before);
  });

  test('bad options are named', () => {
    expect(() => new mg.MAML(model, [], { innerSteps: 0 })).toThrow(/innerSteps must be a positive integer, got 0/);
    expect(() => new mg.MAML(model, [], { tail: 'middle' as never })).toThrow(/tail must be 'separate' or 'shared', got 'middle'/);
    expect(() => new mg.Reptile(model, [])).toThrow(/give iterations/);
    expect(() => mg.mamlGradient([], [], () => mg.zeros([]), -1)).toThrow(/step size alpha must be a positive number, got -1/);
    expect(() => new mg.Adam({ beta1: 1 })).toThrow(/beta1 must be in \[0, 1\), got 1/);
    expect(() => mg.mlp([1])).toThrow(/sizes must list at least two positive integers/);
    // Numeric options are checked when the learner is built, not left to become NaN weights.
    expect(() => new mg.MAML(model, [], { innerLr: NaN })).toThrow(/MAML: innerLr must be a positive number, got NaN/);
    expect(() => new mg.MAML(model, [], { innerLr: -0.1 })).toThrow(/MAML: innerLr must be a positive number, got -0\.1/);
    expect(() => new mg.Reptile(model, [], { iterations: 10, innerSteps: 0 })).toThrow(/Reptile: innerSteps must be a positive integer, got 0/);
    expect(() => new mg.Reptile(model, [], { iterations: 10, innerLr: Infinity })).toThrow(/Reptile: innerLr must be a positive number, got Infinity/);
    expect(() => new mg.Reptile(model, [], { iterations: 10, metaStepSize: NaN })).toThrow(/Reptile: metaStepSize must be a positive number, got NaN/);
    expect(() => new mg.Reptile(model, [], { iterations: 10, metaStepSizeFinal: -1 })).toThrow(/Reptile: metaStepSizeFinal must be a non-negative number, got -1/);
    expect(() => new mg.Reptile(model, [], { iterations: 2.5 })).toThrow(/Reptile: iterations must be a positive integer, got 2\.5/);
    expect(new mg.Reptile(model, [], { iterations: 10, metaStepSizeFinal: 0 }).epsilon).toBe(0.1);
    expect(() => new mg.SGD({ lr: NaN })).toThrow(/SGD: lr must be a positive number, got NaN/);
    expect(new mg.SGD({ lr: 0.5 }).lr).toBe(0.5);
    expect(new mg.SGD(0.5).lr).toBe(0.5);
    expect(() => new mg.Rng(1.5)).toThrow(/Rng\.seed: seed must be an integer, got 1\.5/);
    const batch = new mg.SineTasks({ rng: new mg.Rng(3) }).sampleBatch(2);
    const params = model.init({ rng: new mg.Rng(4) });
    expect(() => mg.evaluate(model, params, [batch], [0, -1], 0.01)).toThrow(/evaluate: step counts must be non-negative integers, got -1/);
    expect(() => mg.evaluate(model, params, [batch], [], 0.01)).toThrow(/evaluate: steps must list at least one step count/);
    expect(() => mg.evaluate(model, params, [batch], [1], 0)).toThrow(/evaluate: lr must be a positive number, got 0/);
    expect(() => mg.evaluate(model, params, [], [1], 0.01)).toThrow(/evaluate: batches holds no tasks/);
    const lossFn = (p: Tensor[]) => mg.sum(mg.square(p[0]!));
    expect(() => mg.combineInnerGradients(params, [lossFn], 0.1, undefined as never)).toThrow(/combineInnerGradients: coefficients must be a list of finite numbers, got undefined/);
    expect(() => mg.combineInnerGradients(params, [lossFn], 0.1, [NaN])).toThrow(/coefficients must be a list of finite numbers, got NaN/);
    expect(() => mg.combineInnerGradients(params, [], 0.1, [])).toThrow(/combineInnerGradients: give at least one inner loss/);
    expect(() => mg.combineInnerGradients(params, [lossFn], 0.1, [1, 1])).toThrow(/combineInnerGradients: 2 coefficients for 1 inner losses/);
    // Parameters, losses and models of the wrong kind are named by the function given them.
    const sq = (p: Tensor[]) => mg.sum(mg.square(p[0]!));
    expect(() => mg.mamlGradient(undefined as never, [sq], sq, 0.1)).toThrow(/mamlGradient: params must be a list of Tensors, got undefined/);
    expect(() => mg.mamlGradient(params, sq as never, sq, 0.1)).toThrow(/mamlGradient: the inner losses must be a list of functions of the parameters, got a function/);
    expect(() => mg.mamlGradient(params, [5 as never], sq, 0.1)).toThrow(/mamlGradient: inner loss 0 is number, not a function of the parameters/);
    expect(() => mg.mamlGradient(params, [sq], 'outer' as never, 0.1)).toThrow(/mamlGradient: the outer loss is string, not a function of the parameters/);
    expect(() => mg.mamlGradient(params, [() => 5 as never], sq, 0.1)).toThrow(/mamlGradient: inner loss 0 returned number, not a scalar Tensor/);
    expect(() => mg.mamlGradient(params, [sq], (p) => mg.square(p[0]!), 0.1)).toThrow(/mamlGradient: the outer loss returned a Tensor of shape \[1,8\], not a scalar/);
    expect(() => mg.reptileGradient(params, [sq], 0)).toThrow(/reptileGradient: step size alpha must be a positive number, got 0/);
    expect(() => mg.innerGradients([1, 2] as never, [sq], 0.1)).toThrow(/innerGradients: params\[0\] is number, not a Tensor/);
    expect(() => mg.sgdInnerLoop(params, [sq, null as never], 0.1)).toThrow(/sgdInnerLoop: inner loss 1 is null, not a function of the parameters/);
    expect(() => new mg.MAML(undefined as never, params)).toThrow(/MAML: model must be a Model \{ init, forward \} such as mlp\(sizes\), got undefined/);
    expect(() => new mg.MAML(model, 'params' as never)).toThrow(/MAML: params must be a list of Tensors, got string/);
    expect(() => mg.evaluate({ forward: 1 } as never, params, [batch], [1], 0.01)).toThrow(/adaptationCurve: model must be a Model \{ init, forward \}/);
    expect(() => mg.evaluate(model, [params] as never, [batch], [1], 0.01)).toThrow(/adaptationCurve: params\[0\] is an array, not a Tensor/);
    expect(() => mg.adaptationLossesWithOptimizer(null as never, params, batch, 1, new mg.SGD(0.1))).toThrow(/adaptationLossesWithOptimizer: model must be a Model .*got null/);
    expect(() => new mg.Reptile(model, undefined as never, { iterations: 3 })).toThrow(/Reptile: params must be a list of Tensors, got undefined/);
    // A batch that is not one is named before any computation.
    const maml = new mg.MAML(model, params);
    expect(() => maml.step([] as never)).toThrow(/MAML: batch\.xSupport must be a Tensor \[tasks, points, features\], got undefined/);
    expect(() => maml.step(undefined as never)).toThrow(/MAML: expected a batch of tasks \{ xSupport, ySupport, xQuery, yQuery \}/);
    expect(() => maml.step({ ...batch, xSupport: mg.index(batch.xSupport, 0, 0) })).toThrow(/MAML: batch\.xSupport must have shape \[tasks, points, features\], got \[10, 1\]/);
    expect(() => maml.step({ ...batch, yQuery: mg.slice(batch.yQuery, 0, 0, 1) })).toThrow(/MAML: batch\.xQuery \[2, 10, 1\] and batch\.yQuery \[1, 10, 1\] must share tasks and points/);
    const none = { ...batch, xSupport: mg.zeros([0, 10, 1]), ySupport: mg.zeros([0, 10, 1]) };
    expect(() => new mg.Reptile(model, params, { iterations: 5 }).step(none)).toThrow(/Reptile\.step: the batch holds no tasks/);
    expect(() => mg.evaluate(model, params, [none], [1], 0.01)).toThrow(/adaptationCurve: the batch holds no tasks/);
    expect(() => mg.adaptationLossesWithOptimizer(model, params, {} as never, 1, new mg.SGD(0.1))).toThrow(/adaptationLossesWithOptimizer: batch\.xSupport must be a Tensor/);
    // An optimiser state that does not fit is refused when set or, against other parameters, at the next step.
    const adam = new mg.Adam();
    const good = { t: 1, m: [new Float32Array(2)], v: [new Float32Array(2)] };
    expect(() => adam.setState({ ...good, t: 1.5 })).toThrow(/Adam\.setState: the step count must be an integer ≥ 0, got 1\.5/);
    expect(() => adam.setState({ ...good, v: [] })).toThrow(/Adam\.setState: m and v must be matching lists/);
    expect(() => adam.setState({ ...good, v: [new Float64Array(2)] })).toThrow(/Adam\.setState: m and v must be matching lists/);
    expect(() => adam.setState({ ...good, m: [[0, 0]] })).toThrow(/Adam\.setState: m and v must be matching lists/);
    adam.setState(good);
    const p2 = [mg.zeros([2], { dtype: 'float64' })];
    expect(() => adam.step(p2, p2)).toThrow(/Adam\.step: the moments' dtypes differ from the parameters'/);
    expect(() => adam.step([mg.zeros([3])], [mg.zeros([3])])).toThrow(/Adam\.step: the parameters changed shape or number/);
    expect(adam.step([mg.ones([2])], [mg.ones([2])])[0]!.shape).toEqual([2]);
  });
});

describe('meanCI', () => {
  test('1.96 standard errors with the sample standard deviation; one sample has no interval to give', () => {
    const r = mg.meanCI([1, 2, 3]);
    expect(r.mean).toBe(2);
    expect(r.ci95).toBeCloseTo(1.96 / Math.sqrt(3), 12);
    expect(r.n).toBe(3);
    expect(mg.meanCI([0.5])).toEqual({ mean: 0.5, ci95: Infinity, n: 1 });
    expect(() => mg.meanCI([])).toThrow(/meanCI: empty sample/);
  });
});

describe('a diverged step is refused, not applied', () => {
  const nanAt = (t: Tensor, i: number, v: number): Tensor => {
    const d = Float64Array.from(t.data);
    d[i] = v;
    return mg.tensor(d, { shape: t.shape, ...f64 });
  };

  test('Adam and SGD refuse a non-finite gradient, naming it, and keep their parameters and state', () => {
    const p = [mg.ones([2], f64), mg.ones([3], f64)];
    const good = [mg.ones([2], f64), mg.ones([3], f64)];
    for (const opt of [new mg.Adam({ lr: 0.1 }), new mg.SGD(0.1)]) {
      const name = opt instanceof mg.Adam ? 'Adam' : 'SGD';
      opt.step(p, good);
      const before = JSON.stringify(opt.getState(), (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v));
      expect(() => opt.step(p, [good[0]!, nanAt(good[1]!, 2, NaN)])).toThrow(new RegExp(`${name}\\.step: gradient 1 \\[3\\] holds NaN at element 2`));
      expect(() => opt.step(p, [nanAt(good[0]!, 0, -Infinity), good[1]!])).toThrow(/gradient 0 \[2\] holds -Infinity at element 0/);
      expect(JSON.stringify(opt.getState(), (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v))).toBe(before);
    }
  });

  test('MAML and Reptile leave their parameters and schedule as they were', () => {
    const { params, batch } = setup(8, 2);
    const poisoned = { ...batch, yQuery: nanAt(batch.yQuery, 3, NaN), ySupport: nanAt(batch.ySupport, 1, NaN) };
    const maml = new mg.MAML(model, params);
    expect(() => maml.step(poisoned)).toThrow(/Adam\.step: gradient \d+ \[[\d, ]*\] holds NaN/);
    expect(maml.params).toBe(params);
    const reptile = new mg.Reptile(model, params, { iterations: 10 });
    expect(() => reptile.step(poisoned)).toThrow(/Reptile\.step: the meta-gradient \d+ \[[\d, ]*\] holds NaN/);
    expect(reptile.params).toBe(params);
    // The refused step did not count: the next one is the first, as for a fresh learner.
    reptile.step(batch);
    const fresh = new mg.Reptile(model, params, { iterations: 10 });
    fresh.step(batch);
    expect(reptile.epsilon).toBe(fresh.epsilon);
    expect(flat(reptile.params)).toEqual(flat(fresh.params));
  });
});

describe('inner-loop tape size', () => {
  /** Number of tape nodes reachable from the tensors. */
  function tapeSize(ts: Tensor[]): number {
    const seen = new Set<object>();
    const stack: unknown[] = ts.map((t) => t.node);
    while (stack.length > 0) {
      const n = stack.pop();
      // Nodes point at their inputs' nodes (leaves and constants are not nodes).
      if (typeof n !== 'object' || n === null || n instanceof mg.Tensor || !('vjp' in n) || seen.has(n)) continue;
      seen.add(n);
      stack.push(...(n as mg.Node).inputs);
    }
    return seen.size;
  }
  test('first-order adaptation records the same tape for any k (memory flat in k); second-order grows with k', () => {
    const { params, batch } = setup(8);
    const inner = mg.summedTaskMse(model, batch.xSupport, batch.ySupport);
    const size = (k: number, mode: mg.InnerMode) => tapeSize(mg.sgdInnerLoop(mg.tileParams(params.map((p) => new mg.Tensor(p.data, p.shape, true)), 4), Array(k).fill(inner), 0.01, mode).params);
    expect(size(1, 'first-order')).toBe(size(6, 'first-order'));
    expect(size(6, 'second-order')).toBeGreaterThan(3 * size(1, 'second-order'));
  });
});

describe('second-order MAML with recomputed inner steps', () => {
  test('gives the meta-gradient kept on the tape, to rounding (float64; one task and a stacked batch; k = 1, 3)', () => {
    const { params, batch } = setup(11, 3);
    for (const k of [1, 3]) {
      for (const tasks of [undefined, 3]) {
        const data = tasks === undefined ? batch.split()[0] as mg.SupervisedTask : batch;
        const inner = Array.from({ length: k }, (_, i) => (p: Tensor[]) => data.supportLoss(model, p, i));
        const outer = (p: Tensor[]) => data.queryLoss(model, p);
        const tape = mg.mamlGradient(params, inner, outer, 0.05, { tasks });
        const recomputed = mg.mamlGradient(params, inner, outer, 0.05, { tasks, recompute: true });
        expect(recomputed.loss).toBeCloseTo(tape.loss, 14);
        expectClose(flat(recomputed.grads), flat(tape.grads), 1e-12, `recompute k=${k} tasks=${tasks}`);
        // and it is not the first-order gradient
        const fo = mg.mamlGradient(params, inner, outer, 0.05, { tasks, firstOrder: true });
        expect(Math.max(...Array.from(flat(recomputed.grads), (v, i) => Math.abs(v - flat(fo.grads)[i]!)))).toBeGreaterThan(1e-6);
      }
    }
    // Through the learner: the same steps either way.
    const a = new mg.MAML(model, params, { innerSteps: 2, innerLr: 0.05 });
    const b = new mg.MAML(model, params, { innerSteps: 2, innerLr: 0.05, recompute: true });
    a.step(batch);
    b.step(batch);
    expectClose(flat(b.params), flat(a.params), 1e-12, 'learner');
  });

  test('checkpointed every s steps, it recomputes the rest and gives the same meta-gradient bit for bit, for any s; a bad s is named', () => {
    const { params, batch } = setup(12, 3);
    const k = 7;
    const inner = Array.from({ length: k }, (_, i) => (p: Tensor[]) => batch.supportLoss(model, p, i));
    const outer = (p: Tensor[]) => batch.queryLoss(model, p);
    const all = mg.mamlGradient(params, inner, outer, 0.05, { tasks: 3, recompute: true });
    const tape = mg.mamlGradient(params, inner, outer, 0.05, { tasks: 3 });
    expectClose(flat(all.grads), flat(tape.grads), 1e-12, 'recompute k=7');
    for (const every of [1, 2, 3, 7, 10]) {
      const r = mg.mamlGradient(params, inner, outer, 0.05, { tasks: 3, recompute: { every } });
      expect(r.loss).toBe(all.loss);
      expect(Array.from(flat(r.grads)), `every ${every}`).toEqual(Array.from(flat(all.grads)));
    }
    // An inner loss that counts its calls: checkpoints every 3 of 7 steps recompute 7 − 3 = 4 of
    // them once more (steps 1, 2 / 4, 5 / none after 6), beyond the 7 forward and 7 reverse calls.
    let calls = 0;
    const counted = inner.map((f) => (p: Tensor[]) => (calls++, f(p)));
    mg.mamlGradient(params, counted, outer, 0.05, { tasks: 3, recompute: { every: 3 } });
    expect(calls).toBe(7 + 4 + 7);
    for (const bad of [{ every: 0 }, { every: 1.5 }, 'sqrt']) {
      expect(() => mg.mamlGradient(params, inner, outer, 0.05, { tasks: 3, recompute: bad as never })).toThrow(/mamlGradient: recompute must be true, false or \{ every: s \} with s a positive integer/);
    }
    expect(() => new mg.MAML(model, params, { recompute: { every: 0 } })).toThrow(/MAML: recompute must be true, false or \{ every: s \}/);
  });
});
