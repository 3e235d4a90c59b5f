/**
 * Few-shot classification on episodes (Omniglot) in the papers' two recipes, with the papers'
 * settings as presets; a thin composition of an episode sampler, the episodes as Tasks, a
 * learner (MAML or Reptile) and evaluation:
 *
 * - Reptile (Nichol et al. 2018): for each of `metaBatch` tasks, `innerSteps` Adam (β1 = 0) steps
 *   on mini-batches of `innerBatch` images cycling through the task's `trainShots`×N images, with
 *   one Adam state carried across tasks; then φ ← φ + ε(mean φ̃ − φ), ε annealed linearly.
 * - MAML / FOMAML (Finn et al. 2017): for each of `metaBatch` tasks, `innerSteps` SGD steps of
 *   size α on the K-shot support set, meta-loss on the query set; Adam on the mean meta-gradient.
 *
 * Evaluation adapts to new episodes and reports accuracy, in both batch-norm modes of the Reptile
 * paper: transductive (all query images in one batch) and non-transductive (support plus one
 * query image at a time).
 */
import { checkModel, type Model } from '../nn/model.js';
import { conv4 } from '../nn/conv4.js';
import { checkNormalized, recordingMoments, StepStatistics, type MomentRecord, type NormalizedModel } from '../nn/step-stats.js';
import { Adam } from '../optim/adam.js';
import { Rng, rngOption } from '../random.js';
import type { Tensor } from '../tensor.js';
import { episodeTask, sampleEpisode, type Episode, type OmniglotClass } from '../tasks/omniglot.js';
import { meanCI, type MeanCI } from '../meta/evaluate.js';
import { adaptRestoring } from '../meta/adapt.js';
import { maml, mamlTaskGradient as taskGradient, type MamlSettings, type MamlTaskSettings } from '../meta/maml.js';
import { meanGradient, type MetaAlgorithm, type MetaContext } from '../meta/algorithm.js';
import { epsilonAt, reptile, ReptileUpdate } from '../meta/reptile.js';
import { cosineAnnealing, mamlpp, type MamlppAlgorithm } from '../meta/mamlpp.js';
import type { Task } from '../meta/task.js';
import type { MetaGradient } from '../meta/inner.js';
import { MetaLearner, sameRun, type MetaGradientOffload } from '../train/learner.js';
import { tidy } from '../tidy.js';
import { noGrad } from '../autograd.js';
import { reshape } from '../ops/layout.js';
import { calibration, classProbabilities, type Calibration } from '../bayes/predictive.js';
import { checkInteger, checkNonNegative, checkOptionsObject, checkPositive, describeValue, isRecord, showValue, type OptionKeys } from '../checks.js';

/**
 * A few-shot classification setting: the algorithm and its hyperparameters. {@link PRESETS}
 * holds the papers' Omniglot settings; a trainer refuses a config with an invalid field.
 */
