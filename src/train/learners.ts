/**
 * The learners most people start from: {@link MAML} (and FOMAML) and {@link Reptile}, each a
 * {@link MetaLearner} around its algorithm with the papers' defaults.
 */
import type { Model } from '../nn/model.js';
import { Adam } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Tensor } from '../tensor.js';
import { checkInteger, checkOptionsObject, type OptionKeys } from '../checks.js';
import { maml, type MamlSettings } from '../meta/maml.js';
import { checkEpsilon, epsilonAt, reptile, ReptileUpdate, type ReptileSettings } from '../meta/reptile.js';
import { checkFinite } from '../optim/optimizer.js';
import { stackedData } from '../meta/losses.js';
import { MetaLearner } from './learner.js';

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
  /** Second-order only: recompute inner steps in the reverse sweep instead of keeping them; `{ every: s }` keeps every s-th step's parameters only (see `maml`). Default false. */
  recompute?: boolean | { every: number };
}

const MAML_OPTIONS: OptionKeys<MamlOptions> = { innerLr: true, innerSteps: true, firstOrder: 'flag', optimizer: true, tail: true, innerOptimizer: true, recompute: true };

/**
 * A MAML (or, with `firstOrder`, FOMAML) learner: holds the meta-parameters φ and steps them on
 * meta-batches of Tasks (a stacked batch such as `SineTasks.sampleBatch(25)`, an Omniglot
 * episode, your own `supervisedTask`, or a list of them).
 *
 * ```ts
 * const model = mg.mlp([1, 40, 40, 1]);
 * const maml = new mg.MAML(model, model.init({ rng }), { innerLr: 0.01 });
 * for (let i = 0; i < 1000; i++) maml.step(tasks.sampleBatch(25)); // returns the meta-loss
 * ```
 */
export class MAML extends MetaLearner {
  /** The algorithm's settings (see {@link MamlOptions}). */
  readonly settings: Readonly<MamlSettings>;

  /**
   * @param model the network, a function of (parameters, inputs)
   * @param params initial meta-parameters φ, e.g. `model.init({ rng })`
   */
  constructor(model: Model, params: Tensor[], options: MamlOptions = {}) {
    checkOptionsObject('MAML', options, MAML_OPTIONS, '{ innerLr: 0.01, innerSteps: 5 }');
    const algorithm = maml({ innerLr: options.innerLr ?? 0.01, innerSteps: options.innerSteps ?? 1, firstOrder: options.firstOrder ?? false, tail: options.tail ?? 'separate', innerOptimizer: options.innerOptimizer, recompute: options.recompute });
    super(model, params, algorithm, options.optimizer ?? new Adam({ lr: 1e-3 }), { toTasks: (b) => [stackedData('MAML', b)] });
    this.settings = algorithm.settings;
  }

  /** Inner step size α. */
  get innerLr(): number {
    return this.settings.innerLr;
  }
  /** Inner steps during meta-training. */
  get innerSteps(): number {
    return this.settings.innerSteps;
  }
  /** Whether second-order terms are dropped (FOMAML). */
  get firstOrder(): boolean {
    return this.settings.firstOrder;
  }
  /** Where the meta-loss is taken: the query set ('separate') or the support set ('shared'). */
  get tail(): 'separate' | 'shared' {
    return this.settings.tail;
  }
  /** FOMAML's inner optimiser, if not plain SGD. */
  get innerOptimizer(): Optimizer | undefined {
    return this.settings.innerOptimizer;
  }
}

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
 * A Reptile learner: holds the meta-parameters φ and moves them towards each meta-batch's
 * adapted parameters.
 *
 * ```ts
 * const reptile = new mg.Reptile(model, model.init({ rng }), { iterations: 10_000 });
 * for (let i = 0; i < 10_000; i++) reptile.step(tasks.sampleBatch(5)); // returns the mean inner loss
 * ```
 */
export class Reptile extends MetaLearner {
  /** The algorithm's settings (inner step size, steps and optimiser). */
  readonly settings: Readonly<ReptileSettings>;
  /** Outer step ε at the first iteration. */
  readonly metaStepSize: number;
  /** Outer step ε reached at the last iteration. */
  readonly metaStepSizeFinal: number;
  /** Meta-iterations the ε annealing spans (0 with an outer optimiser and no schedule). */
  readonly iterations: number;
  /** Optimiser fed (φ − φ̃)/α instead of the ε update, if any. */
  readonly outerOptimizer: Optimizer | undefined;

  /**
   * @param model the network, a function of (parameters, inputs)
   * @param params initial meta-parameters φ, e.g. `model.init({ rng })`
   */
  constructor(model: Model, params: Tensor[], options: ReptileOptions = {}) {
    checkOptionsObject('Reptile', options, REPTILE_OPTIONS, '{ innerSteps: 5, iterations: 10000 }');
    const iterations = options.iterations ?? 0;
    const [eps0, eps1] = [options.metaStepSize ?? 0.1, options.metaStepSizeFinal ?? 0];
    if (options.outerOptimizer === undefined && !(iterations > 0)) throw new RangeError('Reptile: give iterations (for the ε annealing) or an outerOptimizer');
    if (options.iterations !== undefined) checkInteger('Reptile: iterations', iterations);
    const algorithm = reptile({ innerLr: options.innerLr ?? 0.02, innerSteps: options.innerSteps ?? 5, innerOptimizer: options.innerOptimizer });
    checkEpsilon('Reptile', eps0, eps1);
    const alpha = algorithm.settings.innerLr;
    const outer = options.outerOptimizer ?? new ReptileUpdate();
    const schedule = options.outerOptimizer === undefined ? (it: number) => epsilonAt(it, eps0, eps1, iterations) * alpha : undefined;
    super(model, params, algorithm, outer, { schedule, toTasks: (b) => [stackedData('Reptile.step', b)] });
    this.settings = algorithm.settings;
    this.metaStepSize = eps0;
    this.metaStepSizeFinal = eps1;
    this.iterations = iterations;
    this.outerOptimizer = options.outerOptimizer;
  }

  /** Inner SGD step size α (see {@link ReptileOptions}). */
  get innerLr(): number {
    return this.settings.innerLr;
  }
  /** Inner steps k. */
  get innerSteps(): number {
    return this.settings.innerSteps;
  }
  /** Inner optimiser instead of plain SGD, if any. */
  get innerOptimizer(): Optimizer | undefined {
    return this.settings.innerOptimizer;
  }

  /** The outer step ε at the current iteration. */
  get epsilon(): number {
    return epsilonAt(this.iteration, this.metaStepSize, this.metaStepSizeFinal, this.iterations);
  }

  /** The Reptile gradient is refused before any outer optimiser sees it if it is not finite. */
  protected override checkGradient(grads: readonly Tensor[]): void {
    checkFinite(grads, 'Reptile.step: the meta-gradient');
  }
}
