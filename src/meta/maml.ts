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
import type { Optimizer } from '../optim/optimizer.js';
import type { Model } from '../nn/mlp.js';
import type { Tensor } from '../tensor.js';
import type { RegressionBatch } from '../tasks/sine.js';
import { mamlGradient } from './inner.js';
import { meanTaskMse, summedTaskMse } from './losses.js';

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
}

export class MAML {
  params: Tensor[];
  readonly innerLr: number;
  readonly innerSteps: number;
  readonly firstOrder: boolean;
  readonly optimizer: Optimizer;
  readonly tail: 'separate' | 'shared';

  constructor(
    readonly model: Model,
    params: Tensor[],
    options: MamlOptions = {},
  ) {
    this.params = params;
    this.innerLr = options.innerLr ?? 0.01;
    this.innerSteps = options.innerSteps ?? 1;
    this.firstOrder = options.firstOrder ?? false;
    this.optimizer = options.optimizer ?? new Adam({ lr: 1e-3 });
    this.tail = options.tail ?? 'separate';
    if (this.tail !== 'separate' && this.tail !== 'shared') throw new RangeError(`MAML: tail must be 'separate' or 'shared', got '${String(this.tail)}'`);
    if (!Number.isInteger(this.innerSteps) || this.innerSteps < 1) throw new RangeError(`MAML: innerSteps must be a positive integer, got ${this.innerSteps}`);
  }

  /** The meta-gradient for a batch of tasks (mean over tasks) and the meta-loss, without stepping. */
  metaGradient(batch: RegressionBatch): { grads: Tensor[]; loss: number } {
    const T = batch.xSupport.shape[0]!;
    const inner = summedTaskMse(this.model, batch.xSupport, batch.ySupport);
    const outer = this.tail === 'shared' ? meanTaskMse(this.model, batch.xSupport, batch.ySupport) : meanTaskMse(this.model, batch.xQuery, batch.yQuery);
    return mamlGradient(this.params, Array(this.innerSteps).fill(inner), outer, this.innerLr, { firstOrder: this.firstOrder, tasks: T });
  }

  /** One meta-iteration on a batch of tasks; returns the meta-loss (mean query loss after adaptation). */
  step(batch: RegressionBatch): number {
    const { grads, loss } = this.metaGradient(batch);
    this.params = this.optimizer.step(this.params, grads);
    return loss;
  }
}