export interface FewShotConfig {
  /** Reptile (inner Adam with β1 = 0, ε update), second-order MAML, first-order MAML, or MAML++. */
  method: 'reptile' | 'maml' | 'fomaml' | 'mamlpp';
  /** Classes per episode (N). */
  nWay: number;
  /** Shots per class at evaluation (and MAML's training support). */
  kShot: number;
  /** Reptile: images per class in a training task. Default kShot. */
  trainShots?: number;
  /** MAML: query images per class during training. Default 1. */
  queryPerClass?: number;
  /** Tasks per meta-iteration. */
  metaBatch: number;
  /** Inner adaptation steps during training. */
  innerSteps: number;
  /** MAML: SGD step α. Reptile: inner Adam learning rate. */
  innerLr: number;
  /** Reptile: inner mini-batch size. Default nWay·trainShots. */
  innerBatch?: number;
  /** Reptile: ε at the start and the end of `iterations`. Defaults 1 and 0. */
  metaStepSize?: number;
  /** Reptile: ε at the end of `iterations` (see `metaStepSize`). */
  metaStepSizeFinal?: number;
  /** MAML: outer Adam learning rate. Default 1e-3. */
  outerLr?: number;
  /** Planned meta-iterations (for the ε schedule). */
  iterations: number;
  /** Adaptation steps at evaluation. */
  evalSteps: number;
  /**
   * Mini-batch size of the evaluation steps, cycling through the shuffled support set as
   * Reptile's training does. Default: the whole support set at every step.
   */
  evalBatch?: number;
  /** The conv4 variant the CLI builds. Default 'strided'. */
  variant?: 'strided' | 'maxpool';
  /** MAML++: the outer learning rate's cosine annealing floor (CA). Default: no annealing. */
  minOuterLr?: number;
  /** MAML++: the multi-step loss's annealing length in iterations (MSL). Default: off. */
  msl?: number;
  /** MAML++: per-step batch-norm weights and biases in the model (BNWB). Default false. */
  stepNorms?: boolean;
  /**
   * MAML++: per-step batch-norm running statistics (BNRS), gathered from every training task's
   * forward passes and used by `evaluate(…, 'running-stats')`. Training is unchanged. Needs a
   * model with `moments` (conv4). Default false.
   */
  runningStats?: boolean;
  /** The class split the CLI makes (`CLASS_SPLITS`): 'standard' (1,200 / 423) or 'mamlpp' (1,150 / 50 / 423). Default 'standard'. */
  split?: 'standard' | 'mamlpp';
}

/** Throws an error naming the first field of `c` that is not a valid setting. */
const CONFIG_KEYS: OptionKeys<FewShotConfig> = {
  method: true, nWay: true, kShot: true, trainShots: true, queryPerClass: true, metaBatch: true, innerSteps: true, innerLr: true,
  innerBatch: true, metaStepSize: true, metaStepSizeFinal: true, outerLr: true, iterations: true, evalSteps: true, evalBatch: true,
  variant: true, minOuterLr: true, msl: true, stepNorms: 'flag', runningStats: 'flag', split: true,
};

function checkConfig(c: FewShotConfig): void {
  // A misspelt field (metabatch) would otherwise leave the real one missing or at the preset's value.
  checkOptionsObject('FewShotConfig', c, CONFIG_KEYS, "PRESETS['reptile-5way-1shot']");
  if (c.method !== 'reptile' && c.method !== 'maml' && c.method !== 'fomaml' && c.method !== 'mamlpp') throw new RangeError(`FewShotConfig.method must be 'reptile', 'maml', 'fomaml' or 'mamlpp', got '${String(c.method)}'`);
  if (c.variant !== undefined && c.variant !== 'strided' && c.variant !== 'maxpool') throw new RangeError(`FewShotConfig.variant must be 'strided' or 'maxpool', got '${String(c.variant)}'`);
  if (c.split !== undefined && c.split !== 'standard' && c.split !== 'mamlpp') throw new RangeError(`FewShotConfig.split must be 'standard' or 'mamlpp', got '${String(c.split)}'`);
  if (c.method !== 'mamlpp' && (c.minOuterLr !== undefined || c.msl !== undefined || c.stepNorms !== undefined || c.runningStats !== undefined)) throw new RangeError('FewShotConfig: minOuterLr, msl, stepNorms and runningStats are MAML++ settings (method: \'mamlpp\')');
  const counts: [string, number | undefined, boolean][] = [
    ['nWay', c.nWay, true], ['kShot', c.kShot, true], ['metaBatch', c.metaBatch, true], ['innerSteps', c.innerSteps, true],
    ['iterations', c.iterations, true], ['evalSteps', c.evalSteps, true], ['trainShots', c.trainShots, false],
    ['queryPerClass', c.queryPerClass, false], ['innerBatch', c.innerBatch, false], ['evalBatch', c.evalBatch, false],
  ];
  for (const [name, v, required] of counts) {
    if (v !== undefined || required) checkInteger(`FewShotConfig.${name}`, v, name === 'evalSteps' ? 0 : 1);
  }
  if (c.msl !== undefined) checkInteger('FewShotConfig.msl', c.msl);
  for (const [name, v] of [['innerLr', c.innerLr], ['outerLr', c.outerLr], ['metaStepSize', c.metaStepSize], ['minOuterLr', c.minOuterLr]] as const) {
    if (v !== undefined) checkPositive(`FewShotConfig.${name}`, v);
  }
  if (c.metaStepSizeFinal !== undefined) checkNonNegative('FewShotConfig.metaStepSizeFinal', c.metaStepSizeFinal);
}

