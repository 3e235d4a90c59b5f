/**
 * The meta layer over Tasks: a user's own model and classification task made from plain arrays,
 * meta-gradients through supervisedTask against finite differences (float64), the algorithms'
 * stacked and one-at-a-time paths agreeing, the learn2learn-style hand-written loop agreeing with
 * the library's MAML, and a model that breaks the task-axis contract named as such.
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectClose, numericGrad } from './helpers/fd.js';

const f64 = { dtype: 'float64' as const };

/** A two-layer classifier written by hand, with biases of shape [hidden] and [classes] (not tileable along a task axis). */
function ownModel(hidden: number, classes: number): mg.Model {
  return {
    init: ({ rng, dtype } = {}) => [
      mg.scale(mg.randn([2, hidden], { rng, dtype }), 0.5),
      mg.zeros([hidden], { dtype }),
      mg.scale(mg.randn([hidden, classes], { rng, dtype }), 0.5),
      mg.zeros([classes], { dtype }),
    ],
    forward: ([w1, b1, w2, b2], x) => mg.add(mg.matmul(mg.tanh(mg.add(mg.matmul(x, w1!), b1!)), w2!), b2!),
  };
}

/** Points of the plane labelled by the side of a random line through the origin they fall on. */
function lineTask(rng: mg.Rng, dtype: 'float32' | 'float64' = 'float32', n = 10): mg.SupervisedTask {
  const angle = rng.uniformIn(0, 2 * Math.PI);
  const points = (count: number) => {
    const xs: number[][] = [];
    const ys: number[] = [];
    for (let i = 0; i < count; i++) {
      const [a, b] = [rng.uniformIn(-1, 1), rng.uniformIn(-1, 1)];
      xs.push([a, b]);
      ys.push(a * Math.cos(angle) + b * Math.sin(angle) > 0 ? 1 : 0);
    }
    return [mg.tensor(xs, { dtype }), ys] as const;
  };
  const [xSupport, ySupport] = points(n);
  const [xQuery, yQuery] = points(n);
  return mg.supervisedTask({ xSupport, ySupport, xQuery, yQuery }, { loss: 'cross-entropy' });
}

const flat = (ts: readonly Tensor[]): number[] => ts.flatMap((t) => Array.from(t.data));

describe("a user's own model and task", () => {
  test('MAML meta-trains a hand-written classifier on tasks made from plain arrays, and adaptation then beats chance clearly', () => {
    const rng = new mg.Rng(0);
    const model = ownModel(16, 2);
    const maml = new mg.MAML(model, model.init({ rng }), { innerLr: 0.5, innerSteps: 1 });
    const test = Array.from({ length: 100 }, () => lineTask(new mg.Rng(rng.nextU32())));
    const before = mg.evaluate(model, maml.params, test, [1], 0.5).get(1)!.mean;
    for (let i = 0; i < 150; i++) maml.step(Array.from({ length: 8 }, () => lineTask(rng)));
    const curve = mg.evaluate(model, maml.params, test, [0, 1, 3], 0.5);
    expect(curve.get(3)!.mean).toBeGreaterThan(0.8);
    expect(curve.get(1)!.mean).toBeGreaterThan(before + 0.05);
    expect(curve.get(1)!.n).toBe(100);
  });

  test('the hand-written learn2learn-style loop (adapt on the tape, query loss, outer step) gives the library\'s MAML meta-gradient', () => {
    const rng = new mg.Rng(1);
    const model = ownModel(5, 2);
    const params = model.init({ rng, ...f64 });
    const task = lineTask(rng, 'float64');
    const [loss, grads] = mg.valueAndGrad((p: Tensor[]) => {
      const fast = mg.sgdInnerLoop(p, [(q) => task.supportLoss(model, q, 0), (q) => task.supportLoss(model, q, 1)], 0.3, 'second-order').params;
      return task.queryLoss(model, fast);
    })(params);
    const learner = new mg.MAML(model, params, { innerLr: 0.3, innerSteps: 2 });
    const lib = learner.metaGradient(task);
    expect(lib.loss).toBe(loss.item());
    expect(flat(lib.grads)).toEqual(flat(grads));
  });
});

