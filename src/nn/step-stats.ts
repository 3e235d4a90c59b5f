/**
 * Per-step batch-norm running statistics (MAML++'s BNRS): for every inner step s and every
 * batch-norm layer, a moving average of the batch moments that layer saw at step s during
 * meta-training, kept as PyTorch's BatchNorm keeps its running statistics (start at mean 0 and
 * variance 1; r ← (1 − m)·r + m·batch, with the batch variance made unbiased).
 *
 * A model normalising with them ({@link StepStatistics.model}) treats every image on its own,
 * whatever else is in its batch: non-transductive evaluation without the support set beside each
 * query. Training itself is unchanged: it still normalises with each batch's statistics.
 */
import type { DType } from '../dtype.js';
import { Tensor } from '../tensor.js';
import { checkInteger, checkOptionsObject, describeValue, isRecord, type OptionKeys } from '../checks.js';
import type { ForwardContext, Model } from './model.js';
import { noGrad } from '../autograd.js';

/** One batch-norm layer's per-channel statistics; `count` is how many values per channel the batch had. */
export interface LayerMoments {
  mean: Tensor;
  variance: Tensor;
  count?: number;
}

/** What a forward pass of a {@link NormalizedModel} may also be told. */
export interface NormalizedContext extends ForwardContext {
  /** Normalise with these statistics (one per layer) instead of the batch's. */
  stats?: readonly LayerMoments[];
  /** Push each layer's batch moments here (computed off the tape). */
  moments?: LayerMoments[];
}

/** A model whose batch-norm layers can report their batch moments and normalise with given ones. */
export interface NormalizedModel extends Model {
  /** Each batch-norm layer's moments on the batch `x`, with the parameters a forward pass at `step` uses. */
  moments(params: readonly Tensor[], x: Tensor, options?: { step?: number }): LayerMoments[];
  forward(params: readonly Tensor[], x: Tensor, context?: NormalizedContext): Tensor;
}

/** The batch moments one forward pass saw: its step, and each layer's per-channel mean and variance and values per channel. */
export interface MomentRecord {
  step: number;
  layers: { mean: Float64Array; variance: Float64Array; count: number }[];
}

/** Throws unless `model` is a {@link NormalizedModel}, naming `owner`. */
export function checkNormalized(owner: string, model: Model): asserts model is NormalizedModel {
  if (typeof (model as Partial<NormalizedModel>).moments !== 'function') throw new TypeError(`${owner}: running statistics need a model that reports its batch-norm moments (conv4 does)`);
}

/**
 * `model` with every forward pass's batch moments appended to `records`, copied out of the pass
 * (which `tidy` may recycle): a training step's statistics gathered as it runs, for
 * {@link StepStatistics.apply} once the step has succeeded.
 */
export function recordingMoments(model: Model, records: MomentRecord[]): Model {
  checkNormalized('recordingMoments', model);
  return {
    init: (o) => model.init(o),
    forward: (params, x, context) => {
      const moments: LayerMoments[] = [];
      const out = model.forward(params, x, { ...context, moments });
      if (moments.length === 0) throw new Error('recordingMoments: the forward pass reported no batch moments (a wrapper must pass its context on to the model)');
      const layers = moments.map((m) => ({ mean: Float64Array.from(m.mean.data), variance: Float64Array.from(m.variance.data), count: m.count ?? 1 }));
      records.push({ step: context?.step ?? 0, layers });
      return out;
    },
  };
}

/** Options of {@link StepStatistics}. */
export interface StepStatisticsOptions {
  /** Steps with their own statistics: forward passes at later steps use the last. */
  steps: number;
  /** Channels of each batch-norm layer, in order. */
  channels: readonly number[];
  /** Weight of a new batch in the moving average. Default 0.1 (PyTorch's). */
  momentum?: number;
  /** Element type of the statistics given to the model. Default float32. */
  dtype?: DType;
}

const OPTIONS: OptionKeys<StepStatisticsOptions> = { steps: true, channels: true, momentum: true, dtype: true };

