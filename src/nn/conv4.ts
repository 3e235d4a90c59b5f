/**
 * The 4-layer convolutional network of the MAML and Reptile papers, as a pure function of
 * `(params, x)`: four blocks of [3×3 convolution with `filters` channels, batch normalisation,
 * ReLU], each halving the resolution — by stride 2 ('strided', the Omniglot variant) or by 2×2
 * max-pooling ('maxpool') — then a linear head to `classes` logits.
 *
 * Inputs are NHWC `[n, 28, 28, 1]`. Parameters per block: filter `[3,3,cin,filters]`, conv bias
 * `[filters]`, BN scale γ and shift β `[filters]` (one pair per inner step with `stepNorms`); then
 * head weight `[features, classes]` and bias `[1, classes]`. Batch normalisation uses the statistics of the batch it is given, so
 * what is passed together decides transductive versus non-transductive evaluation.
 */
import { add } from '../ops/binary.js';
import { batchNorm } from '../ops/batchnorm.js';
import { conv2d, maxPool2d } from '../ops/conv.js';
import { reshape } from '../ops/layout.js';
import { matmul } from '../ops/matmul.js';
import { relu } from '../ops/unary.js';
import { ones, zeros } from '../creation.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { heNormal, uniformFanIn } from './init.js';
import { checkInitOptions } from './mlp.js';
import type { LayerMoments, NormalizedModel } from './step-stats.js';
import { checkInteger, checkOptionsObject, describeValue, type OptionKeys } from '../checks.js';

/** Options of {@link conv4}; each is checked when the model is built. */
export interface Conv4Options {
  /** Output classes (N of N-way). */
  classes: number;
  /** 'strided' (stride-2 convolutions, Omniglot) or 'maxpool' (2×2 max-pooling). Default 'strided'. */
  variant?: 'strided' | 'maxpool';
  /** Channels per block. Default 64. */
  filters?: number;
  /** Input side and channels. Default 28 and 1. */
  side?: number;
  /** Input channels. Default 1 (greyscale). */
  channels?: number;
  /**
   * Per-step batch-norm weights and biases (MAML++'s BNWB): this many sets of γ and β per block,
   * the forward pass after inner step s using set min(s, stepNorms − 1). Default 1 (one set).
   */
  stepNorms?: number;
}

const CONV4_OPTIONS: OptionKeys<Conv4Options> = { classes: true, variant: true, filters: true, side: true, channels: true, stepNorms: true };

/** Per-channel statistics of one block's batch norm (`count`: values per channel in the batch). */
export type BlockStats = LayerMoments;

/**
 * The conv net of {@link conv4}: a {@link Model}, and its body as a feature extractor. Its
 * `forward` normalises with `context.stats` (one `{ mean, variance }` per block) when given, and
 * pushes each block's batch moments to `context.moments` when given.
 */
export interface Conv4Model extends NormalizedModel {
  /** The body's output, flattened to `[n, features]`, with batch statistics or the given per-block `stats`. */
  features(params: readonly Tensor[], x: Tensor, options?: { step?: number; stats?: readonly BlockStats[] }): Tensor;
  /**
   * Each block's batch-norm statistics on the batch `x` with the batch-norm set of `step`
   * (blocks after the first see inputs normalised with the batch's own).
   */
  moments(params: readonly Tensor[], x: Tensor, options?: { step?: number }): BlockStats[];
  /** The length of a feature vector. */
  readonly featureSize: number;
}

/**
 * The papers' 4-layer conv net as a {@link Model}: `init({ rng })` gives its parameters (He-normal
 * filters, zero conv biases, γ = 1, β = 0; head weights as PyTorch's Linear, zero head bias), `forward(params, x)` maps NHWC
 * images `[n, side, side, channels]` to logits `[n, classes]`.
 */
