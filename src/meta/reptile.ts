/**
 * Reptile (Nichol et al. 2018, Algorithm 1 and its batched version, eq. 5):
 *
 *   sample n tasks; on each, φ̃ᵢ = k steps of SGD from φ on its data;
 *   φ ← φ + ε · (mean φ̃ᵢ − φ),  with ε annealed linearly from `metaStepSize` to
 *   `metaStepSizeFinal` over `iterations` meta-iterations.
 *
 * With `outerOptimizer`, the Reptile gradient (φ − mean φ̃ᵢ)/α is fed to that optimiser instead.
 */
import { noGrad } from '../autograd.js';
import { checkModel, type Model } from '../nn/mlp.js';
import { add, sub } from '../ops/binary.js';
import { index } from '../ops/layout.js';
import { scale } from '../ops/unary.js';
import { checkFinite, restoringOnThrow, type Optimizer } from '../optim/optimizer.js';
import type { RegressionBatch } from '../tasks/sine.js';
import type { Tensor } from '../tensor.js';
import { adaptWithOptimizer, checkParams, innerGradients, reptileFromInner } from './inner.js';
import { checkRegressionBatch, summedTaskMse } from './losses.js';
import { tidy } from '../tidy.js';
import { checkInteger, checkNonNegative, checkOptionsObject, checkPositive, type OptionKeys } from '../checks.js';

/** Settings of a {@link Reptile} learner; each is checked when the learner is built. */
export interface ReptileOptions {
  /** Inner SGD step size α. Default 0.02. */
  innerLr?: number;
  /** Inner steps k. Default 5. */
  innerSteps?: number;
  /** Initial outer step ε. Default 0.1. */
  metaStepSize?: number;
  /** Final outer step (reached at the last iteration). Default 0. */
  metaStepSizeFinal?: number;
  /** Meta-iterations the annealing spans. Required unless an outer optimiser is given. */
  iterations?: number;
  /** Feed (φ − φ̃)/α to this optimiser instead of the ε update. */
  outerOptimizer?: Optimizer;
  /**
   * Inner optimiser instead of plain SGD, e.g. `new Adam({ lr: 1e-3, beta1: 0 })` as in the
   * paper's few-shot experiments. Tasks then run one after another and the optimiser's state
   * (Adam's moments) carries over from task to task, as in the reference implementation.
   */
  innerOptimizer?: Optimizer;
}

const REPTILE_OPTIONS: OptionKeys<ReptileOptions> = { innerLr: true, innerSteps: true, metaStepSize: true, metaStepSizeFinal: true, iterations: true, outerOptimizer: true, innerOptimizer: true };

/**
 * A Reptile learner for regression tasks: holds the meta-parameters φ and moves them towards
 * each meta-batch's adapted parameters.
 *
 * ```ts
 * const reptile = new mg.Reptile(model, model.init({ rng }), { iterations: 10_000 });
 * for (let i = 0; i < 10_000; i++) reptile.step(tasks.sampleBatch(5)); // returns the first inner loss
 * ```
 */
export class Reptile {
  /** The current meta-parameters φ (replaced, not mutated, by each step). */
  params: Tensor[];
  /** Inner SGD step size α (see {@link ReptileOptions}, as are the settings below). */
  readonly innerLr: number;
  /** Inner steps k. */
  readonly innerSteps: number;
  /** Outer step ε at the first iteration. */
  readonly metaStepSize: number;
  /** Outer step ε reached at the last iteration. */
  readonly metaStepSizeFinal: number;
  /** Meta-iterations the ε annealing spans (0 with an outer optimiser and no schedule). */
  readonly iterations: number;
  /** Optimiser fed (φ − φ̃)/α instead of the ε update, if any. */
  readonly outerOptimizer: Optimizer | undefined;
  /** Inner optimiser instead of plain SGD, if any. */
  readonly innerOptimizer: Optimizer | undefined;
  private iteration = 0;