/** The images and labels of one training task (an {@link Episode} without its classes). */
export type TaskEpisode = Pick<Episode, 'xSupport' | 'ySupport' | 'xQuery' | 'yQuery'>;

export type { MamlTaskSettings };

/**
 * The Conv4 a configuration trains: `nWay` classes, its `variant`, and for MAML++'s per-step
 * batch norm one set of batch-norm weights per inner step and one for the query pass.
 */
export function fewShotModel(c: FewShotConfig): Model {
  return conv4({ classes: c.nWay, ...(c.variant === undefined ? {} : { variant: c.variant }), ...(c.stepNorms === true ? { stepNorms: c.innerSteps + 1 } : {}) });
}

/**
 * Running statistics for every step a MAML++ configuration's forward passes take (0 … k), for
 * the batch-norm layers `model` reports (their channels read off one training image).
 */
function stepStatisticsOf(model: Model, classes: readonly OmniglotClass[], c: FewShotConfig, params: readonly Tensor[]): StepStatistics {
  checkNormalized('FewShotTrainer: runningStats', model);
  const image = sampleEpisode(classes, 1, 1, 0, new Rng(0)).xSupport;
  const channels = noGrad(() => model.moments(params, image).map((m) => m.mean.size));
  return new StepStatistics({ steps: c.innerSteps + 1, channels, dtype: params[0]!.dtype });
}

/** The {@link MamlTaskSettings} of a MAML or FOMAML configuration. */
export function mamlTaskSettings(c: FewShotConfig): MamlTaskSettings {
  return { innerSteps: c.innerSteps, innerLr: c.innerLr, firstOrder: c.method === 'fomaml' };
}

/**
 * One task's MAML (or FOMAML) meta-gradient at `params`: `innerSteps` SGD steps of size
 * `innerLr` on the support set, cross-entropy on the query set (an episode, or any Task).
 * Everything else the task made is recycled (it runs in {@link tidy}).
 */
export function mamlTaskGradient(model: Model, params: readonly Tensor[], ep: TaskEpisode | Task, s: MamlTaskSettings): MetaGradient {
  const task = 'supportLoss' in ep ? ep : episodeTask(ep);
  return tidy(() => taskGradient(model, params, task, s));
}

/**
 * The papers' Omniglot presets. Reptile: the hyper-parameters of the Reptile paper's appendix
 * (5-way: Adam 1e-3, 5 inner steps on batches of 10, 10 training shots, meta-batch 5, ε 1 → 0,
 * 100k iterations, 50 evaluation steps on batches of 5; 20-way: Adam 5e-4, 10 inner steps on
 * batches of 20, 200k iterations, evaluation batches of 10). In 5-way 1-shot the evaluation batch
 * is the whole support set, so it is left at its default. MAML: the MAML paper (5-way: meta-batch
 * 32, one step of α = 0.4, three at evaluation; 20-way: meta-batch 16, five steps of α = 0.1 in
 * training and evaluation; Adam 1e-3 outside, 60,000 iterations); FOMAML the same, first order,
 * as the Reptile paper's Table 2 ran it. MAML++: the configuration its authors published
 * (max-pool Conv4 with per-step batch-norm weights, 5 inner steps with learned per-layer per-step
 * step sizes from 0.1 that leave batch norm unadapted, multi-step loss annealed over 20 epochs of
 * 500 iterations, second order throughout, Adam 1e-3 cosine-annealed to 1e-5 over 250 epochs;
 * meta-batch 16 for 20-way, 8 for 5-way; their 1,150 / 50 / 423 class split).
 */
