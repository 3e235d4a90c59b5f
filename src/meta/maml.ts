/**
 * MAML (Finn et al. 2017, Algorithm 2) and first-order MAML, for regression meta-batches:
 *
 *   sample a batch of tasks; for each task, adapt φ with `innerSteps` SGD steps of size α on
 *   its support set; meta-loss = mean over tasks of the query loss at the adapted parameters;
 *   φ ← outer optimiser step along ∂(meta-loss)/∂φ.
 *
 * The whole meta-batch runs as one batched computation (parameters tiled along a task axis),
 * and second-order MAML differentiates through every inner step exactly.
 */
import { Adam } from '../optim/adam.js';
import { restoringOnThrow, type Optimizer } from '../optim/optimizer.js';
import { checkModel, type Model } from '../nn/mlp.js';
import type { Tensor } from '../tensor.js';
import type { RegressionBatch } from '../tasks/sine.js';
import { adaptWithOptimizer, checkParams, mamlGradient } from './inner.js';
import { noGrad } from '../autograd.js';
import { valueAndGrad } from '../functional.js';
import { add } from '../ops/binary.js';
import { index } from '../ops/layout.js';
import { mse } from '../ops/loss.js';
import { scale } from '../ops/unary.js';
import { checkRegressionBatch, meanTaskMse, summedTaskMse } from './losses.js';
import { tidy } from '../tidy.js';
import { checkInteger, checkOptionsObject, checkPositive, type OptionKeys } from '../checks.js';

/** Settings of a {@link MAML} learner; each is checked when the learner is built. */
export interface MamlOptions {
  /** Inner step size α. Default 0.01 (the MAML sine setting). */
  innerLr?: number;
  /** Inner SGD steps during meta-training. Default 1. */
  innerSteps?: number;
  /** Drop second-order terms (FOMAML). Default false. */
  firstOrder?: boolean;
  /** Outer optimiser. Default Adam(lr 1e-3). */
  optimizer?: Optimizer;
  /**
   * Where the meta-loss is taken (Reptile paper §6.3): 'separate' (default) on the query set,
   * disjoint from the inner data, as MAML does; 'shared' on the support set the inner steps used.
   */
  tail?: 'separate' | 'shared';
  /**
   * FOMAML only: adapt with this optimiser (e.g. `new Adam({ lr: 1e-3, beta1: 0 })`) instead of
   * SGD. Tasks then run in turn, its state carried from task to task as in the Reptile paper's
   * experiments; the meta-gradient is the query-loss gradient at each task's adapted parameters.
   */
  innerOptimizer?: Optimizer;
}

const MAML_OPTIONS: OptionKeys<MamlOptions> = { innerLr: true, innerSteps: true, firstOrder: 'flag', optimizer: true, tail: true, innerOptimizer: true };

/**
 * A MAML (or, with `firstOrder`, FOMAML) learner for regression tasks: holds the
 * meta-parameters φ and steps them on meta-batches.
 *
 * ```ts
 * const model = mg.mlp([1, 40, 40, 1]);
 * const maml = new mg.MAML(model, model.init({ rng }), { innerLr: 0.01 });
 * for (let i = 0; i < 1000; i++) maml.step(tasks.sampleBatch(25)); // returns the meta-loss
 * ```
 */
export class MAML {
  /** The current meta-parameters φ (replaced, not mutated, by each step). */
  params: Tensor[];
  /** Inner step size α (see {@link MamlOptions}, as are the settings below). */
  readonly innerLr: number;
  /** Inner steps during meta-training. */
  readonly innerSteps: number;
  /** Whether second-order terms are dropped (FOMAML). */
  readonly firstOrder: boolean;
  /** The outer optimiser. */
  readonly optimizer: Optimizer;
  /** Where the meta-loss is taken: the query set ('separate') or the support set ('shared'). */
  readonly tail: 'separate' | 'shared';
  /** FOMAML's inner optimiser, if not plain SGD. */
  readonly innerOptimizer: Optimizer | undefined;