  /**
   * @param model the network, a function of (parameters, inputs)
   * @param params initial meta-parameters φ, e.g. `model.init({ rng })`
   */
  constructor(
    readonly model: Model,
    params: Tensor[],
    options: ReptileOptions = {},
  ) {
    checkModel('Reptile', model);
    checkParams('Reptile', params);
    checkOptionsObject('Reptile', options, REPTILE_OPTIONS, '{ innerSteps: 5, iterations: 10000 }');
    this.params = params;
    this.innerLr = options.innerLr ?? 0.02;
    this.innerSteps = options.innerSteps ?? 5;
    this.metaStepSize = options.metaStepSize ?? 0.1;
    this.metaStepSizeFinal = options.metaStepSizeFinal ?? 0;
    this.iterations = options.iterations ?? 0;
    this.outerOptimizer = options.outerOptimizer;
    this.innerOptimizer = options.innerOptimizer;
    if (this.outerOptimizer === undefined && !(this.iterations > 0)) throw new RangeError('Reptile: give iterations (for the ε annealing) or an outerOptimizer');
    if (options.iterations !== undefined) checkInteger('Reptile: iterations', this.iterations);
    checkInteger('Reptile: innerSteps', this.innerSteps);
    checkPositive('Reptile: innerLr', this.innerLr);
    checkPositive('Reptile: metaStepSize', this.metaStepSize);
    checkNonNegative('Reptile: metaStepSizeFinal', this.metaStepSizeFinal);
  }

  /** The outer step ε at the current iteration. */
  get epsilon(): number {
    const frac = Math.min(1, this.iteration / Math.max(1, this.iterations));
    return this.metaStepSize + (this.metaStepSizeFinal - this.metaStepSize) * frac;
  }

  /** One meta-iteration (inner loop on each task's support set); returns the mean first inner loss. */
  step(batch: RegressionBatch): number {
    checkRegressionBatch('Reptile.step', batch);
    const T = batch.xSupport.shape[0]!;
    const inner = summedTaskMse(this.model, batch.xSupport, batch.ySupport);
    // A refused step (a NaN or infinite meta-gradient) leaves the learner as it was, inner
    // optimiser and ε schedule included.
    const firstLoss = restoringOnThrow(this.innerOptimizer, () => {
      let g: Tensor[];
      let first: number;
      if (this.innerOptimizer === undefined) {
        // The inner loop's activations go back to the pool (see tidy); a user's optimiser (the
        // other branch, and the outer step) stays outside it, as it may keep tensors it makes.
        [g, first] = tidy(() => {
          const res = innerGradients(this.params, Array(this.innerSteps).fill(inner), this.innerLr, { tasks: T });
          return [reptileFromInner(this.params, res, this.innerLr, T), res.losses[0]!] as const;
        });
      } else {
        first = noGrad(() => inner(this.params).item());
        g = this.sequentialGradient(batch);
      }
      checkFinite(g, 'Reptile.step: the meta-gradient');
      if (this.outerOptimizer !== undefined) this.params = this.outerOptimizer.step(this.params, g);
      else {
        const s = this.epsilon * this.innerLr; // φ + ε(φ̃ − φ) = φ − ε·α·g
        this.params = noGrad(() => this.params.map((p, i) => sub(p, scale(g[i]!, s))));
      }
      return first;
    });
    this.iteration++;
    return firstLoss / T;
  }

  /** (φ − mean φ̃ₜ)/α with each task adapted in turn by the inner optimiser. */
  private sequentialGradient(batch: RegressionBatch): Tensor[] {
    const T = batch.xSupport.shape[0]!;
    let sumAdapted: Tensor[] | null = null;
    for (let t = 0; t < T; t++) {
      const adapted = adaptWithOptimizer(this.model, this.params, index(batch.xSupport, 0, t), index(batch.ySupport, 0, t), this.innerSteps, this.innerOptimizer!);
      sumAdapted = sumAdapted === null ? adapted : noGrad(() => adapted.map((a, i) => add(a, sumAdapted![i]!)));
    }
    return noGrad(() => this.params.map((p, i) => scale(sub(p, scale(sumAdapted![i]!, 1 / T)), 1 / this.innerLr)));
  }
}
