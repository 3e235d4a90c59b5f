/**
 * Options objects are checked for keys their function does not take: a misspelt option
 * (`innerStep`, `create_graph`) used to be ignored without a word, and the default ran instead.
 * Flags must be booleans: `'false'` read as true.
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { loadOmniglot, TaskWorkers } from '../src/node.js';
import { plotSvg } from '../src/io/svg.js';

const model = mg.mlp([1, 4, 1]);
const params = model.init({ rng: new mg.Rng(0) });
const sq = (p: mg.Tensor[]) => mg.sum(mg.square(p[0]!));
const w = mg.ones([2], { requiresGrad: true });
const x = mg.zeros([1, 4, 4, 1]);
const config = { ...mg.PRESETS['maml-5way-1shot']!, nWay: 2, kShot: 1, metaBatch: 1, iterations: 1 };
const classes = [] as mg.OmniglotClass[]; // the configuration is checked before the classes

describe('an unknown option is named with the ones the function takes', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['zeros', () => mg.zeros([2], { dtpye: 'float64' } as never), /^zeros: unknown option 'dtpye'; the options are dtype, requiresGrad$/],
    ['tensor', () => mg.tensor([1, 2], { shap: [2, 1] } as never), /^tensor: unknown option 'shap'; the options are dtype, requiresGrad, shape$/],
    ['randn', () => mg.randn([2], { seed: 1 } as never), /^randn: unknown option 'seed'; the options are dtype, requiresGrad, rng, mean, std$/],
    ['rand', () => mg.rand([2], { min: 0 } as never), /^rand: unknown option 'min'; the options are dtype, requiresGrad, rng, low, high$/],
    ['conv2d', () => mg.conv2d(x, mg.zeros([3, 3, 1, 1]), { strides: 2 } as never), /^conv2d: unknown option 'strides'; the options are stride, padding$/],
    ['maxPool2d', () => mg.maxPool2d(x, 2, { pad: 'same' } as never), /^maxPool2d: unknown option 'pad'/],
    ['batchNorm', () => mg.batchNorm(x, mg.ones([1]), mg.zeros([1]), { epsilon: 1e-3 } as never), /^batchNorm: unknown option 'epsilon'; the options are eps, stats, observe$/],
    ['grad', () => mg.grad(mg.sum(mg.square(w)), [w], { create_graph: true } as never), /^grad: unknown option 'create_graph'; the options are createGraph, retainGraph, allowUnused, gradOutput$/],
    ['backward', () => mg.sum(mg.square(w)).backward(undefined, { retain_graph: true } as never), /^backward: unknown option 'retain_graph'/],
    ['valueAndGrad', () => mg.valueAndGrad(sq, { createGraphs: true } as never), /^valueAndGrad: unknown option 'createGraphs'; the options are createGraph, allowUnused$/],
    ['vjp', () => mg.vjp(sq, [w], { create_graph: true } as never), /^vjp: unknown option 'create_graph'/],
    ['MAML', () => new mg.MAML(model, params, { innerStep: 5 } as never), /^MAML: unknown option 'innerStep'; the options are innerLr, innerSteps, firstOrder, optimizer, tail, innerOptimizer, recompute$/],
    ['Reptile', () => new mg.Reptile(model, params, { iterations: 5, epsilon: 0.1 } as never), /^Reptile: unknown option 'epsilon'/],
    ['Adam', () => new mg.Adam({ learningRate: 0.01 } as never), /^Adam: unknown option 'learningRate'; the options are lr, beta1, beta2, eps$/],
    ['SGD', () => new mg.SGD({ lr: 0.1, momentun: 0.9 } as never), /^SGD: unknown option 'momentun'; the options are lr, momentum, nesterov$/],
    ['SineTasks', () => new mg.SineTasks({ amplitude: [1, 2] } as never), /^SineTasks: unknown option 'amplitude'/],
    ['mlp', () => mg.mlp([1, 2], { act: 'tanh' } as never), /^mlp: unknown option 'act'; the options are activation, weightInit, biasInit$/],
    ['mlp init', () => model.init({ seed: 0 } as never), /^mlp\.init: unknown option 'seed'; the options are rng, dtype$/],
    ['conv4', () => mg.conv4({ classes: 5, filter: 32 } as never), /^conv4: unknown option 'filter'/],
    ['conv4 init', () => mg.conv4({ classes: 5 }).init({ seed: 0 } as never), /^conv4\.init: unknown option 'seed'/],
    ['mamlGradient', () => mg.mamlGradient(params, [sq], sq, 0.1, { firstorder: true } as never), /^mamlGradient: unknown option 'firstorder'; the options are firstOrder, tasks, recompute, perTask$/],
    ['innerGradients', () => mg.innerGradients(params, [sq], 0.1, { task: 2 } as never), /^innerGradients: unknown option 'task'; the options are tasks$/],
    ['reptileGradient', () => mg.reptileGradient(params, [sq], 0.1, { task: 2 } as never), /^reptileGradient: unknown option 'task'/],
    ['plotSvg', () => plotSvg([], { titel: 'x' } as never), /^plotSvg: unknown option 'titel'/],
    ['setBackend', () => mg.setBackend('auto', { relaxed: false } as never), /^setBackend: unknown option 'relaxed'; the options are relaxedSimd$/],
    ['FewShotTrainer', () => new mg.FewShotTrainer(mg.conv4({ classes: 2 }), classes, { ...config, metabatch: 4 } as never, 0), /^FewShotConfig: unknown option 'metabatch'; the options are method, nWay, kShot/],
    ['loadOmniglot', () => loadOmniglot('/nonexistent', { size: 28 } as never), /^loadOmniglot: unknown option 'size'; the options are side, cache, onProgress$/],
  ];
  test.each(cases)('%s', (_, f, message) => {
    expect(f).toThrow(message);
  });

  // A flag read from a config file or a command line as a string would be truthy, 'false' included.
  test.each([
    ['MAML firstOrder', () => new mg.MAML(model, params, { firstOrder: 'false' } as never), /^MAML: firstOrder must be true or false, got "false"$/],
    ['grad createGraph', () => mg.grad(mg.sum(mg.square(w)), [w], { createGraph: 1 } as never), /^grad: createGraph must be true or false, got 1$/],
    ['backward retainGraph', () => mg.backward(mg.sum(mg.square(w)), { retainGraph: 'yes' } as never), /^backward: retainGraph must be true or false, got "yes"$/],
    ['zeros requiresGrad', () => mg.zeros([2], { requiresGrad: 'true' } as never), /^zeros: requiresGrad must be true or false, got "true"$/],
    ['valueAndGrad allowUnused', () => mg.valueAndGrad(sq, { allowUnused: null } as never), /^valueAndGrad: allowUnused must be true or false, got null$/],
    ['mamlGradient firstOrder', () => mg.mamlGradient(params, [sq], sq, 0.1, { firstOrder: 0 } as never), /^mamlGradient: firstOrder must be true or false, got 0$/],
    ['setBackend relaxedSimd', () => mg.setBackend('auto', { relaxedSimd: 'no' } as never), /^setBackend: relaxedSimd must be true or false, got "no"$/],
  ])('a flag that is not a boolean: %s', (_, f, message) => {
    expect(f).toThrow(message);
  });

  test('a number given as a string is shown as a string', () => {
    expect(() => new mg.MAML(model, params, { innerLr: '0.1' } as never)).toThrow(/^MAML: innerLr must be a positive number, got "0\.1"$/);
    expect(() => new mg.Reptile(model, params, { iterations: '100' } as never)).toThrow(/^Reptile: iterations must be a positive integer, got "100"$/);
  });

  test('TaskWorkers.start', async () => {
    await expect(TaskWorkers.start({ workers: 1, model: { conv4: { classes: 5 } }, threads: 2 } as never)).rejects.toThrow(/^TaskWorkers: unknown option 'threads'; the options are workers, model$/);
  });

  test('every known option still works, and a SineTasks dtype it cannot make is refused', () => {
    expect(mg.randn([2], { dtype: 'float64', requiresGrad: true, rng: new mg.Rng(1), mean: 1, std: 2 }).dtype).toBe('float64');
    expect(new mg.MAML(model, params, { innerLr: 0.1, innerSteps: 2, firstOrder: true, optimizer: new mg.SGD({ lr: 0.1 }), tail: 'shared', innerOptimizer: new mg.SGD(0.1) }).innerSteps).toBe(2);
    expect(mg.grad(mg.sum(mg.square(w)), [w], { createGraph: true, retainGraph: true, allowUnused: true, gradOutput: mg.ones([]) })[0]!.shape).toEqual([2]);
    expect(new mg.SineTasks({ dtype: 'float64', rng: new mg.Rng(0) }).sampleBatch(1).xSupport.dtype).toBe('float64');
    expect(() => new mg.SineTasks({ dtype: 'float16' as never })).toThrow(/^SineTasks: unknown dtype 'float16' \(expected 'float32' or 'float64'\)$/);
  });
});