export const PRESETS: Readonly<Record<string, Readonly<FewShotConfig>>> = freezePresets({
  'reptile-5way-1shot': { method: 'reptile', nWay: 5, kShot: 1, trainShots: 10, metaBatch: 5, innerSteps: 5, innerBatch: 10, innerLr: 1e-3, metaStepSize: 1, metaStepSizeFinal: 0, iterations: 100_000, evalSteps: 50 },
  'reptile-5way-5shot': { method: 'reptile', nWay: 5, kShot: 5, trainShots: 10, metaBatch: 5, innerSteps: 5, innerBatch: 10, innerLr: 1e-3, metaStepSize: 1, metaStepSizeFinal: 0, iterations: 100_000, evalSteps: 50, evalBatch: 5 },
  'reptile-20way-1shot': { method: 'reptile', nWay: 20, kShot: 1, trainShots: 10, metaBatch: 5, innerSteps: 10, innerBatch: 20, innerLr: 5e-4, metaStepSize: 1, metaStepSizeFinal: 0, iterations: 200_000, evalSteps: 50, evalBatch: 10 },
  'reptile-20way-5shot': { method: 'reptile', nWay: 20, kShot: 5, trainShots: 10, metaBatch: 5, innerSteps: 10, innerBatch: 20, innerLr: 5e-4, metaStepSize: 1, metaStepSizeFinal: 0, iterations: 200_000, evalSteps: 50, evalBatch: 10 },
  'maml-5way-1shot': { method: 'maml', nWay: 5, kShot: 1, queryPerClass: 1, metaBatch: 32, innerSteps: 1, innerLr: 0.4, outerLr: 1e-3, iterations: 60_000, evalSteps: 3 },
  'maml-5way-5shot': { method: 'maml', nWay: 5, kShot: 5, queryPerClass: 5, metaBatch: 32, innerSteps: 1, innerLr: 0.4, outerLr: 1e-3, iterations: 60_000, evalSteps: 3 },
  'mamlpp-20way-1shot': { method: 'mamlpp', nWay: 20, kShot: 1, queryPerClass: 1, metaBatch: 16, innerSteps: 5, innerLr: 0.1, outerLr: 1e-3, minOuterLr: 1e-5, msl: 10_000, stepNorms: true, variant: 'maxpool', split: 'mamlpp', iterations: 125_000, evalSteps: 5 },
  'mamlpp-5way-1shot': { method: 'mamlpp', nWay: 5, kShot: 1, queryPerClass: 1, metaBatch: 8, innerSteps: 5, innerLr: 0.1, outerLr: 1e-3, minOuterLr: 1e-5, msl: 10_000, stepNorms: true, variant: 'maxpool', split: 'mamlpp', iterations: 125_000, evalSteps: 5 },
  'maml-20way-1shot': { method: 'maml', nWay: 20, kShot: 1, queryPerClass: 1, metaBatch: 16, innerSteps: 5, innerLr: 0.1, outerLr: 1e-3, iterations: 60_000, evalSteps: 5 },
  'maml-20way-5shot': { method: 'maml', nWay: 20, kShot: 5, queryPerClass: 5, metaBatch: 16, innerSteps: 5, innerLr: 0.1, outerLr: 1e-3, iterations: 60_000, evalSteps: 5 },
  'fomaml-5way-1shot': { method: 'fomaml', nWay: 5, kShot: 1, queryPerClass: 1, metaBatch: 32, innerSteps: 1, innerLr: 0.4, outerLr: 1e-3, iterations: 60_000, evalSteps: 3 },
  'fomaml-5way-5shot': { method: 'fomaml', nWay: 5, kShot: 5, queryPerClass: 5, metaBatch: 32, innerSteps: 1, innerLr: 0.4, outerLr: 1e-3, iterations: 60_000, evalSteps: 3 },
  'fomaml-20way-1shot': { method: 'fomaml', nWay: 20, kShot: 1, queryPerClass: 1, metaBatch: 16, innerSteps: 5, innerLr: 0.1, outerLr: 1e-3, iterations: 60_000, evalSteps: 5 },
  'fomaml-20way-5shot': { method: 'fomaml', nWay: 20, kShot: 5, queryPerClass: 5, metaBatch: 16, innerSteps: 5, innerLr: 0.1, outerLr: 1e-3, iterations: 60_000, evalSteps: 5 },
});

