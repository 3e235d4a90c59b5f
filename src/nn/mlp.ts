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
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkOptionsObject, describeValue, type OptionKeys } from '../checks.js';
import { checkInitOptions, type Model } from './model.js';

export { checkInitOptions, checkModel, type InitOptions, type Model } from './model.js';
import { uniformFanIn, type Initializer } from './init.js';

/** Hidden-layer activations by name. */
export const activations = {
  /** max(x, 0). */
  relu,
  /** Hyperbolic tangent. */
  tanh,
  /** Logistic sigmoid. */
  sigmoid,
  /** x where positive, 0.01·x elsewhere. */
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
