/** Per-step batch-norm running statistics (MAML++'s BNRS): the moving averages, conv4 with given statistics, and the trainer gathering them. */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { classesOf } from '../src/tasks/omniglot.js';
import { fakeCharacters } from './helpers/fake-omniglot.js';

const vec = (xs: number[]) => new mg.Tensor(Float32Array.from(xs), [xs.length]);
const values = (t: mg.Tensor) => Array.from(t.data);

describe('StepStatistics', () => {
  test('starts at mean 0 and variance 1 and moves by the momentum towards each batch, the variance unbiased by its count', () => {
    const s = new mg.StepStatistics({ steps: 2, channels: [2, 1], momentum: 0.25 });
    expect(values(s.at(0)[0]!.mean)).toEqual([0, 0]);
    expect(values(s.at(1)[1]!.variance)).toEqual([1]);
    s.update(1, [{ mean: vec([4, -8]), variance: vec([2, 6]), count: 4 }, { mean: vec([1]), variance: vec([3]) }]);
    const [a, b] = s.at(1);
    expect(values(a!.mean)).toEqual([1, -2]); // 0.75·0 + 0.25·(4, −8)
    expect(values(a!.variance)).toEqual([0.75 + 0.25 * 2 * (4 / 3), 0.75 + 0.25 * 6 * (4 / 3)].map(Math.fround));
    expect(values(b!.variance)).toEqual([0.75 + 0.25 * 3]); // no count: taken as it is
    expect(values(s.at(0)[0]!.mean)).toEqual([0, 0]); // other steps untouched
    const v1 = [0.75 + 0.25 * 2 * (4 / 3), 0.75 + 0.25 * 6 * (4 / 3)];
    s.update(1, [{ mean: vec([0, 0]), variance: vec([0, 0]), count: 4 }, { mean: vec([1]), variance: vec([3]) }]);
    expect(values(s.at(1)[0]!.mean)).toEqual([0.75, -1.5]);
    expect(values(s.at(1)[0]!.variance)).toEqual(v1.map((v) => Math.fround(0.75 * v)));
    // Steps past the last share its statistics.
    expect(values(s.at(7)[0]!.mean)).toEqual([0.75, -1.5]);
    s.update(5, [{ mean: vec([0.75, -1.5]), variance: vec([1, 1]) }, { mean: vec([1]), variance: vec([3]) }]);
    expect(values(s.at(1)[0]!.mean)).toEqual([0.75, -1.5]);
  });

  test('checks its options and the moments it is given, naming the problem', () => {
    expect(() => new mg.StepStatistics({ steps: 0, channels: [2] })).toThrow(/StepStatistics: steps must be a positive integer, got 0/);
    expect(() => new mg.StepStatistics({ steps: 1, channels: [] })).toThrow(/channels must list each batch-norm layer's channel count/);
    expect(() => new mg.StepStatistics({ steps: 1, channels: [2, 1.5] })).toThrow(/StepStatistics: channels\[1\] must be a positive integer, got 1.5/);
    expect(() => new mg.StepStatistics({ steps: 1, channels: [2], momentum: 0 })).toThrow(/momentum must be in \(0, 1\], got 0/);
    expect(() => new mg.StepStatistics({ steps: 1, channels: [2], momentum: 1.5 })).toThrow(/momentum must be in \(0, 1\], got 1.5/);
    expect(() => new mg.StepStatistics({ steps: 1, channels: [2], dtype: 'int32' as never })).toThrow(/dtype must be 'float32' or 'float64', got "int32"/);
    expect(() => new mg.StepStatistics({ steps: 1, channels: [2], momentom: 0.1 } as never)).toThrow(/StepStatistics: unknown option 'momentom'/);
    expect(() => new mg.StepStatistics(3 as never)).toThrow(/StepStatistics: options must be an object such as \{ steps: 6, channels: \[64, 64, 64, 64\] \}, got 3/);
    // Momentum 1 keeps only the last batch.
    const last = new mg.StepStatistics({ steps: 1, channels: [1], momentum: 1 });
    last.update(0, [{ mean: vec([3]), variance: vec([2]) }]);
    expect(values(last.at(0)[0]!.mean)).toEqual([3]);
    const s = new mg.StepStatistics({ steps: 1, channels: [2] });
    expect(() => s.update(0, [{ mean: [1, 2] as never, variance: vec([1, 1]) }])).toThrow(/layer 0 needs a mean and a variance of 2 channels/);
    expect(() => s.update(0, [{ mean: vec([1, 2]), variance: [1, 1] as never }])).toThrow(/layer 0 needs a mean and a variance of 2 channels/);
    expect(() => s.update(0, [])).toThrow(/expected the moments of 1 layers/);
    expect(() => s.update(0, [{ mean: vec([1]), variance: vec([1, 1]) }])).toThrow(/layer 0 needs a mean and a variance of 2 channels/);
    expect(() => s.update(-1, [{ mean: vec([1, 1]), variance: vec([1, 1]) }])).toThrow(/step must be a non-negative integer, got -1/);
    expect(() => s.at(0.5)).toThrow(/step must be a non-negative integer, got 0.5/);
  });

  test('apply folds in recorded passes in order, all or none; a recording model whose passes report nothing is refused', () => {
    const s = new mg.StepStatistics({ steps: 2, channels: [1] });
    const rec = (step: number, m: number) => ({ step, layers: [{ mean: Float64Array.of(m), variance: Float64Array.of(1), count: 1 }] });
    s.apply([rec(0, 10), rec(0, 20), rec(1, 5)]);
    expect(values(s.at(0)[0]!.mean)).toEqual([Math.fround(0.9 * 1 + 0.1 * 20)]);
    expect(values(s.at(1)[0]!.mean)).toEqual([0.5]);
    const before = JSON.stringify(s.getState());
    const big = { step: 0, layers: [{ mean: Float64Array.of(7), variance: Float64Array.of(50), count: 1 }] };
    expect(() => s.apply([big, { step: 1, layers: [] }])).toThrow(/expected the moments of 1 layers/);
    expect(JSON.stringify(s.getState())).toBe(before);
    const net = mg.conv4({ classes: 2, filters: 2 });
    const deaf: mg.Model = { init: net.init, forward: (p, x) => net.forward(p, x) };
    expect(() => mg.recordingMoments(deaf, [])).toThrow(/recordingMoments: running statistics need a model that reports its batch-norm moments/);
    expect(() => s.model(deaf)).toThrow(/StepStatistics\.model: running statistics need/);
    expect(() => s.observe(deaf as mg.NormalizedModel, [], mg.zeros([1]), 0)).toThrow(/StepStatistics\.observe: running statistics need/);
    const records: mg.MomentRecord[] = [];
    const dropsContext = mg.recordingMoments({ ...net, forward: (p, x) => net.forward(p, x) } as mg.NormalizedModel, records);
    expect(() => dropsContext.forward(net.init(), mg.zeros([2, 28, 28, 1]), { step: 0 })).toThrow(/reported no batch moments \(a wrapper must pass its context on to the model\)/);
  });

  test('float64 statistics, and copies: what at() and getState() give cannot change the averages', () => {
    const s = new mg.StepStatistics({ steps: 1, channels: [2], dtype: 'float64' });
    s.update(0, [{ mean: vec([1, 2]), variance: vec([3, 4]) }]);
    const got = s.at(0)[0]!;
    expect(got.mean.dtype).toBe('float64');
    expect(Array.from(got.mean.data)).toEqual([0.1 * 1, 0.1 * 2]);
    got.mean.data[0] = 99;
    s.getState()['bnrs.0.0.variance']!.data[1] = 99;
    s.getState()['bnrs.0.0.mean']!.data[1] = 99;
    expect(values(s.at(0)[0]!.mean)[1]).toBeCloseTo(0.2, 12);
    expect(values(s.at(0)[0]!.mean)[0]).toBeCloseTo(0.1, 12);
    expect(values(s.at(0)[0]!.variance)[1]).toBeCloseTo(0.9 + 0.4, 12);
  });

  test('a state round trip restores the averages; a damaged one is refused, naming the tensor, and changes nothing', () => {
    const s = new mg.StepStatistics({ steps: 2, channels: [3] });
    s.update(0, [{ mean: vec([1, 2, 3]), variance: vec([4, 5, 6]), count: 10 }]);
    const state = s.getState();
    expect(Object.keys(state).sort()).toEqual(['bnrs.0.0.mean', 'bnrs.0.0.variance', 'bnrs.1.0.mean', 'bnrs.1.0.variance']);
    const t = new mg.StepStatistics({ steps: 2, channels: [3] });
    const before = JSON.stringify(t.getState());
    const damaged = (name: string, value: mg.Tensor | undefined) => ({ ...state, [name]: value }) as Record<string, mg.Tensor>;
    const cases: [Record<string, mg.Tensor>, RegExp][] = [
      [damaged('bnrs.1.0.mean', undefined), /lacks tensor 'bnrs.1.0.mean'/],
      [damaged('bnrs.0.0.mean', vec([1, 2])), /'bnrs.0.0.mean' has shape \[2\], expected \[3\]/],
      [damaged('bnrs.0.0.mean', vec([1, NaN, 2])), /'bnrs.0.0.mean' holds NaN at 1 \(not finite\)/],
      [damaged('bnrs.0.0.mean', vec([Infinity, 1, 2])), /'bnrs.0.0.mean' holds Infinity at 0 \(not finite\)/],
      [damaged('bnrs.0.0.mean', new mg.Tensor(Float32Array.of(1, 2, 3), [3, 1])), /'bnrs.0.0.mean' has shape \[3, 1\], expected \[3\]/],
      [damaged('bnrs.1.0.variance', vec([1, 1, -2])), /'bnrs.1.0.variance' holds -2 at 2 \(variances are finite and ≥ 0\)/],
    ];
    for (const [bad, message] of cases) {
      expect(() => t.setState(bad)).toThrow(message);
      expect(() => t.checkState(bad)).toThrow(message);
      expect(JSON.stringify(t.getState())).toBe(before);
    }
    t.checkState(state);
    expect(JSON.stringify(t.getState())).toBe(before);
    expect(() => t.setState(null as never)).toThrow(/expected tensors by name, got null/);
    t.setState(state);
    expect(JSON.stringify(t.getState())).toBe(JSON.stringify(state));
    // A variance of 0 (a constant channel) is a variance.
    t.setState({ ...state, 'bnrs.0.0.variance': vec([0, 0, 0]) });
    expect(values(t.at(0)[0]!.variance)).toEqual([0, 0, 0]);
  });
});

describe('conv4 with given statistics', () => {
  const net = mg.conv4({ classes: 3, filters: 4, stepNorms: 2 });
  const params = net.init({ rng: new mg.Rng(2) });
  const x = mg.randn([5, 28, 28, 1], { rng: new mg.Rng(3) });

  test("normalising with the batch's own moments gives the batch-statistics forward pass", () => {
    const own = net.forward(params, x);
    const given = net.forward(params, x, { stats: net.moments(params, x) });
    values(given).forEach((v, i) => expect(v).toBeCloseTo(own.data[i]!, 4));
    expect(net.moments(params, x).map((m) => m.count)).toEqual([5 * 14 * 14, 5 * 7 * 7, 5 * 4 * 4, 5 * 2 * 2]);
  });

  test("moments at a step use that step's batch-norm weights", () => {
    const shifted = params.map((p, i) => (i === 5 ? mg.full(p.shape, 3) : p)); // block 0's β of set 1
    const at0 = net.moments(shifted, x, { step: 0 });
    const at1 = net.moments(shifted, x, { step: 1 });
    expect(values(at1[0]!.mean)).toEqual(values(at0[0]!.mean)); // before any batch norm
    expect(values(at1[1]!.mean)).not.toEqual(values(at0[1]!.mean));
  });

  test("observe folds in the moments at that step's batch-norm weights", () => {
    const shifted = params.map((p, i) => (i === 5 ? mg.full(p.shape, 3) : p)); // block 0's β of set 1
    const s = new mg.StepStatistics({ steps: 2, channels: [4, 4, 4, 4], momentum: 1 });
    s.observe(net, shifted, x, 1);
    expect(values(s.at(1)[1]!.mean)).toEqual(values(net.moments(shifted, x, { step: 1 })[1]!.mean));
    expect(values(s.at(1)[1]!.mean)).not.toEqual(values(net.moments(shifted, x, { step: 0 })[1]!.mean));
  });

  test('with running statistics each image is classified on its own, whatever else is in its batch', () => {
    const stats = new mg.StepStatistics({ steps: 2, channels: [4, 4, 4, 4] });
    stats.observe(net, params, x, 1);
    const evaluated = stats.model(net);
    const all = evaluated.forward(params, x, { step: 1 });
    const alone = evaluated.forward(params, mg.slice(x, 0, 2, 3), { step: 1 });
    values(alone).forEach((v, j) => expect(v).toBeCloseTo(all.data[2 * 3 + j]!, 5));
    // …which batch statistics do not give.
    const batch = net.forward(params, mg.slice(x, 0, 0, 2));
    expect(values(batch)).not.toEqual(values(net.forward(params, x)).slice(0, 6));
    expect(() => net.forward(params, x, { stats: [] })).toThrow(/conv4.forward: stats must list the 4 blocks' \{ mean, variance \}/);
  });
});


describe('FewShotTrainer with runningStats', () => {
  const classes = classesOf(fakeCharacters(12, 1), true);
  const net = mg.conv4({ classes: 3, filters: 4, stepNorms: 3 });
  const config: mg.FewShotConfig = { method: 'mamlpp', nWay: 3, kShot: 1, queryPerClass: 2, metaBatch: 2, innerSteps: 2, innerLr: 0.1, stepNorms: true, iterations: 10, evalSteps: 2 };

  test('training is unchanged, bit for bit; the statistics are the moving averages of every task’s support batch at the weights the step started from', () => {
    const plain = new mg.FewShotTrainer(net, classes, config, 7);
    const bnrs = new mg.FewShotTrainer(net, classes, { ...config, runningStats: true }, 7);
    // The tasks of the first step, drawn as the trainer draws them (after the initial weights).
    const rng = new mg.Rng(7);
    const start = net.init({ rng });
    const tasks = [0, 1].map(() => mg.sampleEpisode(classes, 3, 1, 2, rng));
    for (let i = 0; i < 3; i++) expect(bnrs.step()).toBe(plain.step());
    bnrs.params.forEach((p, i) => expect(values(p)).toEqual(values(plain.params[i]!)));

    expect(Object.keys(plain.getState().tensors).some((k) => k.startsWith('bnrs.'))).toBe(false);
    expect(plain.learner.algorithm.workerSettings).not.toHaveProperty('recordMoments');
    expect(bnrs.learner.algorithm.workerSettings).toMatchObject({ kind: 'mamlpp', recordMoments: true });
    const fresh = new mg.FewShotTrainer(net, classes, { ...config, runningStats: true }, 7);
    fresh.step();
    const expected = new mg.StepStatistics({ steps: 3, channels: [4, 4, 4, 4] });
    for (const ep of tasks) expected.observe(net, start, ep.xSupport, 0);
    const got = fresh.getState().tensors;
    for (let l = 0; l < 4; l++) {
      for (const what of ['mean', 'variance']) {
        const want = expected.getState()[`bnrs.0.${l}.${what}`]!;
        values(got[`bnrs.0.${l}.${what}`]!).forEach((v, c) => expect(v).toBeCloseTo(want.data[c]!, 6));
      }
    }
    // Steps 1 (the second support pass) and 2 (the query after two steps) moved too.
    expect(values(got['bnrs.1.0.mean']!).some((v) => v !== 0)).toBe(true);
    expect(values(got['bnrs.2.3.variance']!).some((v) => v !== 1)).toBe(true);
  });

  test('a checkpoint without the statistics, or with damaged ones, is refused and changes nothing', () => {
    const source = new mg.FewShotTrainer(net, classes, { ...config, runningStats: true }, 7);
    source.step();
    const good = source.getState();
    const target = new mg.FewShotTrainer(net, classes, { ...config, runningStats: true }, 8);
    const snapshot = () => JSON.stringify(target.getState().metadata) + Object.values(target.getState().tensors).map((x) => values(x).join()).join();
    const before = snapshot();
    const { ['bnrs.2.1.mean']: _, ...lacking } = good.tensors;
    expect(() => target.setState({ tensors: lacking, metadata: good.metadata })).toThrow(/FewShotTrainer\.setState: StepStatistics\.setState: the checkpoint lacks tensor 'bnrs.2.1.mean'/);
    expect(snapshot()).toBe(before);
    const plain = new mg.FewShotTrainer(net, classes, config, 7);
    expect(() => target.setState(plain.getState())).toThrow(/different configuration \(runningStats: undefined there, true here\)/);
    expect(snapshot()).toBe(before);
    target.setState(good);
    expect(snapshot()).not.toBe(before);
    expect(() => new mg.FewShotTrainer({ init: net.init, forward: net.forward }, classes, { ...config, runningStats: true }, 1)).toThrow(/FewShotTrainer: runningStats: running statistics need a model that reports its batch-norm moments \(conv4 does\)/);
  });

  test("evaluation with 'running-stats' normalises every forward pass with the step's statistics; the other modes with the batch's", () => {
    const seen: (readonly mg.LayerMoments[] | undefined)[] = [];
    const spy = { ...net, forward: (p: readonly mg.Tensor[], x: mg.Tensor, context?: mg.NormalizedContext) => (seen.push(context?.stats), net.forward(p, x, context)) };
    const t = new mg.FewShotTrainer(spy, classes, { ...config, runningStats: true }, 7);
    t.step();
    seen.length = 0;
    t.evaluate(classes, 1, 'running-stats', new mg.Rng(2));
    // Two adaptation steps and the query pass, each with its own step's statistics.
    expect(seen).toHaveLength(3);
    const want = (step: number) => values(t.getState().tensors[`bnrs.${step}.0.mean`]!).map(Math.fround);
    seen.forEach((stats, step) => expect(values(stats![0]!.mean)).toEqual(want(step)));
    expect(want(0)).not.toEqual(want(2));
    seen.length = 0;
    t.evaluate(classes, 1, true, new mg.Rng(2));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((stats) => stats === undefined)).toBe(true);
  });

  /** An offload computing on this thread as a worker does: the algorithm the settings name, recording when asked. */
  function sameThreadOffload(options: { claim: boolean; moments: boolean; settle?: boolean }) {
    let settled = 0;
    const gradientOf = (params: readonly mg.Tensor[], task: mg.Task, settings: mg.WorkerAlgorithm, context: mg.MetaContext): mg.MetaGradient => {
      const records: mg.MomentRecord[] = [];
      const model = settings.recordMoments === true && options.moments ? mg.recordingMoments(net, records) : net;
      if (settings.kind !== 'mamlpp') throw new Error('expected MAML++ settings');
      // As a worker does: the algorithm rebuilt from its settings.
      const { algorithm } = mg.mamlpp(params.slice(0, settings.modelParams), settings.settings);
      const g = mg.tidy(() => algorithm.taskGradient(model, params, task, context));
      const copy = { loss: g.loss, grads: g.grads.map((t) => new mg.Tensor(t.data.slice(), t.shape)) };
      return options.moments ? { ...copy, moments: records } : copy;
    };
    const offload: mg.MetaGradientOffload = {
      share: (n) => Math.floor(n / 2),
      ...(options.settle === false ? {} : { settle: () => void settled++ }),
      compute: async (params, tasks, settings, context) => tasks.map((t) => gradientOf(params, t, settings, context)),
      ...(options.claim
        ? {
            claim: (params, tasks, settings, context) => {
              let next = 0;
              const theirs = new Map<number, mg.MetaGradient>([[next, gradientOf(params, tasks[next++]!, settings, context)]]);
              return { next: () => next++, results: Promise.resolve(theirs) };
            },
          }
        : {}),
    };
    return { offload, settled: () => settled };
  }

  test.each([false, true])('an offload that records its tasks\' moments (claiming: %s) gives the single-threaded statistics bit for bit; one that does not fails the step cleanly', async (claim) => {
    const c = { ...config, runningStats: true };
    const serial = new mg.FewShotTrainer(net, classes, c, 7);
    serial.step();
    serial.step();
    const t = new mg.FewShotTrainer(net, classes, c, 7);
    const { offload, settled } = sameThreadOffload({ claim, moments: true });
    await t.stepAsync(offload);
    await t.stepAsync(offload);
    const state = (x: mg.FewShotTrainer) => Object.entries(x.getState().tensors).map(([k, v]) => [k, values(v)]);
    expect(state(t)).toEqual(state(serial));
    expect(settled()).toBe(claim ? 2 : 0); // only a claimed batch leaves replies to collect
    const before = JSON.stringify(state(t));
    const { offload: forgetful } = sameThreadOffload({ claim, moments: false });
    await expect(t.stepAsync(forgetful)).rejects.toThrow(/FewShotTrainer: the offload returned the meta-gradient of task 0 without the batch moments its forward passes saw/);
    expect(JSON.stringify(state(t))).toBe(before);
    expect(t.iteration).toBe(2);
    // An offload without settle is taken as it is.
    await t.stepAsync(sameThreadOffload({ claim, moments: true, settle: false }).offload);
    expect(t.iteration).toBe(3);
    // Without running statistics the results need no moments.
    const plain = new mg.FewShotTrainer(net, classes, config, 7);
    await plain.stepAsync(sameThreadOffload({ claim, moments: false }).offload);
    expect(plain.iteration).toBe(1);
  });
});
