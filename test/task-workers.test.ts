/**
 * MAML's meta-batch on worker threads (`TaskWorkers`): the weights are bit-identical to the
 * single-threaded trainer for any number of workers, a run may switch between the two midway,
 * and bad options, failing tasks and a closed pool give errors that say what happened.
 *
 * Worker threads run compiled JavaScript, so this file tests the build (`npm test` builds first).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as mg from '../build/src/index.js';
import { TaskWorkers } from '../build/src/node.js';
import { TaskWorkers as WebTaskWorkers } from '../build/src/train/task-workers.js';

function fakeClasses(count: number, seed: number): mg.OmniglotClass[] {
  const rng = new mg.Rng(seed);
  const characters = Array.from({ length: count }, (_, c) => ({
    alphabet: 'fake',
    name: `character${c}`,
    images: Array.from({ length: 20 }, () => Float32Array.from({ length: 784 }, () => (rng.uniform() < 0.2 ? 1 : 0))),
  }));
  return mg.classesOf(characters, true);
}

const classes = fakeClasses(12, 1);
const modelOptions: mg.Conv4Options = { classes: 3, filters: 4 };
const model = mg.conv4(modelOptions);
const config = (method: 'maml' | 'fomaml'): mg.FewShotConfig => ({ method, nWay: 3, kShot: 1, queryPerClass: 2, metaBatch: 5, innerSteps: 2, innerLr: 0.4, iterations: 10, evalSteps: 1 });
const weights = (t: mg.FewShotTrainer): number[][] => t.params.map((p) => Array.from(p.data));

const pools: TaskWorkers[] = [];
beforeAll(async () => {
  pools.push(await TaskWorkers.start({ workers: 1, model: { conv4: modelOptions } }));
  pools.push(await TaskWorkers.start({ workers: 3, model: { conv4: modelOptions } }));
});
afterAll(async () => {
  for (const p of pools) await p.close();
});

describe.each(['maml', 'fomaml'] as const)('%s', (method) => {
  test('with 1 or 3 workers, 3 iterations give the single-threaded weights and losses bit for bit; so does switching midway', async () => {
    const serial = new mg.FewShotTrainer(model, classes, config(method), 7);
    const serialLosses = [serial.step(), serial.step(), serial.step()];
    for (const pool of pools) {
      const t = new mg.FewShotTrainer(model, classes, config(method), 7);
      const losses = [await t.stepAsync(pool), await t.stepAsync(pool), await t.stepAsync(pool)];
      expect(losses).toEqual(serialLosses);
      expect(weights(t)).toEqual(weights(serial));
      expect(t.iteration).toBe(3);
      // A resumed run may change its thread count: one step alone, two on workers.
      const mixed = new mg.FewShotTrainer(model, classes, config(method), 7);
      mixed.step();
      await mixed.stepAsync(pool);
      await mixed.stepAsync(pool);
      expect(weights(mixed)).toEqual(weights(serial));
    }
    // The workers really did the work they were given: their gradients alone (5 tasks, the first
    // 0 here) match the calling thread's.
    const pool = pools[1]!;
    const t = new mg.FewShotTrainer(model, classes, config(method), 7);
    const episodes = Array.from({ length: 2 }, () => mg.sampleEpisode(classes, 3, 1, 2, new mg.Rng(11)));
    const away = await pool.compute(t.params, episodes, mg.mamlTaskSettings(config(method)));
    expect(away).toHaveLength(2);
    const here = mg.mamlTaskGradient(model, t.params, episodes[0]!, mg.mamlTaskSettings(config(method)));
    expect(away[0]!.loss).toBe(here.loss);
    away[0]!.grads.forEach((g, i) => expect(Array.from(g.data)).toEqual(Array.from(here.grads[i]!.data)));
  });
});

test('MAML++ with per-step running statistics: the workers record each task\'s batch moments, so weights and statistics are the single-threaded ones bit for bit', async () => {
  const c: mg.FewShotConfig = { method: 'mamlpp', nWay: 3, kShot: 1, queryPerClass: 2, metaBatch: 5, innerSteps: 2, innerLr: 0.1, msl: 4, runningStats: true, iterations: 10, evalSteps: 1 };
  const state = (t: mg.FewShotTrainer) => Object.entries(t.getState().tensors).map(([k, v]) => [k, Array.from(v.data)]);
  const serial = new mg.FewShotTrainer(model, classes, c, 7);
  for (let i = 0; i < 2; i++) serial.step();
  for (const pool of pools) {
    const t = new mg.FewShotTrainer(model, classes, c, 7);
    await t.stepAsync(pool);
    await t.stepAsync(pool);
    expect(state(t)).toEqual(state(serial));
  }
  // Without the statistics the weights are the same: recording changes nothing the step computes.
  const plain = new mg.FewShotTrainer(model, classes, { ...c, runningStats: undefined }, 7);
  await plain.stepAsync(pools[1]!);
  await plain.stepAsync(pools[1]!);
  expect(weights(plain)).toEqual(weights(serial));
  expect(state(serial).some(([k, v]) => (k as string).startsWith('bnrs.1.') && (v as number[]).some((x) => x !== 0 && x !== 1))).toBe(true);
});

test('claimed meta-batches: every task is taken exactly once, by whichever thread asks first, and a worker\'s gradient is the calling thread\'s bit for bit', async () => {
  const t = new mg.FewShotTrainer(model, classes, config('maml'), 7);
  const settings = mg.mamlTaskSettings(config('maml'));
  const episodes = Array.from({ length: 6 }, (_, i) => mg.sampleEpisode(classes, 3, 1, 2, new mg.Rng(20 + i)));
  // The caller takes none: the three workers share all six.
  const all = pools[1]!.claim(t.params, episodes, settings)!;
  const theirs = await all.results;
  expect([...theirs.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  for (const [i, r] of theirs) {
    const here = mg.mamlTaskGradient(model, t.params, episodes[i]!, settings);
    expect(r.loss).toBe(here.loss);
    r.grads.forEach((g, j) => expect(Array.from(g.data)).toEqual(Array.from(here.grads[j]!.data)));
  }
  // The caller takes three: the worker gets the others (no task twice, none left out), and after
  // them the counter says that nothing is left.
  const some = pools[0]!.claim(t.params, episodes, settings)!;
  const mine = [some.next(), some.next(), some.next()];
  const rest = [...(await some.results).keys()];
  expect([...mine, ...rest].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  expect(some.next()).toBeGreaterThanOrEqual(6);
});

test('the workers take their even share of a meta-batch', () => {
  expect(pools[0]!.share(32)).toBe(16);
  expect(pools[1]!.share(32)).toBe(24);
  expect(pools[1]!.share(5)).toBe(4);
  expect(pools[1]!.size).toBe(3);
});

test('Reptile, whose tasks share one inner Adam state, runs in order on the calling thread', async () => {
  const c: mg.FewShotConfig = { method: 'reptile', nWay: 3, kShot: 1, trainShots: 3, metaBatch: 2, innerSteps: 2, innerBatch: 4, innerLr: 1e-3, iterations: 10, evalSteps: 1 };
  const a = new mg.FewShotTrainer(model, classes, c, 3);
  const b = new mg.FewShotTrainer(model, classes, c, 3);
  a.step();
  await b.stepAsync(pools[0]);
  expect(weights(b)).toEqual(weights(a));
});

test('Reptile with SGD inside is spread bit for bit, its tasks adapting on mini-batches in their own order', async () => {
  const rng = new mg.Rng(5);
  const episodes = [0, 1].map(() => Array.from({ length: 3 }, () => mg.sampleEpisode(classes, 3, 2, 0, rng)));
  const batches = episodes.map((b) => b.map((ep) => mg.episodeTask(ep, { innerBatch: 4, order: rng.sample(6, 6) })));
  const make = (): mg.MetaLearner => new mg.MetaLearner(model, model.init({ rng: new mg.Rng(6) }), mg.reptile({ innerLr: 0.05, innerSteps: 3 }), new mg.Adam());
  const serial = make();
  const spread = make();
  for (const tasks of batches) expect(await spread.stepAsync(tasks, pools[0])).toBe(serial.step(tasks));
  expect(spread.params.map((p) => Array.from(p.data))).toEqual(serial.params.map((p) => Array.from(p.data)));
  // The order matters, so the workers must have used it: another order gives other weights.
  const other = make();
  other.step(episodes[0]!.map((ep) => mg.episodeTask(ep, { innerBatch: 4 })));
  other.step(batches[1]!);
  expect(other.params.map((p) => Array.from(p.data))).not.toEqual(serial.params.map((p) => Array.from(p.data)));
});

test('bad options, a task that fails inside a worker, and a closed pool are each named', async () => {
  await expect(TaskWorkers.start({ workers: 0, model: { conv4: modelOptions } })).rejects.toThrow(/workers must be a positive integer, got 0/);
  await expect(TaskWorkers.start({ workers: 1, model: {} as never })).rejects.toThrow(/model must be \{ conv4: Conv4Options \}/);
  await expect(TaskWorkers.start({ workers: 1, model: { conv4: { classes: 0 } } })).rejects.toThrow(/worker 0 could not start: conv4: classes must be a positive integer, got 0/);
  // A 20×20 image does not fit the model's 28×28 head: the worker's error comes back whole.
  const pool = await TaskWorkers.start({ workers: 1, model: { conv4: modelOptions } });
  const t = new mg.FewShotTrainer(model, classes, config('maml'), 1);
  const small = { xSupport: mg.zeros([3, 20, 20, 1]), ySupport: new Int32Array(3), xQuery: mg.zeros([3, 20, 20, 1]), yQuery: new Int32Array(3) };
  await expect(pool.compute(t.params, [small], mg.mamlTaskSettings(config('maml')))).rejects.toThrow(/worker 0 failed on its tasks: RangeError: conv4: input must be \[n, 28, 28, 1\], got \[3,20,20,1\]/);
  // The pool survives a failing task.
  const ep = mg.sampleEpisode(classes, 3, 1, 2, new mg.Rng(2));
  expect(await pool.compute(t.params, [ep], mg.mamlTaskSettings(config('maml')))).toHaveLength(1);
  // An offload that claims more tasks than the meta-batch has is refused before any work.
  await expect(t.stepAsync({ share: () => 6, compute: pool.compute.bind(pool) })).rejects.toThrow(/offload.share\(5\) must be an integer in \[0, 5\], got 6/);
  await pool.close();
  await expect(pool.compute(t.params, [ep], mg.mamlTaskSettings(config('maml')))).rejects.toThrow(/compute after close\(\)/);
  expect(t.iteration).toBe(0);
});

test('a worker that dies mid-run fails the step in flight and every later one, naming the worker', async () => {
  const pool = await TaskWorkers.start({ workers: 2, model: { conv4: modelOptions } });
  const t = new mg.FewShotTrainer(model, classes, config('maml'), 1);
  await t.stepAsync(pool);
  const before = weights(t);
  const state = JSON.stringify(t.getState().metadata);
  // Stand-in for a crash (out of memory, say): the thread goes away as a step hands it tasks;
  // its exit is reported only after the step has posted them, so the step is the one waiting.
  const gone = (pool as unknown as { threads: { terminate(): Promise<number> }[] }).threads[1]!.terminate();
  const step = t.stepAsync(pool);
  await gone;
  await expect(step).rejects.toThrow(/TaskWorkers: worker 1 exited with code 1/);
  await expect(t.stepAsync(pool)).rejects.toThrow(/TaskWorkers: worker 1 exited with code 1/);
  // A failed step changes nothing (weights, iteration, sampler, Adam): the state saved now
  // resumes as if it had never started.
  expect(weights(t)).toEqual(before);
  expect(t.iteration).toBe(1);
  expect(JSON.stringify(t.getState().metadata)).toBe(state);
  await pool.close();
  const serial = new mg.FewShotTrainer(model, classes, config('maml'), 1);
  serial.step();
  serial.step();
  t.step();
  expect(weights(t)).toEqual(weights(serial));
});

test("metagrad's own TaskWorkers starts Web Workers, which Node lacks: it says to use metagrad/node, whose pool is Node's", async () => {
  expect(mg.TaskWorkers).toBe(WebTaskWorkers);
  await expect(mg.TaskWorkers.start({ workers: 1, model: { conv4: modelOptions } })).rejects.toThrow(/this runtime has no Web Workers; in Node, import \{ TaskWorkers \} from 'metagrad\/node'/);
  expect(pools[0]).toBeInstanceOf(TaskWorkers);
  expect(pools[0]).toBeInstanceOf(WebTaskWorkers);
});


test('workers build any model a module exports and take any supervised task: MetaLearner.stepAsync gives the one-thread weights bit for bit', async () => {
  const url = new URL('./helpers/worker-model.mjs', import.meta.url).href;
  const pool = await TaskWorkers.start({ workers: 1, model: { module: url, export: 'makeMlp', options: [1, 20, 1] } });
  try {
    const net = mg.mlp([1, 20, 1], { activation: 'tanh' });
    const sampler = new mg.SineTasks({ rng: new mg.Rng(3) });
    const batches = [0, 1, 2].map(() => sampler.sampleBatch(6).split());
    const algorithms = [
      mg.maml({ innerLr: 0.01, innerSteps: 2, firstOrder: false, tail: 'separate' }),
      mg.maml({ innerLr: 0.01, innerSteps: 3, firstOrder: false, tail: 'shared', recompute: true }),
      mg.reptile({ innerLr: 0.02, innerSteps: 3 }),
      mg.innerGradientFamily({ innerLr: 0.02, coefficients: [0, 1, 1] }),
    ];
    let spread!: mg.MetaLearner;
    for (const algorithm of algorithms) {
      const make = (): mg.MetaLearner => new mg.MetaLearner(net, net.init({ rng: new mg.Rng(4) }), algorithm, new mg.Adam());
      const serial = make();
      spread = make();
      for (const tasks of batches) expect(await spread.stepAsync(tasks, pool)).toBe(serial.step(tasks));
      expect(spread.params.map((p) => Array.from(p.data)), algorithm.name).toEqual(serial.params.map((p) => Array.from(p.data)));
    }
    // MAML++ (LSLR, MSL, DA at iteration 1, ANIL's head-only inner loop): the workers need the
    // iteration too, for the MSL weights and the derivative order.
    const init = net.init({ rng: new mg.Rng(4) });
    const { algorithm: plus, extra } = mg.mamlpp(init, { innerLr: 0.01, innerSteps: 2, learnedLr: 'per-layer-per-step', msl: { iterations: 2 }, secondOrderFrom: 1, adapt: [2, 3] });
    const serialPlus = new mg.MetaLearner(net, [...init, ...extra], plus, new mg.Adam());
    const spreadPlus = new mg.MetaLearner(net, [...init, ...extra], plus, new mg.Adam());
    for (const tasks of batches) expect(await spreadPlus.stepAsync(tasks, pool)).toBe(serialPlus.step(tasks));
    expect(spreadPlus.params.map((p) => Array.from(p.data))).toEqual(serialPlus.params.map((p) => Array.from(p.data)));
    // The workers really computed MAML++ at the iteration given: their gradient of a task at
    // iteration 1 is the calling thread's, and differs from the one at iteration 0.
    const at = (iteration: number) => pool.compute(serialPlus.params, batches[0]!.slice(0, 1), plus.workerSettings!, { iteration });
    const here = plus.taskGradient!(net, serialPlus.params, batches[0]![0]!, { iteration: 1 });
    const [one] = await at(1);
    const [zero] = await at(0);
    one!.grads.forEach((g, j) => expect(Array.from(g.data)).toEqual(Array.from(here.grads[j]!.data)));
    expect(Array.from(zero!.grads[0]!.data)).not.toEqual(Array.from(one!.grads[0]!.data));
    // A task whose loss is a closure cannot cross threads: named before any work.
    const own = sampler.sampleBatch(2).split().map((t) => mg.supervisedTask(t as mg.SupervisedTask, { loss: (p, y) => mg.mse(p, y as mg.Tensor) }));
    await expect(spread.stepAsync(own, pool)).rejects.toThrow(/TaskWorkers: task 0 cannot be sent to a worker/);
  } finally {
    await pool.close();
  }
  await expect(TaskWorkers.start({ workers: 1, model: { module: url, export: 'nope' } })).rejects.toThrow(/worker 0 could not start: .*worker-model\.mjs has no function export 'nope'/);
});

describe('a stacked meta-batch (sine MAML) in parts', () => {
  const sizes = [1, 12, 12, 1];
  const net = mg.mlp(sizes);
  const spec = { module: new URL('../build/src/index.js', import.meta.url).href, export: 'mlp', options: sizes };

  test.each([1, 3])('with %i workers the weights are one thread\'s bit for bit, whatever share settle() moves the workers to', async (workers) => {
    const pool = await TaskWorkers.start({ workers, model: spec });
    try {
      const make = () => new mg.MAML(net, net.init({ rng: new mg.Rng(2) }), { innerLr: 0.01, innerSteps: 2 });
      const serial = make();
      const split = make();
      const a = new mg.SineTasks({ rng: new mg.Rng(3) });
      const b = new mg.SineTasks({ rng: new mg.Rng(3) });
      const shares = new Set<number>();
      for (let i = 0; i < 12; i++) {
        shares.add(pool.share(10));
        const expected = serial.step(a.sampleBatch(10));
        expect(await split.stepAsync(b.sampleBatch(10), pool)).toBeCloseTo(expected, 5);
      }
      expect(learnerWeights(split)).toEqual(learnerWeights(serial));
      // settle() moved the share at least once (it moves it by one task every step).
      expect(shares.size).toBeGreaterThan(1);
      for (const s of shares) expect(s).toBeGreaterThanOrEqual(0);
      for (const s of shares) expect(s).toBeLessThanOrEqual(10);
    } finally {
      await pool.close();
    }
  });
});

function learnerWeights(l: mg.MetaLearner): number[][] {
  return l.params.map((p) => Array.from(p.data));
}
