/**
 * Sine-wave regression tasks, in both papers' setups, seeded.
 *
 * - MAML (Finn et al. 2017): amplitude U[0.1, 5], phase U[0, π], inputs U[−5, 5]; K support and
 *   K query points.
 * - Reptile (Nichol et al. 2018): amplitude U[0.1, 5], phase U[0, 2π]; 10 sampled training
 *   points, loss on 50 equally spaced points of [−5, 5].
 */
import { rngOption, type Rng } from '../random.js';
import { checkOptionsObject, type OptionKeys } from '../checks.js';
import { allocData, Tensor, type DType } from '../tensor.js';
import { checkElementCount } from '../shape.js';
import { SupervisedTask } from '../meta/task.js';

/** Which paper's task distribution. */
export type SineSetup = 'maml' | 'reptile';

/** One task: y = amplitude · sin(x + phase). */
export interface SineTask {
  amplitude: number;
  phase: number;
}

/**
 * A meta-batch of T sine tasks stacked along a leading axis: a stacked MSE {@link Task} whose
 * tensors are `xSupport`, `ySupport` `[T, K, 1]` and `xQuery`, `yQuery` `[T, Q, 1]`.
 */
export class RegressionBatch extends SupervisedTask {
  /** [T, K, 1] */
  declare readonly xSupport: Tensor;
  /** [T, K, 1] */
  declare readonly ySupport: Tensor;
  /** [T, Q, 1] */
  declare readonly xQuery: Tensor;
  /** [T, Q, 1] */
  declare readonly yQuery: Tensor;

  /** The batch of `tasks` with its points. */
  constructor(
    data: { xSupport: Tensor; ySupport: Tensor; xQuery: Tensor; yQuery: Tensor },
    /** The tasks' amplitudes and phases. */
    readonly tasks: SineTask[],
  ) {
    super(data, { stacked: true });
  }
}

/** The most tasks one batch may hold (each is a JS object beside its points, so the bound is below the tensors' own). */
const MAX_BATCH = 2 ** 24;

/** Options of {@link SineTasks}. */
export interface SineOptions {
  /** 'maml' (amplitude U[0.1, 5], phase U[0, π]) or 'reptile' (phase U[0, 2π], 50 equally spaced query points). Default 'maml'. */
  setup?: SineSetup;
  /** Support points per task (K). Default 10. */
  shots?: number;
  /** Query points per task. Default: K (MAML setup) or 50 equally spaced (Reptile setup). */
  queryPoints?: number;
  /** The generator tasks and points are drawn from. Default: the library-wide one. */
  rng?: Rng;
  /** dtype of the batches' tensors. Default float32. */
  dtype?: DType;
}

const SINE_OPTIONS: OptionKeys<SineOptions> = { setup: true, shots: true, queryPoints: true, rng: true, dtype: true };

/**
 * The sine-wave regression tasks of both papers: y = A·sin(x + φ) on x ∈ [−5, 5].
 * `sampleBatch(T)` draws T tasks as a {@link RegressionBatch} with K support and the query points.
 */
export class SineTasks {
  /** The setup in use (see {@link SineOptions.setup}). */
  readonly setup: SineSetup;
  /** Support points per task (K). */
  readonly shots: number;
  /** Query points per task. */
  readonly queryPoints: number;
  /** dtype of the batches' tensors. */
  readonly dtype: DType;
  /** The generator draws come from. */
  rng: Rng;

  constructor(options: SineOptions = {}) {
    checkOptionsObject('SineTasks', options, SINE_OPTIONS, "{ setup: 'reptile', rng: new Rng(0) }");
    this.setup = options.setup ?? 'maml';
    if (this.setup !== 'maml' && this.setup !== 'reptile') throw new RangeError(`SineTasks: setup must be 'maml' or 'reptile', got '${String(this.setup)}'`);
    this.shots = options.shots ?? 10;
    this.queryPoints = options.queryPoints ?? (this.setup === 'maml' ? this.shots : 50);
    if (!Number.isInteger(this.shots) || this.shots < 1) throw new RangeError(`SineTasks: shots must be a positive integer, got ${this.shots}`);
    if (!Number.isInteger(this.queryPoints) || this.queryPoints < 1) throw new RangeError(`SineTasks: queryPoints must be a positive integer, got ${this.queryPoints}`);
    this.rng = rngOption('SineTasks', options.rng);
    this.dtype = options.dtype ?? 'float32';
    if (this.dtype !== 'float32' && this.dtype !== 'float64') throw new TypeError(`SineTasks: unknown dtype '${String(this.dtype)}' (expected 'float32' or 'float64')`);
  }

  /** Draws one task. */
  sampleTask(): SineTask {
    const amplitude = this.rng.uniformIn(0.1, 5);
    const phase = this.rng.uniformIn(0, this.setup === 'maml' ? Math.PI : 2 * Math.PI);
    return { amplitude, phase };
  }

  /** Draws `tasks` tasks with their support and query points. */
  sampleBatch(tasks: number): RegressionBatch {
    if (!Number.isInteger(tasks) || tasks < 1) throw new RangeError(`SineTasks.sampleBatch: tasks must be a positive integer, got ${tasks}`);
    if (tasks > MAX_BATCH) throw new RangeError(`SineTasks.sampleBatch: ${tasks} tasks is more than a batch may hold (${MAX_BATCH})`);
    const ts = Array.from({ length: tasks }, () => this.sampleTask());
    return this.batchFor(ts);
  }

  /** Support and query points for given tasks. */
  batchFor(ts: SineTask[]): RegressionBatch {
    const T = ts.length, K = this.shots, Q = this.queryPoints;
    checkElementCount('SineTasks.sampleBatch', T * Math.max(K, Q), `${T} tasks of ${Math.max(K, Q)} points`);
    const xs = allocData(this.dtype, T * K), ys = allocData(this.dtype, T * K);
    const xq = allocData(this.dtype, T * Q), yq = allocData(this.dtype, T * Q);
    ts.forEach((t, i) => {
      for (let j = 0; j < K; j++) {
        const x = this.rng.uniformIn(-5, 5);
        xs[i * K + j] = x;
        ys[i * K + j] = t.amplitude * Math.sin(x + t.phase);
      }
      for (let j = 0; j < Q; j++) {
        const x = this.setup === 'reptile' ? -5 + (10 * j) / (Q - 1 || 1) : this.rng.uniformIn(-5, 5);
        xq[i * Q + j] = x;
        yq[i * Q + j] = t.amplitude * Math.sin(x + t.phase);
      }
    });
    const data = { xSupport: new Tensor(xs, [T, K, 1]), ySupport: new Tensor(ys, [T, K, 1]), xQuery: new Tensor(xq, [T, Q, 1]), yQuery: new Tensor(yq, [T, Q, 1]) };
    return new RegressionBatch(data, ts);
  }
}