/** The presets are shared by every caller: frozen, so no caller can change another's. */
function freezePresets(presets: Record<string, FewShotConfig>): Readonly<Record<string, Readonly<FewShotConfig>>> {
  for (const p of Object.values(presets)) Object.freeze(p);
  return Object.freeze(presets);
}

/**
 * Meta-trains a classifier (e.g. `conv4`) on N-way K-shot episodes with a
 * {@link FewShotConfig}, evaluates it on new episodes in both batch-norm modes, and saves and
 * restores its whole state (parameters, optimiser moments, sampler) so that a stopped run
 * resumes exactly. Every episode is drawn from one generator seeded by `seed`.
 */
export class FewShotTrainer {
  /** The configuration (a frozen copy of the one given). */
  readonly config: Readonly<FewShotConfig>;
  /** The learner: MAML (outer Adam) or Reptile (inner Adam carried across tasks, ε update). */
  readonly learner: MetaLearner;
  private readonly rng: Rng;
  private readonly innerAdam: Adam | null;
  private readonly plus: MamlppAlgorithm | null = null;
  /** MAML++'s per-step running statistics, when `runningStats` is on. */
  private readonly stats: StepStatistics | null = null;
  /** The batch moments each task of the step in progress recorded. */
  private readonly recorded = new Map<Task, MomentRecord[]>();

  /**
   * @param model the classifier, with `config.nWay` outputs
   * @param trainClasses the classes training episodes are drawn from
   * @param config the algorithm and its settings ({@link PRESETS} holds the papers')
   * @param seed seeds the initial weights and every training episode
   */
  constructor(
    readonly model: Model,
    readonly trainClasses: readonly OmniglotClass[],
    config: FewShotConfig,
    seed: number,
  ) {
    checkModel('FewShotTrainer', model);
    if (!isRecord(config)) throw new TypeError(`FewShotTrainer: config must be a FewShotConfig object (see PRESETS), got ${describeValue(config)}`);
    checkConfig(config);
    const c = (this.config = Object.freeze({ ...config }));
    if (trainClasses.length < c.nWay) throw new RangeError(`FewShotTrainer: ${trainClasses.length} training classes cannot make ${c.nWay}-way episodes`);
    this.rng = new Rng(seed);
    const params = model.init({ rng: this.rng });
    if (c.method === 'reptile') {
      this.innerAdam = new Adam({ lr: c.innerLr, beta1: 0 });
      const algorithm = reptile({ innerLr: c.innerLr, innerSteps: c.innerSteps, innerOptimizer: this.innerAdam }, 'FewShotTrainer');
      const [eps0, eps1] = [c.metaStepSize ?? 1, c.metaStepSizeFinal ?? 0];
      this.learner = new MetaLearner(model, params, algorithm, new ReptileUpdate(), { schedule: (it) => epsilonAt(it, eps0, eps1, c.iterations) * c.innerLr });
    } else if (c.method === 'mamlpp') {
      this.innerAdam = null;
      // The inner loop adapts the convolutions and the head; batch norm's γ and β are meta-learned only.
      const perBlock = (params.length - 2) / 4;
      const adapt = [0, 1, 2, 3].flatMap((b) => [b * perBlock, b * perBlock + 1]).concat([params.length - 2, params.length - 1]);
      const { algorithm, extra } = mamlpp(params, { innerLr: c.innerLr, innerSteps: c.innerSteps, learnedLr: 'per-layer-per-step', adapt, ...(c.msl === undefined ? {} : { msl: { iterations: c.msl } }) }, 'FewShotTrainer');
      this.plus = algorithm;
      if (c.runningStats === true) this.stats = stepStatisticsOf(model, trainClasses, c, params);
      const schedule = c.minOuterLr === undefined ? undefined : cosineAnnealing(c.outerLr ?? 1e-3, c.minOuterLr, c.iterations);
      const trained = this.stats === null ? algorithm : this.recordingAlgorithm(algorithm);
      this.learner = new MetaLearner(model, [...params, ...extra], trained, new Adam({ lr: c.outerLr ?? 1e-3 }), { schedule });
    } else {
      this.innerAdam = null;
      const settings: MamlSettings = { ...mamlTaskSettings(c), tail: 'separate' };
      this.learner = new MetaLearner(model, params, maml(settings, 'FewShotTrainer'), new Adam({ lr: c.outerLr ?? 1e-3 }));
    }
  }

