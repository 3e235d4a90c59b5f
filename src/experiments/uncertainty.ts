/**
 * Few-shot regression with uncertainty: PLATIPUS, BMAML, EMAML and MAML trained on the noisy
 * task families of their papers, each adapted model an ensemble (particles, draws, or MAML's
 * one model), scored by the MSE of its mean against the noise-free function and by how honest
 * its predictive distribution is about noisy observations (NLL, coverage of 50% and 90%
 * intervals). Every predictive adds the task family's known observation noise to the
 * ensemble's spread, so MAML's single model is scored as a Gaussian with that noise alone.
 */
import { Adam } from '../optim/adam.js';
import { mlp } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { maml } from '../meta/maml.js';
import { sgdInnerLoop } from '../meta/inner.js';
import { supportLosses } from '../meta/adapt.js';
import type { Task } from '../meta/task.js';
import { MetaLearner } from '../train/learner.js';
import { noGrad } from '../autograd.js';
import { unsqueeze } from '../ops/layout.js';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { bmaml, emaml, type EnsembleAlgorithm } from '../bayes/bmaml.js';
import { platipus } from '../bayes/platipus.js';
import { initParticles, predictParticles } from '../bayes/particles.js';
import { regressionPredictive, regressionScores } from '../bayes/predictive.js';
import { evaluateFunction, FunctionBatch, NoisyRegressionTasks, type NoisySetup, type RegressionFunction } from '../tasks/noisy-regression.js';

/** The methods compared. */
export const UNCERTAINTY_METHODS = ['platipus', 'bmaml', 'emaml', 'maml'] as const;
/** One of {@link UNCERTAINTY_METHODS}. */
export type UncertaintyMethod = (typeof UNCERTAINTY_METHODS)[number];

/** The settings of an {@link UncertaintyExperiment}. */
export interface UncertaintySettings {
  method: UncertaintyMethod;
  /** The task family. Default 'ambiguous'. */
  setup?: NoisySetup;
  /** Support points per task. Default 5. */
  shots?: number;
  /** Particles (BMAML, EMAML) or draws at test time (PLATIPUS). Default 10. */
  particles?: number;
  /** Inner steps (SVGD steps for BMAML's chaser). Default 5. */
  innerSteps?: number;
  /**
   * Inner step size α (BMAML's SVGD step too). Default 0.01. When BMAML's particles are close,
   * every kernel value is near 1 and an SVGD step moves each particle by about the particles'
   * mean gradient times the step, a gradient step's size; a step of M·α, which matches the
   * weight 1/M of a particle's own gradient when they are far apart, diverged.
   */
  innerLr?: number;
  /** Tasks per meta-iteration. Default 10. */
  metaBatch?: number;
  /** Adam's learning rate. Default 1e-3. */
  metaLr?: number;
  /** Hidden layers' widths. Default [40, 40]. */
  hidden?: number[];
  /** The seed of every draw. Default 0. */
  seed?: number;
}

/** The scores of an evaluation, averaged over tasks. */
export interface UncertaintyScores {
  tasks: number;
  /** MSE of the predictive mean against the noise-free function. */
  mse: number;
  /** Gaussian NLL of noisy observations. */
  nll: number;
  /** Fraction of noisy observations inside the central 50% and 90% intervals. */
  coverage50: number;
  coverage90: number;
}

/** What a figure of one task shows. */
export interface TaskPicture {
  grid: Float64Array;
  truth: Float64Array;
  members: Float64Array[];
  mean: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  support: { x: ArrayLike<number>; y: ArrayLike<number> };
  fn: RegressionFunction;
}

/** One method trained and evaluated on one task family. */
export class UncertaintyExperiment {
  /** The settings, defaults filled in. */
  readonly settings: Required<UncertaintySettings>;
  /** The regression network (an MLP). */
  readonly model: Model;
  /** The training tasks' sampler. */
  readonly tasks: NoisyRegressionTasks;
  /** The meta-learner holding the meta-parameters. */
  readonly learner: MetaLearner;
  private readonly algorithm: EnsembleAlgorithm;