describe('meta-gradients over supervisedTask, float64 finite differences', () => {
  const rng = new mg.Rng(2);
  const model = ownModel(4, 3);
  const params = model.init({ rng, ...f64 });
  const labels = (n: number) => Array.from({ length: n }, () => rng.int(3));
  const task = mg.supervisedTask(
    { xSupport: mg.randn([6, 2], { rng, ...f64 }), ySupport: labels(6), xQuery: mg.randn([5, 2], { rng, ...f64 }), yQuery: labels(5) },
    { loss: 'cross-entropy', innerBatch: 4, order: [5, 1, 3, 0, 2, 4] },
  );
  /** The query loss after k SGD steps on the task's mini-batches, as a plain function of φ (forward only). */
  const adaptedLoss = (k: number, alpha: number, on: 'query' | 'support') => (p: Tensor[]) => {
    let phi = p;
    for (let i = 0; i < k; i++) {
      // The finite differences run under noGrad; the inner gradients need the tape.
      const [, g] = mg.enableGrad(() => mg.valueAndGrad((q: Tensor[]) => task.supportLoss(model, q, i))(phi.map((t) => t.detach())));
      phi = phi.map((t, j) => mg.sub(t, mg.scale(g[j]!, alpha)));
    }
    return task.queryLoss(model, phi, on);
  };

  test.each([
    [1, 'separate'],
    [3, 'separate'],
    [2, 'shared'],
  ] as const)('MAML with k = %i, %s tail: the exact meta-gradient of the adapted loss', (k, tail) => {
    const { grads } = mg.maml({ innerLr: 0.2, innerSteps: k, firstOrder: false, tail }).metaGradient(model, params, [task]);
    const numeric = numericGrad(adaptedLoss(k, 0.2, tail === 'shared' ? 'support' : 'query'), params);
    grads.forEach((g, i) => expectClose(g.data, numeric[i]!, 1e-6, `maml k=${k} ${tail}: d/dφ${i}`));
  });

  test('the mini-batches cycle through the given order', () => {
    const seen: number[][] = [];
    const spy: mg.Model = { ...model, forward: (p, x) => (seen.push(Array.from(x.data.subarray(0, 2))), model.forward(p, x)) };
    task.supportLoss(spy, params, 0);
    task.supportLoss(spy, params, 1);
    const row = (r: number) => Array.from(task.xSupport.data.subarray(2 * r, 2 * r + 2));
    // step 0 takes rows 5, 1, 3, 0; step 1 rows 2, 4, 5, 1
    expect(seen).toEqual([row(5), row(2)]);
  });

  test('Reptile over tasks one at a time equals the stacked batch, and the §6.2 family with [1, …, 1] is α times the Reptile gradient', () => {
    const sine = new mg.SineTasks({ rng: new mg.Rng(4), dtype: 'float64' });
    const net = mg.mlp([1, 8, 1], { activation: 'tanh' });
    const phi = net.init({ rng: new mg.Rng(5), ...f64 });
    const batch = sine.sampleBatch(3);
    const r = mg.reptile({ innerLr: 0.05, innerSteps: 3 });
    const stacked = r.metaGradient(net, phi, [batch]).grads;
    const inTurn = r.metaGradient(net, phi, batch.split()).grads;
    expectClose(flat(inTurn), flat(stacked), 1e-12, 'reptile in turn vs stacked');
    const family = mg.innerGradientFamily({ innerLr: 0.05, coefficients: [1, 1, 1] }).metaGradient(net, phi, [batch]).grads;
    expectClose(flat(family), flat(stacked), 1e-12, 'family [1,1,1] vs Reptile');
    const fomaml = mg.innerGradientFamily({ innerLr: 0.05, coefficients: [0, 0, 1] }).metaGradient(net, phi, [batch]).grads;
    // [0, 0, 1] is the gradient at the third inner step: FOMAML with two inner steps on the support set (shared tail)
    const ref = mg.maml({ innerLr: 0.05, innerSteps: 2, firstOrder: true, tail: 'shared' }).metaGradient(net, phi, [batch]).grads;
    expectClose(flat(fomaml), flat(ref), 1e-12, 'family [0,0,1] vs shared-tail FOMAML');
  });
});

describe('the model contract', () => {
  test('a model that cannot take the task axis is named as such on a stacked batch, and works on the same tasks given one at a time', () => {
    const rng = new mg.Rng(6);
    const model: mg.Model = {
      init: (o = {}) => [mg.randn([1, 20], { rng: o.rng }), mg.zeros([20]), mg.randn([20, 1], { rng: o.rng }), mg.zeros([1])],
      forward: ([w1, b1, w2, b2], x) => mg.add(mg.matmul(mg.relu(mg.add(mg.matmul(x, w1!), b1!)), w2!), b2!),
    };
    const params = model.init({ rng });
    const batch = new mg.SineTasks({ rng }).sampleBatch(4);
    expect(() => mg.evaluate(model, params, [batch], [1], 0.01)).toThrow(/the model failed on a stacked meta-batch of 4 tasks \(inputs \[4,10,1\], parameters tiled to \[4,1,20\] \[4,20\] \[4,20,1\] \[4,1\]\).*give it the tasks one at a time \(task\.split\(\)\)/);
    expect(() => new mg.MAML(model, params).step(batch)).toThrow(/stacked meta-batch/);
    const curve = mg.evaluate(model, params, batch.split(), [0, 1], 0.01);
    expect(curve.get(1)!.n).toBe(4);
    expect(Number.isFinite(new mg.MAML(model, params).step(batch.split()))).toBe(true);
  });

  test('bad tasks are named', () => {
    const x = mg.zeros([3, 2]);
    expect(() => mg.supervisedTask({ xSupport: x, ySupport: [0, 1], xQuery: x, yQuery: [0, 1, 1] }, { loss: 'cross-entropy' })).toThrow(/supervisedTask: the support set has 3 inputs but 2 targets/);
    expect(() => mg.supervisedTask({ xSupport: x, ySupport: [0, 1, 1], xQuery: x, yQuery: [0, 1, 1] }, { loss: 'hinge' as never })).toThrow(/loss must be 'mse', 'cross-entropy' or a function/);
    expect(() => mg.supervisedTask({ xSupport: x, ySupport: [0, 1, 1], xQuery: x, yQuery: [0, 1, 1] }, { loss: 'cross-entropy', stacked: true })).toThrow(/cross-entropy tasks cannot be stacked/);
    expect(() => mg.supervisedTask({ xSupport: x, ySupport: [0, 1, 1], xQuery: x, yQuery: [0, 1, 1] }, { order: [0, 1] })).toThrow(/order must list the 3 support rows/);
    expect(() => mg.supervisedTask({ xSupport: [[1, 2]] as never, ySupport: [0], xQuery: x, yQuery: [0, 1, 1] })).toThrow(/xSupport must be a Tensor, got an array/);
    expect(() => mg.supervisedTask({ xSupport: x, ySupport: [0, 1, 1], xQuery: x, yQuery: [0, 1, 1] }, { lossFn: 'mse' } as never)).toThrow(/unknown option 'lossFn'/);
    const model = ownModel(3, 2);
    expect(() => new mg.MAML(model, model.init(), {}).step([] as never)).toThrow(/MAML: batch\.xSupport must be a Tensor/);
  });
});
