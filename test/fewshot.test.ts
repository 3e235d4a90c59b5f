/** Few-shot trainer: exact resume from a checkpoint, and evaluation in both batch-norm modes. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { classesOf } from '../src/tasks/omniglot.js';
import { fakeCharacters } from './helpers/fake-omniglot.js';


const classes = classesOf(fakeCharacters(30, 1), true);
const model = mg.conv4({ classes: 3, filters: 4 });
const configs: Record<string, mg.FewShotConfig> = {
  reptile: { method: 'reptile', nWay: 3, kShot: 1, trainShots: 3, metaBatch: 2, innerSteps: 2, innerBatch: 4, innerLr: 1e-3, iterations: 10, evalSteps: 3 },
  maml: { method: 'maml', nWay: 3, kShot: 1, queryPerClass: 2, metaBatch: 2, innerSteps: 1, innerLr: 0.4, iterations: 10, evalSteps: 2 },
  'mamlpp with running statistics': { method: 'mamlpp', nWay: 3, kShot: 1, queryPerClass: 2, metaBatch: 2, innerSteps: 2, innerLr: 0.1, runningStats: true, iterations: 10, evalSteps: 2 },
};

describe.each(Object.keys(configs))('%s', (name) => {
  const config = configs[name]!;
  test('2 iterations + checkpoint (safetensors round trip) + 2 iterations = 4 uninterrupted iterations, bit for bit', () => {
    const straight = new mg.FewShotTrainer(model, classes, config, 7);
    for (let i = 0; i < 4; i++) straight.step();
    const first = new mg.FewShotTrainer(model, classes, config, 7);
    first.step();
    first.step();
    const st = first.getState();
    const bytes = mg.encodeSafetensors(st.tensors, st.metadata);
    const resumed = new mg.FewShotTrainer(model, classes, config, 999);
    resumed.setState(mg.decodeSafetensors(bytes));
    expect(resumed.iteration).toBe(2);
    resumed.step();
    resumed.step();
    resumed.params.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(straight.params[i]!.data)));
  });

  test('a checkpoint written before the first step (no optimiser moments yet) resumes, bit for bit', () => {
    const fresh = new mg.FewShotTrainer(model, classes, config, 7);
    const st = fresh.getState();
    expect(Object.keys(st.tensors).some((k) => k.includes('.m.'))).toBe(false);
    const resumed = new mg.FewShotTrainer(model, classes, config, 999);
    resumed.setState(mg.decodeSafetensors(mg.encodeSafetensors(st.tensors, st.metadata)));
    expect(resumed.iteration).toBe(0);
    const straight = new mg.FewShotTrainer(model, classes, config, 7);
    for (let i = 0; i < 2; i++) [resumed, straight].forEach((t) => t.step());
    resumed.params.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(straight.params[i]!.data)));
  });

  test('evaluation in both BN modes gives accuracies in [0,1] and leaves the training state untouched', () => {
    const t = new mg.FewShotTrainer(model, classes, config, 3);
    t.step();
    const snapshot = () => JSON.stringify(t.getState().metadata) + Object.values(t.getState().tensors).map((x) => Array.from(x.data).join()).join();
    const before = snapshot();
    for (const transductive of config.runningStats === true ? [true, false, 'running-stats' as const] : [true, false]) {
      const own = new mg.Rng(5);
      const r = t.evaluate(classes, 4, transductive, own);
      expect(r.n).toBe(4);
      expect(r.mean).toBeGreaterThanOrEqual(0);
      expect(r.mean).toBeLessThanOrEqual(1);
      // Without an rng, the episodes come from the library-wide generator: the same draws.
      mg.manualSeed(5);
      expect(t.evaluate(classes, 4, transductive)).toEqual(r);
      expect(mg.getDefaultRng().getState()).toEqual(own.getState());
    }
    expect(snapshot()).toBe(before);
    if (config.runningStats !== true) expect(() => t.evaluate(classes, 1, 'running-stats')).toThrow(/FewShotTrainer\.evaluate: 'running-stats' needs a MAML\+\+ configuration with runningStats: true/);
  });
});

test('a checkpoint from another configuration is refused', () => {
  const a = new mg.FewShotTrainer(model, classes, configs.maml!, 1);
  const b = new mg.FewShotTrainer(model, classes, { ...configs.maml!, innerLr: 0.1 }, 1);
  expect(() => b.setState(a.getState())).toThrow(/different configuration \(innerLr: 0.4 there, 0.1 here\)/);
  expect(() => b.setState({ tensors: {}, metadata: {} })).toThrow(/not a metagrad checkpoint/);
  expect(() => b.setState(null as never)).toThrow(/FewShotTrainer\.setState: expected \{ tensors, metadata \} as from getState\(\) or loadSafetensors, got null/);
  expect(() => b.setState({ metadata: {} } as never)).toThrow(/FewShotTrainer\.setState: expected \{ tensors, metadata \}/);
});

test('a damaged checkpoint is refused, naming the damage, and leaves the trainer as it was', () => {
  const source = new mg.FewShotTrainer(model, classes, configs.maml!, 1);
  source.step();
  const good = source.getState();
  const target = new mg.FewShotTrainer(model, classes, configs.maml!, 2);
  const snapshot = () => JSON.stringify(target.getState().metadata) + target.params.map((p) => Array.from(p.data).join()).join();
  const before = snapshot();
  const meta = JSON.parse(good.metadata.metagrad!) as Record<string, unknown>;
  const withMeta = (m: Record<string, unknown>) => ({ tensors: good.tensors, metadata: { metagrad: JSON.stringify(m) } });
  const withTensor = (name: string, at: number, value: number) => {
    const t = good.tensors[name]!;
    const data = t.data.slice();
    data[at] = value;
    return { tensors: { ...good.tensors, [name]: new mg.Tensor(data, t.shape) }, metadata: good.metadata };
  };
  const withoutTensor = (name: string) => ({ tensors: Object.fromEntries(Object.entries(good.tensors).filter(([k]) => k !== name)), metadata: good.metadata });
  const cases: [Parameters<mg.FewShotTrainer['setState']>[0], RegExp][] = [
    [{ tensors: good.tensors, metadata: { metagrad: '{"config":' } }, /'metagrad' metadata is not valid JSON/],
    [withMeta({ ...meta, config: undefined }), /holds no configuration/],
    [withMeta({ ...meta, iteration: 1.5 }), /'iteration' is 1.5, not a count/],
    [withMeta({ ...meta, rng: [1, 2] }), /sampler state is damaged \(Rng\.setState: expected the 6 numbers of getState\(\), got \[1,2\]\)/],
    [withMeta({ ...meta, rng: [0, 0, 0, 0, 0, 0] }), /sampler state is damaged \(Rng\.setState: \[0,0,0,0,0,0\] is not a generator state/],
    [withMeta({ ...meta, 'outer.t': -1 }), /'outer.t' is -1, not a count/],
    [withoutTensor('outer.v.3'), /lacks tensor 'outer.v.3'/], // the parameters come first: they must not be half-restored
    [{ tensors: { ...good.tensors, 'params.0': mg.zeros([2, 2]) }, metadata: good.metadata }, /tensor 'params.0' is float32 \[2, 2\], where the model has float32 \[3, 3, 1, 4\]/],
    [{ tensors: { ...good.tensors, 'params.0': mg.zeros([4, 1, 3, 3]) }, metadata: good.metadata }, /tensor 'params.0' is float32 \[4, 1, 3, 3\], where the model has float32 \[3, 3, 1, 4\]/],
    [withTensor('params.1', 2, NaN), /tensor 'params.1' holds NaN at flat index 2 \(not finite\): the file is damaged/],
    [withTensor('outer.m.0', 0, Infinity), /tensor 'outer.m.0' holds Infinity at flat index 0/],
    [withTensor('outer.v.0', 5, -1), /tensor 'outer.v.0' holds -1 at flat index 5 \(second moments are finite and ≥ 0\)/],
    [{ tensors: { ...good.tensors, 'params.2': [1, 2] as never }, metadata: good.metadata }, /'params.2' is an array, not a Tensor/],
  ];
  for (const [state, message] of cases) {
    expect(() => target.setState(state)).toThrow(message);
    expect(snapshot()).toBe(before);
  }
  target.setState(good);
  expect(snapshot()).not.toBe(before);
  expect(target.iteration).toBe(1);
});

test('evaluation checks its arguments, and a failure mid-episode leaves the inner Adam state as it was', () => {
  let calls = 0;
  let failAt = Infinity;
  const flaky: mg.Model = { ...model, forward: (p, x) => (++calls === failAt ? (() => { throw new Error('forward failed'); })() : model.forward(p, x)) };
  const t = new mg.FewShotTrainer(flaky, classes, configs.reptile!, 4);
  t.step();
  const before = JSON.stringify(t.getState().metadata) + Object.values(t.getState().tensors).map((x) => Array.from(x.data).join()).join();
  expect(() => t.evaluate(classes, 0, true, new mg.Rng(1))).toThrow(/FewShotTrainer\.evaluate: episodes must be a positive integer, got 0/);
  expect(() => t.evaluate(classes.slice(0, 2), 1, true, new mg.Rng(1))).toThrow(/FewShotTrainer\.evaluate: 2 classes cannot make 3-way episodes/);
  expect(() => t.evaluate(classes, 1, 'yes' as never, new mg.Rng(1))).toThrow(/FewShotTrainer\.evaluate: transductive must be true, false or 'running-stats', got "yes"/);
  expect(() => t.evaluate(classes, 1, true, 7 as never)).toThrow(/FewShotTrainer\.evaluate: rng must be an Rng \(new Rng\(seed\)\), got 7/);
  failAt = calls + 2; // the second adaptation step, after the first has moved Adam's moments
  expect(() => t.evaluate(classes, 1, true, new mg.Rng(1))).toThrow(/forward failed/);
  expect(JSON.stringify(t.getState().metadata) + Object.values(t.getState().tensors).map((x) => Array.from(x.data).join()).join()).toBe(before);
});

test.each(Object.keys(configs))('%s: a step that fails or diverges (NaN gradients) leaves the trainer as it was', (name) => {
  let calls = 0;
  let failAt = Infinity;
  let poisonFrom = Infinity;
  const flaky: mg.Model = {
    ...model,
    forward: (p, x, context) => {
      if (++calls === failAt) throw new Error('forward failed');
      const out = model.forward(p, x, context);
      return calls >= poisonFrom ? mg.mul(out, mg.full(out.shape, NaN)) : out;
    },
  };
  const t = new mg.FewShotTrainer(flaky, classes, configs[name]!, 4);
  t.step();
  const snapshot = () => JSON.stringify(t.getState().metadata) + Object.values(t.getState().tensors).map((x) => Array.from(x.data).join()).join();
  const before = snapshot();
  failAt = calls + 3; // past the first task's first step, so the sampler and any inner Adam have moved
  expect(() => t.step()).toThrow(/forward failed/);
  expect(snapshot()).toBe(before);
  expect(t.iteration).toBe(1);
  poisonFrom = calls + 2;
  expect(() => t.step()).toThrow(/Adam\.step: gradient \d+ \[[\d, ]*\] holds NaN/);
  expect(snapshot()).toBe(before);
  // Once the cause is gone the trainer goes on exactly as an uninterrupted one.
  poisonFrom = Infinity;
  t.step();
  const straight = new mg.FewShotTrainer(model, classes, configs[name]!, 4);
  straight.step();
  straight.step();
  t.params.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(straight.params[i]!.data)));
});

test('an evaluation whose adaptation diverges to NaN says so instead of scoring arbitrary guesses', () => {
  const t = new mg.FewShotTrainer(model, classes, configs.maml!, 4);
  const head = t.params[t.params.length - 1]!;
  t.params = [...t.params.slice(0, -1), mg.full(head.shape, NaN)];
  expect(() => t.evaluate(classes, 2, true, new mg.Rng(1))).toThrow(/FewShotTrainer\.evaluate: the adapted classifier's logits hold NaN \(its 2 adaptation steps of 0\.4 diverged, or the weights hold NaN\)/);
});

test('evalBatch adapts on mini-batches cycling through the support set; the default uses all of it', () => {
  const seen: number[][] = [];
  const spy: mg.Model = { ...model, forward: (p, x) => (seen.at(-1)!.push(x.shape[0]!), model.forward(p, x)) };
  const base: mg.FewShotConfig = { method: 'reptile', nWay: 3, kShot: 3, trainShots: 3, metaBatch: 1, innerSteps: 1, innerBatch: 4, innerLr: 1e-3, iterations: 10, evalSteps: 4 };
  for (const [config, adaptBatches] of [
    [{ ...base, evalBatch: 4 }, [4, 4, 4, 4]],
    [base, [9, 9, 9, 9]],
  ] as const) {
    seen.push([]);
    new mg.FewShotTrainer(spy, classes, config, 2).evaluate(classes, 1, true, new mg.Rng(3));
    // four adaptation steps, then one transductive prediction on the 3 query images
    expect(seen.at(-1)).toEqual([...adaptBatches, 3]);
  }
  expect(mg.PRESETS['reptile-20way-1shot']).toMatchObject({ nWay: 20, innerBatch: 20, innerSteps: 10, evalBatch: 10 });
});

test('non-transductive evaluation classifies each query beside the support set; transductive, all queries in one batch', () => {
  const seen: number[] = [];
  const spy: mg.Model = { ...model, forward: (p, x, context) => (seen.push(x.shape[0]!), model.forward(p, x, context)) };
  const t = new mg.FewShotTrainer(spy, classes, configs.maml!, 2);
  for (const [transductive, passes] of [[true, [3, 3, 3]], [false, [3, 3, 4, 4, 4]]] as const) {
    seen.length = 0;
    t.evaluate(classes, 1, transductive, new mg.Rng(3));
    expect(seen).toEqual(passes); // two adaptation steps on the 3 support images, then the queries
  }
});

test('a bad configuration is refused with the field named', () => {
  const ok = configs.reptile!;
  expect(() => new mg.FewShotTrainer(model, classes, { ...ok, evalBatch: 0 }, 1)).toThrow(/FewShotConfig.evalBatch must be a positive integer, got 0/);
  expect(() => new mg.FewShotTrainer(model, classes, { ...ok, nWay: 2.5 }, 1)).toThrow(/FewShotConfig.nWay must be a positive integer, got 2.5/);
  expect(() => new mg.FewShotTrainer(model, classes, { ...ok, innerLr: -1 }, 1)).toThrow(/FewShotConfig.innerLr must be a positive number, got -1/);
  expect(() => new mg.FewShotTrainer(model, classes, { ...ok, metaStepSize: NaN }, 1)).toThrow(/FewShotConfig.metaStepSize must be a positive number, got NaN/);
  expect(() => new mg.FewShotTrainer(model, classes, { ...ok, metaStepSizeFinal: -0.5 }, 1)).toThrow(/FewShotConfig.metaStepSizeFinal must be a non-negative number, got -0.5/);
  expect(() => new mg.FewShotTrainer(model, classes, { ...ok, method: 'sgd' as 'maml' }, 1)).toThrow(/FewShotConfig.method must be/);
  expect(() => new mg.FewShotTrainer(model, classes.slice(0, 2), ok, 1)).toThrow(/FewShotTrainer: 2 training classes cannot make 3-way episodes/);
  expect(() => new mg.FewShotTrainer(undefined as never, classes, ok, 1)).toThrow(/FewShotTrainer: model must be a Model \{ init, forward \} such as mlp\(sizes\), got undefined/);
  expect(() => new mg.FewShotTrainer(model, classes, undefined as never, 1)).toThrow(/FewShotTrainer: config must be a FewShotConfig object \(see PRESETS\), got undefined/);
  // The presets are shared by every caller, and a trainer keeps its own copy of its configuration.
  expect(() => { (mg.PRESETS['maml-5way-1shot'] as { metaBatch: number }).metaBatch = 3; }).toThrow(TypeError);
  expect(mg.PRESETS['maml-5way-1shot']!.metaBatch).toBe(32);
  const mine = { ...ok };
  const t = new mg.FewShotTrainer(model, classes, mine, 1);
  mine.innerSteps = 50;
  expect(t.config.innerSteps).toBe(ok.innerSteps);
});

test('MAML++ (learned per-layer per-step step sizes, per-step batch norm, MSL, cosine-annealed Adam): resume is bit for bit, the step sizes are meta-learned, evaluation adapts with them', () => {
  const config: mg.FewShotConfig = { method: 'mamlpp', nWay: 3, kShot: 1, queryPerClass: 2, metaBatch: 2, innerSteps: 2, innerLr: 0.1, minOuterLr: 1e-5, msl: 5, stepNorms: true, iterations: 10, evalSteps: 2 };
  const net = mg.conv4({ classes: 3, filters: 4, stepNorms: 3 });
  const straight = new mg.FewShotTrainer(net, classes, config, 7);
  for (let i = 0; i < 4; i++) expect(Number.isFinite(straight.step())).toBe(true);
  const first = new mg.FewShotTrainer(net, classes, config, 7);
  first.step();
  first.step();
  const st = first.getState();
  const resumed = new mg.FewShotTrainer(net, classes, config, 999);
  resumed.setState(mg.decodeSafetensors(mg.encodeSafetensors(st.tensors, st.metadata)));
  resumed.step();
  resumed.step();
  resumed.params.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(straight.params[i]!.data)));
  const lslr = straight.params.at(-1)!;
  expect(lslr.shape).toEqual([2, 10]); // 2 steps × (4 blocks × conv weight and bias + head weight and bias)
  expect(Array.from(lslr.data).some((v) => Math.abs(v - 0.1) > 1e-7)).toBe(true);
  for (const transductive of [true, false]) {
    const r = straight.evaluate(classes, 3, transductive, new mg.Rng(5));
    expect(r.mean).toBeGreaterThanOrEqual(0);
    expect(r.mean).toBeLessThanOrEqual(1);
  }
  expect(() => new mg.FewShotTrainer(net, classes, { ...configs.maml!, msl: 5 }, 1)).toThrow(/minOuterLr, msl, stepNorms and runningStats are MAML\+\+ settings/);
  expect(() => new mg.FewShotTrainer(net, classes, { ...configs.maml!, runningStats: true }, 1)).toThrow(/minOuterLr, msl, stepNorms and runningStats are MAML\+\+ settings/);
  expect(() => new mg.FewShotTrainer(net, classes, { ...configs.maml!, split: 'maml++' as never }, 1)).toThrow(/FewShotConfig.split must be 'standard' or 'mamlpp', got 'maml\+\+'/);
  expect(mg.PRESETS['mamlpp-5way-1shot']!.split).toBe('mamlpp');
  // The MAML paper's 20-way setting (five steps of 0.1 in training and evaluation, meta-batch 16); FOMAML's rows are the same, first order.
  expect(mg.PRESETS['maml-20way-1shot']).toEqual({ method: 'maml', nWay: 20, kShot: 1, queryPerClass: 1, metaBatch: 16, innerSteps: 5, innerLr: 0.1, outerLr: 1e-3, iterations: 60_000, evalSteps: 5 });
  for (const [fo, so] of [['fomaml-5way-5shot', 'maml-5way-5shot'], ['fomaml-20way-1shot', 'maml-20way-1shot'], ['fomaml-20way-5shot', 'maml-20way-5shot']]) {
    expect(mg.PRESETS[fo]).toEqual({ ...mg.PRESETS[so], method: 'fomaml' });
  }
  expect(mg.PRESETS['mamlpp-20way-1shot']).toMatchObject({ method: 'mamlpp', nWay: 20, metaBatch: 16, innerSteps: 5, innerLr: 0.1, variant: 'maxpool', stepNorms: true, msl: 10_000, iterations: 125_000 });
});

// The checkpoints this repository ships (the README's Omniglot results) must stay loadable as the
// code changes: a stricter check once refused the Reptile ones' sampler states, written signed.
const shipped = join(__dirname, '..', 'results', 'omniglot');
const shippedFiles = existsSync(shipped) ? readdirSync(shipped).filter((f) => f.endsWith('.safetensors')) : [];
test.runIf(shippedFiles.length > 0).each(shippedFiles)('the shipped checkpoint %s restores into a trainer of its own configuration', (file) => {
  const saved = mg.decodeSafetensors(new Uint8Array(readFileSync(join(shipped, file))), file);
  const { config, iteration } = JSON.parse(saved.metadata.metagrad!) as { config: mg.FewShotConfig; iteration: number };
  const trainer = new mg.FewShotTrainer(mg.fewShotModel(config), classesOf(fakeCharacters(config.nWay, 2), true), config, 0);
  trainer.setState(saved);
  expect(trainer.iteration).toBe(iteration);
  expect(iteration).toBeGreaterThan(0);
  trainer.params.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(saved.tensors[`params.${i}`]!.data)));
});

test('calibration pools the queries of the same episodes evaluation sees: its accuracy is the transductive accuracy', () => {
  for (const name of ['maml', 'reptile']) {
    const t = new mg.FewShotTrainer(model, classes, configs[name]!, 3);
    t.step();
    const acc = t.evaluate(classes, 6, true, new mg.Rng(9));
    const c = t.calibration(classes, 6, new mg.Rng(9), 5);
    expect(c.accuracy).toBeCloseTo(acc.mean, 12);
    expect(c.bins.reduce((n, b) => n + b.count, 0)).toBe(6 * 3);
    expect(c.ece).toBeGreaterThanOrEqual(0);
    expect(c.mce).toBeGreaterThanOrEqual(c.ece);
  }
  expect(() => new mg.FewShotTrainer(model, classes, configs.maml!, 1).calibration(classes, 0)).toThrow(/calibration: episodes must be a positive integer/);
});