  /**
   * `algorithm` with each task's forward passes recording their batch moments (kept by task for
   * {@link recording}), here and on worker threads alike.
   */
  private recordingAlgorithm(algorithm: MamlppAlgorithm): MetaAlgorithm {
    const taskGradient = (model: Model, params: readonly Tensor[], task: Task, context?: MetaContext): MetaGradient => {
      const records: MomentRecord[] = [];
      const g = algorithm.taskGradient(recordingMoments(model, records), params, task, context);
      this.recorded.set(task, records);
      return g;
    };
    return {
      name: algorithm.name,
      taskGradient,
      workerSettings: { ...algorithm.workerSettings, recordMoments: true },
      metaGradient: (model, params, tasks, context) => meanGradient(tasks.map((t) => taskGradient(model, params, t, context))),
    };
  }

  /** The current meta-parameters φ. */
  get params(): Tensor[] {
    return this.learner.params;
  }
  set params(p: Tensor[]) {
    this.learner.params = p;
  }

  /** Meta-iterations done. */
  get iteration(): number {
    return this.learner.iteration;
  }

  /** The training tasks of one meta-iteration, drawn in task order from the training generator. */
  private sampleTasks(): Task[] {
    const c = this.config;
    if (c.method !== 'reptile') return Array.from({ length: c.metaBatch }, () => episodeTask(sampleEpisode(this.trainClasses, c.nWay, c.kShot, c.queryPerClass ?? 1, this.rng)));
    const shots = c.trainShots ?? c.kShot;
    return Array.from({ length: c.metaBatch }, () => {
      const ep = sampleEpisode(this.trainClasses, c.nWay, shots, 0, this.rng);
      const order = this.rng.shuffle(Array.from({ length: ep.ySupport.length }, (_, i) => i));
      return episodeTask(ep, { innerBatch: c.innerBatch ?? c.nWay * shots, order });
    });
  }

  /**
   * Runs `fn` (a step); if it throws or its promise rejects (a gradient that is NaN or infinite,
   * which the optimisers refuse, or a worker that failed), the sampler is put back as it was; the
   * learner restores the rest itself, so the state may still be saved and the run resumed.
   */
  private keepingSampler<T>(fn: () => T): T {
    const rng = this.rng.getState();
    const undo = (e: unknown): never => {
      this.rng.setState(rng);
      throw e;
    };
    try {
      const r = fn();
      return (r instanceof Promise ? r.catch(undo) : r) as T;
    } catch (e) {
      return undo(e);
    }
  }

  /**
   * One meta-iteration; returns the mean training loss it saw (MAML: the query loss after
   * adaptation; Reptile: the inner losses). If it throws, the trainer is left as it was.
   */
  step(): number {
    return this.keepingSampler(() => this.recording(this.sampleTasks(), (tasks) => this.learner.step(tasks)));
  }

  /**
   * Runs `step` on `tasks`; with running statistics kept, then folds in the batch moments each
   * task's forward passes recorded, in task order (whichever thread computed it), once the step
   * has succeeded.
   */
  private recording<T>(tasks: Task[], step: (tasks: Task[]) => T): T {
    const stats = this.stats;
    if (stats === null) return step(tasks);
    const finish = (result: T): T => {
      const records = tasks.map((t, i) => this.recorded.get(t) ?? fail(`no thread recorded the batch moments of task ${i}`));
      this.recorded.clear();
      stats.apply(records.flat());
      return result;
    };
    const fail = (msg: string): never => {
      throw new Error(`FewShotTrainer: ${msg}`);
    };
    try {
      const r = step(tasks);
      return (r instanceof Promise ? r.then(finish, (e: unknown) => (this.recorded.clear(), Promise.reject(e))) : finish(r)) as T;
    } catch (e) {
      this.recorded.clear();
      throw e;
    }
  }