/**
 * Per-step running statistics of a {@link NormalizedModel}'s batch-norm layers:
 *
 * ```ts
 * const stats = new StepStatistics({ steps: 6, channels: [64, 64, 64, 64] });
 * const records: MomentRecord[] = [];
 * const step = grad(loss(recordingMoments(model, records), …));   // a training step, recording
 * stats.apply(records);                                           // once it has succeeded
 * const evaluated = stats.model(model);   // normalises with them at every step
 * ```
 */
export class StepStatistics {
  /** Steps with their own statistics. */
  readonly steps: number;
  /** Channels of each batch-norm layer. */
  readonly channels: readonly number[];
  /** Weight of a new batch in the moving average. */
  readonly momentum: number;
  /** Element type of the statistics {@link at} gives. */
  readonly dtype: DType;
  /** [step][layer] moving averages, kept in float64. */
  private mean: Float64Array[][];
  private variance: Float64Array[][];

  constructor(options: StepStatisticsOptions) {
    checkOptionsObject('StepStatistics', options, OPTIONS, '{ steps: 6, channels: [64, 64, 64, 64] }');
    checkInteger('StepStatistics: steps', options.steps);
    if (!Array.isArray(options.channels) || options.channels.length === 0) throw new RangeError(`StepStatistics: channels must list each batch-norm layer's channel count, got ${describeValue(options.channels)}`);
    options.channels.forEach((c, i) => checkInteger(`StepStatistics: channels[${i}]`, c));
    const momentum = options.momentum ?? 0.1;
    if (!(momentum > 0 && momentum <= 1)) throw new RangeError(`StepStatistics: momentum must be in (0, 1], got ${String(momentum)}`);
    const dtype = options.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') throw new RangeError(`StepStatistics: dtype must be 'float32' or 'float64', got ${JSON.stringify(dtype)}`);
    this.steps = options.steps;
    this.channels = [...options.channels];
    this.momentum = momentum;
    this.dtype = dtype;
    this.mean = this.filled(0);
    this.variance = this.filled(1);
  }

  private filled(v: number): Float64Array[][] {
    return Array.from({ length: this.steps }, () => this.channels.map((c) => new Float64Array(c).fill(v)));
  }