export function conv4(options: Conv4Options): Conv4Model {
  checkOptionsObject('conv4', options, CONV4_OPTIONS, '{ classes: 5 }');
  const { classes } = options;
  const variant = options.variant ?? 'strided';
  const filters = options.filters ?? 64;
  const side = options.side ?? 28;
  const channels = options.channels ?? 1;
  const sets = options.stepNorms ?? 1;
  for (const [name, v] of [['classes', classes], ['filters', filters], ['side', side], ['channels', channels], ['stepNorms', sets]] as const) checkInteger(`conv4: ${name}`, v);
  const perBlock = 2 + 2 * sets;
  const count = 4 * perBlock + 2;
  if (variant !== 'strided' && variant !== 'maxpool') throw new RangeError(`conv4: variant must be 'strided' or 'maxpool', got '${String(variant)}'`);
  let s = side;
  for (let b = 0; b < 4; b++) s = variant === 'strided' ? Math.ceil(s / 2) : Math.floor(s / 2);
  if (s < 1) throw new RangeError(`conv4: input side ${side} is too small for four halvings`);
  const features = s * s * filters;
  return {
    init(o = {}) {
      checkInitOptions('conv4', o);
      const ps: Tensor[] = [];
      for (let b = 0; b < 4; b++) {
        const cin = b === 0 ? channels : filters;
        ps.push(heNormal([3, 3, cin, filters], 9 * cin, 9 * filters, o), zeros([filters], { dtype: o.dtype }));
        for (let j = 0; j < sets; j++) ps.push(ones([filters], { dtype: o.dtype }), zeros([filters], { dtype: o.dtype }));
      }
      ps.push(uniformFanIn([features, classes], features, classes, o), zeros([1, classes], { dtype: o.dtype }));
      return ps;
    },
    forward(params, x, context) {
      return add(matmul(body(params, x, context?.step ?? 0, checkStats('forward', context?.stats), context?.moments ?? null), params[count - 2]!), params[count - 1]!);
    },
    features(params, x, o = {}) {
      return body(params, x, o.step ?? 0, checkStats('features', o.stats), null);
    },
    moments(params, x, o = {}) {
      const out: BlockStats[] = [];
      body(params, x, o.step ?? 0, undefined, out);
      return out;
    },
    featureSize: features,
  };

  function checkStats(op: string, stats: readonly BlockStats[] | undefined): readonly BlockStats[] | undefined {
    if (stats !== undefined && (!Array.isArray(stats) || stats.length !== 4)) throw new RangeError(`conv4.${op}: stats must list the 4 blocks' { mean, variance }, got ${describeValue(stats)}`);
    return stats;
  }

  /** The four blocks, flattened; with `stats` given the blocks normalise with them, with `moments` given the batch's are pushed to it. */
  function body(params: readonly Tensor[], x: Tensor, step: number, stats: readonly BlockStats[] | undefined, moments: BlockStats[] | null): Tensor {
    if (!(x instanceof Tensor)) throw new TypeError(`conv4: the input must be a Tensor, got ${describeValue(x)}`);
    if (params.length !== count) throw new RangeError(`conv4: expected ${count} parameter tensors, got ${params.length}`);
    const set = Math.min(step, sets - 1);
    if (x.ndim !== 4 || x.shape[1] !== side || x.shape[2] !== side || x.shape[3] !== channels) {
      throw new RangeError(`conv4: input must be [n, ${side}, ${side}, ${channels}], got ${fmt(x.shape)}`);
    }
    let h = x;
    for (let b = 0; b < 4; b++) {
      const at = perBlock * b;
      const [w, bias, gamma, beta] = [params[at]!, params[at + 1]!, params[at + 2 + 2 * set]!, params[at + 3 + 2 * set]!];
      h = variant === 'strided' ? conv2d(h, w, { stride: 2, padding: 'same' }) : conv2d(h, w, { padding: 'same' });
      h = add(h, bias);
      const count = h.size / filters;
      const observe = moments === null ? {} : { observe: (m: { mean: Tensor; variance: Tensor }) => moments.push({ ...m, count }) };
      h = relu(stats === undefined ? batchNorm(h, gamma, beta, observe) : batchNorm(h, gamma, beta, { stats: stats[b]! }));
      if (variant === 'maxpool') h = maxPool2d(h, 2);
    }
    return reshape(h, [x.shape[0]!, features]);
  }
}