  /** A method's learner, model and tasks, every draw seeded by `settings.seed`. */
  constructor(settings: UncertaintySettings) {
    const method = settings.method;
    if (!UNCERTAINTY_METHODS.includes(method)) throw new RangeError(`UncertaintyExperiment: method must be one of ${UNCERTAINTY_METHODS.join(', ')}, got '${String(method)}'`);
    const ensemble = method === 'bmaml' || method === 'emaml';
    this.settings = {
      method,
      setup: settings.setup ?? 'ambiguous',
      shots: settings.shots ?? 5,
      particles: settings.particles ?? 10,
      innerSteps: settings.innerSteps ?? 5,
      innerLr: settings.innerLr ?? 0.01,
      metaBatch: settings.metaBatch ?? 10,
      metaLr: settings.metaLr ?? 1e-3,
      hidden: settings.hidden ?? [40, 40],
      seed: settings.seed ?? 0,
    };
    const s = this.settings;
    const rng = new Rng(s.seed);
    this.model = mlp([1, ...s.hidden, 1]);
    this.tasks = new NoisyRegressionTasks({ setup: s.setup, shots: s.shots, queryPoints: 5, rng: rng.fork() });
    const initRng = rng.fork();
    let params: Tensor[];
    if (method === 'platipus') {
      const mean = this.model.init({ rng: initRng });
      const p = platipus(mean, { innerLr: s.innerLr, innerSteps: s.innerSteps, klWeight: 0.1, testSamples: s.particles, seed: s.seed });
      this.algorithm = p.algorithm;
      params = [...mean, ...p.extra];
    } else if (ensemble) {
      params = initParticles(this.model, s.particles, { rng: initRng });
      this.algorithm = method === 'bmaml' ? bmaml({ innerLr: s.innerLr, innerSteps: s.innerSteps, leaderSteps: 1 }) : emaml({ innerLr: s.innerLr, innerSteps: s.innerSteps });
    } else {
      params = this.model.init({ rng: initRng });
      const m = maml({ innerLr: s.innerLr, innerSteps: s.innerSteps, firstOrder: false, tail: 'separate' });
      this.algorithm = {
        ...m,
        adapt: (model, ps, task, options = {}) => {
          const adapted = sgdInnerLoop(ps, supportLosses(model, task, options.steps ?? s.innerSteps), s.innerLr).params;
          return noGrad(() => adapted.map((p) => unsqueeze(p.detach(), 0)));
        },
      };
    }
    this.learner = new MetaLearner(this.model, params, this.algorithm, new Adam({ lr: s.metaLr }));
  }

  /** One meta-iteration on a fresh meta-batch; returns the meta-loss. */
  step(): number {
    return this.learner.step(this.tasks.sampleBatch(this.settings.metaBatch));
  }

  /** The ensemble adapted to `task` (one task), stacked `[members, …]`. */
  adapt(task: Task): Tensor[] {
    const rng = new Rng(this.settings.seed + 7919);
    return this.algorithm.adapt(this.model, this.learner.params, task, { rng });
  }

  /** Scores on `count` new tasks (drawn from a generator seeded by `seed`), 50 points of [−5, 5] each. */
  evaluate(count: number, seed = 1): UncertaintyScores {
    const sampler = new NoisyRegressionTasks({ setup: this.settings.setup, shots: this.settings.shots, queryPoints: 5, rng: new Rng(seed) });
    const noiseRng = new Rng(seed + 1);
    const n = 50;
    const grid = Float64Array.from({ length: n }, (_, i) => -5 + (10 * i) / (n - 1));
    const x = new Tensor(Float32Array.from(grid), [n, 1]);
    let mse = 0, nll = 0, c50 = 0, c90 = 0;
    for (let t = 0; t < count; t++) {
      const batch = sampler.sampleBatch(1);
      const f = batch.functions[0]!;
      const sd = batch.noiseStd[0]!;
      const out = tidy(() => predictParticles(this.model, this.adapt(batch.split()[0]!), x));
      const pred = regressionPredictive(out, { noiseVariance: sd * sd });
      const truth = Float64Array.from(grid, (g) => evaluateFunction(f, g));
      const observed = Float64Array.from(truth, (v) => v + sd * noiseRng.normal());
      mse += regressionScores(pred, truth, []).mse;
      const s = regressionScores(pred, observed);
      nll += s.nll;
      c50 += s.coverage['0.5']!;
      c90 += s.coverage['0.9']!;
    }
    return { tasks: count, mse: mse / count, nll: nll / count, coverage50: c50 / count, coverage90: c90 / count };
  }

  /** What a figure of one new task shows (drawn with `seed`): the members, the mean and the 90% band. */
  picture(seed = 2): TaskPicture {
    const sampler = new NoisyRegressionTasks({ setup: this.settings.setup, shots: this.settings.shots, queryPoints: 5, rng: new Rng(seed) });
    const batch: FunctionBatch = sampler.sampleBatch(1);
    const f = batch.functions[0]!;
    const sd = batch.noiseStd[0]!;
    const n = 200;
    const grid = Float64Array.from({ length: n }, (_, i) => -5 + (10 * i) / (n - 1));
    const out = tidy(() => predictParticles(this.model, this.adapt(batch.split()[0]!), new Tensor(Float32Array.from(grid), [n, 1])));
    const pred = regressionPredictive(out, { noiseVariance: sd * sd });
    const M = out.shape[0]!;
    const members = Array.from({ length: M }, (_, m) => Float64Array.from(out.data.subarray(m * n, (m + 1) * n)));
    const half = Float64Array.from(pred.variance, (v) => 1.6448536269514722 * Math.sqrt(v));
    return {
      grid,
      truth: Float64Array.from(grid, (g) => evaluateFunction(f, g)),
      members,
      mean: pred.mean,
      lower: Float64Array.from(pred.mean, (m, i) => m - half[i]!),
      upper: Float64Array.from(pred.mean, (m, i) => m + half[i]!),
      support: { x: batch.xSupport.data, y: batch.ySupport.data },
      fn: f,
    };
  }
}
