/**
 * Multi-layer perceptrons as pure functions of `(params, x)`. Parameters are a flat list
 * `[W₁, b₁, W₂, b₂, …]` with `W` of shape `[in, out]` and `b` of shape `[1, out]`.
 *
 * The forward pass also accepts a leading task axis: with parameters of shape `[T, in, out]` and
 * `[T, 1, out]` and inputs `[T, n, in]`, task t's inputs meet task t's parameters through
 * batched matmul. That is how a meta-batch of tasks, each with its own adapted parameters, runs
 * as one computation (see `tileParams` in meta/inner.ts).
 */
import { add } from '../ops/binary.js';
import { matmul } from '../ops/matmul.js';
import { leakyRelu, relu, sigmoid, tanh } from '../ops/unary.js';
import type { Rng } from '../random.js';
import { fmt } from '../shape.js';
import { Tensor, type DType } from '../tensor.js';
import { checkOptionsObject, describeValue, type OptionKeys } from '../checks.js';
import { uniformFanIn, type Initializer } from './init.js';

/** Options of {@link Model.init}. */
export interface InitOptions {
  /** Generator of the random draws; default: the library-wide one. */
  rng?: Rng;
  /** Element type of the parameters; default float32. */
  dtype?: DType;
}

const INIT_OPTIONS: OptionKeys<InitOptions> = { rng: true, dtype: true };

/** Throws unless `options` of `${model}.init` are an object of {@link InitOptions}. */
export function checkInitOptions(model: string, options: unknown): void {
  checkOptionsObject(`${model}.init`, options, INIT_OPTIONS, "{ rng: new Rng(0), dtype: 'float64' }");
}

/** A model as a function of its parameters: the form every meta-learner takes. */
export interface Model {
  /** Fresh parameters. */
  init(options?: InitOptions): Tensor[];
  /**
   * The output for inputs `x` under `params` (never mutates either). It must keep nothing it
   * computes beyond the call: the meta-learners run it inside `tidy`, which recycles what the
   * step does not return.
   */
  forward(params: readonly Tensor[], x: Tensor): Tensor;
}

/** Throws a TypeError naming `op` unless `model` has the {@link Model} methods. */
export function checkModel(op: string, model: unknown): void {
  const m = model as Partial<Model> | null;
  if (typeof m !== 'object' || m === null || typeof m.forward !== 'function' || typeof m.init !== 'function') {
    throw new TypeError(`${op}: model must be a Model { init, forward } such as mlp(sizes), got ${describeValue(model)}`);
  }
}

/** Hidden-layer activations by name. */
export const activations = {
  relu,
  tanh,
  sigmoid,
  leakyRelu: (x: Tensor) => leakyRelu(x, 0.01),
} as const;
/** The name of a hidden-layer activation in {@link activations}. */
export type ActivationName = keyof typeof activations;

/** Options of {@link mlp}. */
export interface MlpOptions {
  /** Hidden activation; default 'relu'. */
  activation?: ActivationName;
  /** Weight initialiser; default uniformFanIn (PyTorch's Linear). */
  weightInit?: Initializer;
  /** Bias initialiser; default uniformFanIn (PyTorch's Linear). */
  biasInit?: Initializer;
}

const MLP_OPTIONS: OptionKeys<MlpOptions> = { activation: true, weightInit: true, biasInit: true };

/** An MLP with layer sizes `sizes` (e.g. [1, 40, 40, 1]: the sine network of both papers). */
export function mlp(sizes: readonly number[], options: MlpOptions = {}): Model {
  checkOptionsObject('mlp', options, MLP_OPTIONS, "{ activation: 'tanh' }");
  if (!Array.isArray(sizes) || sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new RangeError(`mlp: sizes must list at least two positive integers, got ${JSON.stringify(sizes)}`);
  }
  const act = activations[options.activation ?? 'relu'];
  if (act === undefined) throw new RangeError(`mlp: unknown activation '${String(options.activation)}' (expected ${Object.keys(activations).join(', ')})`);
  const wInit = options.weightInit ?? uniformFanIn;
  const bInit = options.biasInit ?? uniformFanIn;
  const layers = sizes.length - 1;
  return {
    init(o = {}) {
      checkInitOptions('mlp', o);
      const ps: Tensor[] = [];
      for (let l = 0; l < layers; l++) {
        const [fi, fo] = [sizes[l]!, sizes[l + 1]!];
        ps.push(wInit([fi, fo], fi, fo, o), bInit([1, fo], fi, fo, o));
      }
      return ps;
    },
    forward(params, x) {
      if (!(x instanceof Tensor)) throw new TypeError(`mlp: the input must be a Tensor, got ${describeValue(x)}`);
      if (params.length !== 2 * layers) throw new RangeError(`mlp: expected ${2 * layers} parameter tensors for sizes ${JSON.stringify(sizes)}, got ${params.length}`);
      if (x.shape[x.ndim - 1] !== sizes[0]) throw new RangeError(`mlp: input of shape ${fmt(x.shape)} should end in ${sizes[0]} features`);
      let h = x;
      for (let l = 0; l < layers; l++) {
        h = add(matmul(h, params[2 * l]!), params[2 * l + 1]!);
        if (l < layers - 1) h = act(h);
      }
      return h;
    },
  };
}
