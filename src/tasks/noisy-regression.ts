/**
 * Noisy few-shot regression tasks of the probabilistic and Bayesian MAML papers, seeded.
 *
 * - 'ambiguous' (PLATIPUS, Finn, Xu and Levine 2018): each task is a sine, amplitude U[0.1, 5]
 *   and phase U[0, π], or a line, slope and intercept U[−3, 3], with equal odds; x ∈ U[−5, 5];
 *   observations carry Gaussian noise of standard deviation 0.3.
 * - 'bmaml' (Kim et al. 2018): y = A sin(ωx − φ), A ∈ U[0.1, 5], ω ∈ U[0.5, 2], φ ∈ U[0, 2π];
 *   x ∈ U[−5, 5]; noise of standard deviation 0.01·A.
 *
 * Support and query targets are noisy; {@link FunctionBatch} keeps each task's function, so
 * evaluation can score predictions against the noise-free truth.
 */
import { rngOption, type Rng } from '../random.js';
import { checkOptionsObject, type OptionKeys } from '../checks.js';
import { allocData, Tensor, type DType } from '../tensor.js';
import { checkElementCount } from '../shape.js';
import { SupervisedTask } from '../meta/task.js';

/** One task's function. */
export type RegressionFunction = { kind: 'sine'; amplitude: number; frequency: number; phase: number } | { kind: 'line'; slope: number; intercept: number };

/** The value of `f` at `x`. */
export function evaluateFunction(f: RegressionFunction, x: number): number {
  return f.kind === 'sine' ? f.amplitude * Math.sin(f.frequency * x - f.phase) : f.slope * x + f.intercept;
}

/** Which paper's task family. */
export type NoisySetup = 'ambiguous' | 'bmaml';

/** Options of {@link NoisyRegressionTasks}. */
export interface NoisyRegressionOptions {
  /** 'ambiguous' (sines and lines, PLATIPUS) or 'bmaml' (sines of varying frequency). Default 'ambiguous'. */
  setup?: NoisySetup;
  /** Support points per task. Default 5. */
  shots?: number;
  /** Query points per task. Default 5. */
  queryPoints?: number;
  /** The generator tasks, points and noise are drawn from. Default: the library-wide one. */
  rng?: Rng;
  /** dtype of the batches' tensors. Default float32. */
  dtype?: DType;
}

const OPTIONS: OptionKeys<NoisyRegressionOptions> = { setup: true, shots: true, queryPoints: true, rng: true, dtype: true };

/** A stacked meta-batch of noisy regression tasks (`[T, n, 1]` tensors) that remembers each task's function. */
export class FunctionBatch extends SupervisedTask {
  /** [T, K, 1] */
  declare readonly ySupport: Tensor;
  /** [T, Q, 1] */
  declare readonly yQuery: Tensor;

  /** The batch of `functions` with its (noisy) points. */
  constructor(
    data: { xSupport: Tensor; ySupport: Tensor; xQuery: Tensor; yQuery: Tensor },
    /** Each task's noise-free function. */
    readonly functions: RegressionFunction[],
    /** Each task's observation noise (standard deviation). */
    readonly noiseStd: number[],
  ) {
    super(data, { stacked: true });
  }
}

/** The noisy regression task families of PLATIPUS and BMAML; `sampleBatch(T)` draws a {@link FunctionBatch}. */
export class NoisyRegressionTasks {
  /** The family in use. */
  readonly setup: NoisySetup;
  /** Support points per task. */
  readonly shots: number;
  /** Query points per task. */
  readonly queryPoints: number;
  /** dtype of the batches' tensors. */
  readonly dtype: DType;
  /** The generator draws come from. */
  rng: Rng;

  constructor(options: NoisyRegressionOptions = {}) {
    checkOptionsObject('NoisyRegressionTasks', options, OPTIONS, "{ setup: 'bmaml', shots: 10 }");
    this.setup = options.setup ?? 'ambiguous';
    if (this.setup !== 'ambiguous' && this.setup !== 'bmaml') throw new RangeError(`NoisyRegressionTasks: setup must be 'ambiguous' or 'bmaml', got '${String(this.setup)}'`);
    this.shots = options.shots ?? 5;
    this.queryPoints = options.queryPoints ?? 5;
    for (const [name, v] of [['shots', this.shots], ['queryPoints', this.queryPoints]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`NoisyRegressionTasks: ${name} must be a positive integer, got ${v}`);
    }
    this.rng = rngOption('NoisyRegressionTasks', options.rng);
    this.dtype = options.dtype ?? 'float32';
    if (this.dtype !== 'float32' && this.dtype !== 'float64') throw new TypeError(`NoisyRegressionTasks: unknown dtype '${String(this.dtype)}' (expected 'float32' or 'float64')`);
  }

  /** Draws one task's function. */
  sampleFunction(): RegressionFunction {
    const r = this.rng;
    if (this.setup === 'bmaml') return { kind: 'sine', amplitude: r.uniformIn(0.1, 5), frequency: r.uniformIn(0.5, 2), phase: r.uniformIn(0, 2 * Math.PI) };
    if (r.uniform() < 0.5) return { kind: 'sine', amplitude: r.uniformIn(0.1, 5), frequency: 1, phase: -r.uniformIn(0, Math.PI) };
    return { kind: 'line', slope: r.uniformIn(-3, 3), intercept: r.uniformIn(-3, 3) };
  }

  /** The observation noise's standard deviation for `f`. */
  noiseStd(f: RegressionFunction): number {
    return this.setup === 'bmaml' && f.kind === 'sine' ? 0.01 * f.amplitude : 0.3;
  }

  /** Draws `tasks` tasks with their noisy support and query points. */
  sampleBatch(tasks: number): FunctionBatch {
    if (!Number.isInteger(tasks) || tasks < 1) throw new RangeError(`NoisyRegressionTasks.sampleBatch: tasks must be a positive integer, got ${tasks}`);
    const T = tasks, K = this.shots, Q = this.queryPoints;
    checkElementCount('NoisyRegressionTasks.sampleBatch', T * Math.max(K, Q), `${T} tasks of ${Math.max(K, Q)} points`);
    const fs = Array.from({ length: T }, () => this.sampleFunction());
    const noise = fs.map((f) => this.noiseStd(f));
    const draw = (n: number) => {
      const x = allocData(this.dtype, T * n), y = allocData(this.dtype, T * n);
      fs.forEach((f, t) => {
        for (let j = 0; j < n; j++) {
          const xi = this.rng.uniformIn(-5, 5);
          x[t * n + j] = xi;
          y[t * n + j] = evaluateFunction(f, xi) + noise[t]! * this.rng.normal();
        }
      });
      return [new Tensor(x, [T, n, 1]), new Tensor(y, [T, n, 1])] as const;
    };
    const [xSupport, ySupport] = draw(K);
    const [xQuery, yQuery] = draw(Q);
    return new FunctionBatch({ xSupport, ySupport, xQuery, yQuery }, fs, noise);
  }
}