  private slot(step: number): number {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`StepStatistics: step must be a non-negative integer, got ${String(step)}`);
    return Math.min(step, this.steps - 1);
  }

  /**
   * Folds one batch's moments (a layer each, as `NormalizedModel.moments` gives them, or plain
   * arrays as in a {@link MomentRecord}) into step `step`'s averages.
   */
  update(step: number, moments: readonly (LayerMoments | MomentRecord['layers'][number])[]): void {
    const s = this.slot(step);
    if (!Array.isArray(moments) || moments.length !== this.channels.length) throw new RangeError(`StepStatistics.update: expected the moments of ${this.channels.length} layers, got ${describeValue(moments)}`);
    const values = (v: unknown): ArrayLike<number> | null => (v instanceof Tensor ? v.data : v instanceof Float64Array || v instanceof Float32Array ? v : null);
    const layers = moments.map((m, l) => {
      const c = this.channels[l]!;
      const [mean, variance] = [values(m.mean), values(m.variance)];
      if (mean === null || variance === null || mean.length !== c || variance.length !== c) throw new RangeError(`StepStatistics.update: layer ${l} needs a mean and a variance of ${c} channels`);
      return { mean, variance, count: m.count ?? 1 };
    });
    const k = this.momentum;
    layers.forEach((m, l) => {
      // PyTorch's running variance is the unbiased one (a batch of one value per channel has none to give).
      const unbias = m.count > 1 ? m.count / (m.count - 1) : 1;
      const [mu, v] = [this.mean[s]![l]!, this.variance[s]![l]!];
      for (let i = 0; i < mu.length; i++) {
        mu[i] = (1 - k) * mu[i]! + k * m.mean[i]!;
        v[i] = (1 - k) * v[i]! + k * m.variance[i]! * unbias;
      }
    });
  }

  /** Folds in recorded forward passes, in order ({@link recordingMoments}); all of them or, if one is malformed, none. */
  apply(records: readonly MomentRecord[]): void {
    const [mean, variance] = [this.mean, this.variance];
    this.mean = mean.map((layers) => layers.map((a) => a.slice()));
    this.variance = variance.map((layers) => layers.map((a) => a.slice()));
    try {
      for (const r of records) this.update(r.step, r.layers);
    } catch (e) {
      [this.mean, this.variance] = [mean, variance];
      throw e;
    }
  }

  /** Folds in the moments `model` sees on the batch `x` at `step` (computed off the tape). */
  observe(model: NormalizedModel, params: readonly Tensor[], x: Tensor, step: number): void {
    checkNormalized('StepStatistics.observe', model);
    this.update(step, noGrad(() => model.moments(params, x, { step })));
  }

  /** Step `step`'s statistics, one `{ mean, variance }` per layer (later steps than kept use the last). */
  at(step: number): LayerMoments[] {
    const s = this.slot(step);
    return this.channels.map((c, l) => ({ mean: new Tensor(this.typed(this.mean[s]![l]!), [c]), variance: new Tensor(this.typed(this.variance[s]![l]!), [c]) }));
  }

  private typed(a: Float64Array): Float32Array | Float64Array {
    return this.dtype === 'float32' ? Float32Array.from(a) : a.slice();
  }

  /** `model` normalising every forward pass at step s with step s's statistics, whatever the batch. */
  model(model: Model): Model {
    checkNormalized('StepStatistics.model', model);
    return {
      init: (o) => model.init(o),
      forward: (params, x, context) => model.forward(params, x, { ...context, stats: this.at(context?.step ?? 0) }),
    };
  }

  /** The averages as tensors `${prefix}${step}.${layer}.mean` / `.variance` (float64), for a checkpoint. */
  getState(prefix = 'bnrs.'): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (let s = 0; s < this.steps; s++) {
      this.channels.forEach((c, l) => {
        out[`${prefix}${s}.${l}.mean`] = new Tensor(this.mean[s]![l]!.slice(), [c]);
        out[`${prefix}${s}.${l}.variance`] = new Tensor(this.variance[s]![l]!.slice(), [c]);
      });
    }
    return out;
  }

  /**
   * Restores averages from {@link getState}'s tensors; everything is checked (present, the
   * channel counts, finite, variances ≥ 0) before anything changes.
   */
  setState(tensors: Record<string, Tensor>, prefix = 'bnrs.'): void {
    [this.mean, this.variance] = this.readState(tensors, prefix);
  }

  /** Throws, naming the tensor, unless {@link setState} would accept `tensors`; changes nothing. */
  checkState(tensors: Record<string, Tensor>, prefix = 'bnrs.'): void {
    this.readState(tensors, prefix);
  }

  /** The averages `tensors` hold, [step][layer] means and variances, each checked. */
  private readState(tensors: Record<string, Tensor>, prefix: string): [Float64Array[][], Float64Array[][]] {
    if (!isRecord(tensors)) throw new TypeError(`StepStatistics.setState: expected tensors by name, got ${describeValue(tensors)}`);
    const read = (name: string, c: number, nonNegative: boolean): Float64Array => {
      const t = tensors[name];
      if (!(t instanceof Tensor)) throw new RangeError(`StepStatistics.setState: the checkpoint lacks tensor '${name}'`);
      if (t.size !== c || t.ndim !== 1) throw new RangeError(`StepStatistics.setState: '${name}' has shape [${t.shape.join(', ')}], expected [${c}]`);
      const bad = t.data.findIndex((x) => !Number.isFinite(x) || (nonNegative && x < 0));
      if (bad >= 0) throw new RangeError(`StepStatistics.setState: '${name}' holds ${t.data[bad]} at ${bad}${nonNegative ? ' (variances are finite and ≥ 0)' : ' (not finite)'}: the file is damaged`);
      return Float64Array.from(t.data);
    };
    const steps = Array.from({ length: this.steps }, (_, s) => this.channels.map((c, l) => [read(`${prefix}${s}.${l}.mean`, c, false), read(`${prefix}${s}.${l}.variance`, c, true)] as const));
    return [steps.map((layers) => layers.map(([m]) => m)), steps.map((layers) => layers.map(([, v]) => v))];
  }
}