  /**
   * @param model the network, a function of (parameters, inputs)
   * @param params initial meta-parameters φ, e.g. `model.init({ rng })`
   */
  constructor(
    readonly model: Model,
    params: Tensor[],
    options: MamlOptions = {},
  ) {
    checkModel('MAML', model);
    checkParams('MAML', params);
    checkOptionsObject('MAML', options, MAML_OPTIONS, '{ innerLr: 0.01, innerSteps: 5 }');
    this.params = params;
    this.innerLr = options.innerLr ?? 0.01;
    this.innerSteps = options.innerSteps ?? 1;
    this.firstOrder = options.firstOrder ?? false;
    this.optimizer = options.optimizer ?? new Adam({ lr: 1e-3 });
    this.tail = options.tail ?? 'separate';
    this.innerOptimizer = options.innerOptimizer;
    if (this.innerOptimizer !== undefined && !this.firstOrder) throw new RangeError('MAML: innerOptimizer needs firstOrder: true (second-order MAML differentiates through SGD steps)');
    if (this.tail !== 'separate' && this.tail !== 'shared') throw new RangeError(`MAML: tail must be 'separate' or 'shared', got '${String(this.tail)}'`);
    checkInteger('MAML: innerSteps', this.innerSteps);
    checkPositive('MAML: innerLr', this.innerLr);
  }

  /** The meta-gradient for a batch of tasks (mean over tasks) and the meta-loss, without stepping. */
  metaGradient(batch: RegressionBatch): { grads: Tensor[]; loss: number } {
    checkRegressionBatch('MAML', batch);
    const T = batch.xSupport.shape[0]!;
    const inner = summedTaskMse(this.model, batch.xSupport, batch.ySupport);
    const outer = this.tail === 'shared' ? meanTaskMse(this.model, batch.xSupport, batch.ySupport) : meanTaskMse(this.model, batch.xQuery, batch.yQuery);
    if (this.innerOptimizer !== undefined) return this.sequentialFirstOrder(batch);
    return mamlGradient(this.params, Array(this.innerSteps).fill(inner), outer, this.innerLr, { firstOrder: this.firstOrder, tasks: T });
  }

  /** FOMAML with a stateful inner optimiser: tasks in turn, mean of the tail gradients. */
  private sequentialFirstOrder(batch: RegressionBatch): { grads: Tensor[]; loss: number } {
    const T = batch.xSupport.shape[0]!;
    const row = (x: Tensor, t: number) => index(x, 0, t);
    let sum: Tensor[] | null = null;
    let lossSum = 0;
    for (let t = 0; t < T; t++) {
      const adapted = adaptWithOptimizer(this.model, this.params, row(batch.xSupport, t), row(batch.ySupport, t), this.innerSteps, this.innerOptimizer!);
      const [xt, yt] = this.tail === 'shared' ? [row(batch.xSupport, t), row(batch.ySupport, t)] : [row(batch.xQuery, t), row(batch.yQuery, t)];
      const [loss, g] = valueAndGrad((p) => mse(this.model.forward(p, xt), yt))(adapted.map((p) => p.detach()));
      lossSum += loss.item();
      sum = sum === null ? g : noGrad(() => g.map((gi, i) => add(gi, sum![i]!)));
    }
    return { grads: noGrad(() => sum!.map((g) => scale(g, 1 / T))), loss: lossSum / T };
  }

  /** One meta-iteration on a batch of tasks; returns the meta-loss (mean query loss after adaptation). */
  step(batch: RegressionBatch): number {
    // The meta-gradient's activations go back to the pool (see tidy). Only library code runs in
    // tidy: a user's inner or outer optimiser may keep tensors it makes in a field.
    // A step the optimiser refuses (a NaN or infinite meta-gradient) leaves the learner as it
    // was, inner optimiser included.
    return restoringOnThrow(this.innerOptimizer, () => {
      const { grads, loss } = this.innerOptimizer === undefined ? tidy(() => this.metaGradient(batch)) : this.metaGradient(batch);
      this.params = this.optimizer.step(this.params, grads);
      return loss;
    });
  }
}