  /** `offload` with the batch moments in its results kept by task, for {@link recording}. */
  private keepingMoments(offload: MetaGradientOffload): MetaGradientOffload {
    // Checked before the learner steps: a result without its moments fails the step cleanly.
    const keep = (tasks: readonly Task[], i: number, g: MetaGradient): void => {
      if (g.moments === undefined) throw new Error(`FewShotTrainer: the offload returned the meta-gradient of task ${i} without the batch moments its forward passes saw (runningStats needs an offload that records them, as TaskWorkers does)`);
      this.recorded.set(tasks[i]!, g.moments);
    };
    return {
      share: (n) => offload.share(n),
      ...(offload.settle === undefined ? {} : { settle: () => offload.settle!() }),
      compute: async (params, tasks, settings, context) => {
        const gs = await offload.compute(params, tasks, settings, context);
        gs.forEach((g, i) => keep(tasks, i, g));
        return gs;
      },
      ...(offload.claim === undefined
        ? {}
        : {
            claim: (params, tasks, settings, context) => {
              const c = offload.claim!(params, tasks, settings, context);
              if (c === null) return null;
              const results = c.results.then((m) => {
                m.forEach((g, i) => keep(tasks, i, g));
                return m;
              });
              return { next: () => c.next(), results };
            },
          }),
    };
  }


  /**
   * One meta-iteration with the per-task meta-gradients shared between this thread and
   * `offload` (other threads, say {@link TaskWorkers} from `metagrad/node`), as
   * {@link MetaLearner.stepAsync} shares them. The tasks are drawn, and their gradients summed,
   * in the same order as {@link step}, so the new weights are bit-identical to it. If it throws
   * (a worker failed), the trainer is left as it was. Reptile (whose tasks share one inner Adam
   * state and so run in order) and an absent `offload` take {@link step}.
   */
  async stepAsync(offload?: MetaGradientOffload): Promise<number> {
    if (offload === undefined || this.config.method === 'reptile') return this.step();
    const via = this.stats === null ? offload : this.keepingMoments(offload);
    return this.keepingSampler(() => this.recording(this.sampleTasks(), (tasks) => this.learner.stepAsync(tasks, via)));
  }

  /**
   * Accuracy over `episodes` new N-way K-shot episodes (one query per class) from `classes`,
   * after `evalSteps` adaptation steps; batch norm transductive (`true`: the query images in one
   * batch), not (`false`: the support set and one query image), or with MAML++'s per-step running
   * statistics (`'running-stats'`: each image on its own; needs `runningStats`). Reptile's inner Adam
   * state is saved and restored around each episode; the sampler is `rng` (not the training one;
   * default: the library-wide generator). `onEpisode(done)` is called after each episode.
   */
  evaluate(classes: readonly OmniglotClass[], episodes: number, transductive: boolean | 'running-stats', rng?: Rng, onEpisode?: (done: number) => void): MeanCI {
    checkInteger('FewShotTrainer.evaluate: episodes', episodes);
    if (typeof transductive !== 'boolean' && transductive !== 'running-stats') throw new TypeError(`FewShotTrainer.evaluate: transductive must be true, false or 'running-stats', got ${showValue(transductive)}`);
    if (transductive === 'running-stats' && this.stats === null) throw new RangeError("FewShotTrainer.evaluate: 'running-stats' needs a MAML++ configuration with runningStats: true");
    const sampler = rngOption('FewShotTrainer.evaluate', rng);
    if (classes.length < this.config.nWay) throw new RangeError(`FewShotTrainer.evaluate: ${classes.length} classes cannot make ${this.config.nWay}-way episodes`);
    const accs: number[] = [];
    for (let e = 0; e < episodes; e++) {
      accs.push(tidy(() => this.evaluateEpisode(classes, transductive, sampler)));
      onEpisode?.(e + 1);
    }
    return meanCI(accs);
  }

  /**
   * Accuracy and calibration on `episodes` new episodes of `classes` (transductive): the
   * adapted classifier's softmax on every query, pooled, in `bins` confidence bins.
   */
  calibration(classes: readonly OmniglotClass[], episodes: number, rng?: Rng, bins = 10): Calibration {
    checkInteger('FewShotTrainer.calibration: episodes', episodes);
    const sampler = rngOption('FewShotTrainer.calibration', rng);
    const probs: Float64Array[] = [];
    const labels: number[] = [];
    for (let e = 0; e < episodes; e++) {
      tidy(() => {
        const { ep, adapted } = this.adaptToEpisode(classes, true, sampler);
        const logits = noGrad(() => this.model.forward(adapted, ep.xQuery, { step: this.config.evalSteps }));
        probs.push(...classProbabilities(reshape(logits, [1, ...logits.shape])));
        labels.push(...ep.yQuery);
      });
    }
    return calibration(probs, labels, bins);
  }

  /** A new episode and the parameters adapted to it, as {@link evaluate} adapts them. */
  private adaptToEpisode(classes: readonly OmniglotClass[], transductive: boolean | 'running-stats', rng: Rng): { ep: Episode; task: Task; adapted: Tensor[]; model: Model } {
    const c = this.config;
    // With running statistics each image is normalised on its own, so the queries may share a batch.
    const model = transductive === 'running-stats' ? this.stats!.model(this.model as NormalizedModel) : this.model;
    const ep = sampleEpisode(classes, c.nWay, c.kShot, 1, rng);
    const n = ep.ySupport.length;
    const b = c.evalBatch ?? n;
    const order = b < n ? rng.shuffle(Array.from({ length: n }, (_, i) => i)) : undefined;
    const task = episodeTask(ep, { transductive: transductive !== false, ...(order === undefined ? {} : { innerBatch: b, order }) });
    const how = this.innerAdam !== null ? { steps: c.evalSteps, optimizer: this.innerAdam } : { steps: c.evalSteps, lr: c.innerLr };
    // MAML++ adapts with its learned step sizes, and only what its inner loop adapts.
    const adapted = this.plus !== null ? this.plus.adapt(model, this.params, task, c.evalSteps) : adaptRestoring(model, this.params, task, how).params;
    return { ep, task, adapted, model };
  }

  /** Accuracy on one new episode, as {@link evaluate} describes. */
  private evaluateEpisode(classes: readonly OmniglotClass[], transductive: boolean | 'running-stats', rng: Rng): number {
    const c = this.config;
    const { task, adapted, model } = this.adaptToEpisode(classes, transductive, rng);
    try {
      return task.score(model, adapted, c.evalSteps)[0]!;
    } catch (e) {
      if (e instanceof RangeError && /logits hold NaN/.test(e.message)) {
        throw new RangeError(`FewShotTrainer.evaluate: the adapted classifier's logits hold NaN (its ${c.evalSteps} adaptation steps of ${c.innerLr} diverged, or the weights hold NaN)`);
      }
      throw e;
    }
  }

  /** Everything needed to resume: tensors (parameters, optimiser moments) and string metadata. */
  getState(): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
    const s = this.learner.getState({ rng: this.rng.getState(), config: this.config });
    return this.stats === null ? s : { tensors: { ...s.tensors, ...this.stats.getState() }, metadata: s.metadata };
  }

  /**
   * Restores a state from {@link getState} (after a safetensors round trip, say). Everything is
   * checked before anything changes: a checkpoint that is refused leaves the trainer as it was.
   */
  setState(state: { tensors: Record<string, Tensor>; metadata: Record<string, string> }): void {
    const stats = this.stats;
    const meta = this.learner.setState(state, 'FewShotTrainer', (m, fail) => {
      sameRun(this.config)(m, fail);
      if (stats === null) return;
      try {
        stats.checkState(state.tensors);
      } catch (e) {
        fail((e as Error).message);
      }
    });
    stats?.setState(state.tensors);
    this.rng.setState(meta.rng as number[]);
  }
}
