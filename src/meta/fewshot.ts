/**
 * Few-shot classification training on episodes (Omniglot), in the papers' two recipes, with a
 * complete, serialisable state so a stopped run resumes exactly:
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
import { noGrad } from '../autograd.js';
import { valueAndGrad } from '../functional.js';
import { checkModel, type Model } from '../nn/mlp.js';
import { add, sub } from '../ops/binary.js';
import { concat, slice } from '../ops/layout.js';
import { crossEntropy } from '../ops/loss.js';
import { scale } from '../ops/unary.js';
import { Adam } from '../optim/adam.js';

import { Rng, rngOption } from '../random.js';
import { allocData, Tensor, type TypedArray } from '../tensor.js';
import { sampleEpisode, type Episode, type OmniglotClass } from '../tasks/omniglot.js';
import { meanCI, type MeanCI } from './evaluate.js';
import { tidy } from '../tidy.js';
import { checkInteger, checkNonNegative, checkOptionsObject, checkPositive, describeValue, isRecord, showValue, type OptionKeys } from '../checks.js';
import { mamlGradient, type MetaGradient } from './inner.js';

/**
 * A few-shot classification setting: the algorithm and its hyperparameters. {@link PRESETS}
 * holds the papers' Omniglot settings; a trainer refuses a config with an invalid field.
 */
export interface FewShotConfig {
  /** Reptile (inner Adam with β1 = 0, ε update), second-order MAML, or first-order MAML. */
  method: 'reptile' | 'maml' | 'fomaml';
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
}

/** Throws an error naming the first field of `c` that is not a valid setting. */
const CONFIG_KEYS: OptionKeys<FewShotConfig> = {
  method: true, nWay: true, kShot: true, trainShots: true, queryPerClass: true, metaBatch: true, innerSteps: true, innerLr: true,
  innerBatch: true, metaStepSize: true, metaStepSizeFinal: true, outerLr: true, iterations: true, evalSteps: true, evalBatch: true,
};

function checkConfig(c: FewShotConfig): void {
  // A misspelt field (metabatch) would otherwise leave the real one missing or at the preset's value.
  checkOptionsObject('FewShotConfig', c, CONFIG_KEYS, "PRESETS['reptile-5way-1shot']");
  if (c.method !== 'reptile' && c.method !== 'maml' && c.method !== 'fomaml') throw new RangeError(`FewShotConfig.method must be 'reptile', 'maml' or 'fomaml', got '${String(c.method)}'`);
  const counts: [string, number | undefined, boolean][] = [
    ['nWay', c.nWay, true], ['kShot', c.kShot, true], ['metaBatch', c.metaBatch, true], ['innerSteps', c.innerSteps, true],
    ['iterations', c.iterations, true], ['evalSteps', c.evalSteps, true], ['trainShots', c.trainShots, false],
    ['queryPerClass', c.queryPerClass, false], ['innerBatch', c.innerBatch, false], ['evalBatch', c.evalBatch, false],
  ];
  for (const [name, v, required] of counts) {
    if (v !== undefined || required) checkInteger(`FewShotConfig.${name}`, v, name === 'evalSteps' ? 0 : 1);
  }
  for (const [name, v] of [['innerLr', c.innerLr], ['outerLr', c.outerLr], ['metaStepSize', c.metaStepSize]] as const) {
    if (v !== undefined) checkPositive(`FewShotConfig.${name}`, v);
  }
  if (c.metaStepSizeFinal !== undefined) checkNonNegative('FewShotConfig.metaStepSizeFinal', c.metaStepSizeFinal);
}

/** Row indices of mini-batch `step` of size `size`, cycling through `order`. */
function cyclingBatch(order: readonly number[], step: number, size: number): number[] {
  return Array.from({ length: size }, (_, j) => order[(step * size + j) % order.length]!);
}

/** The images and labels of one training task (an {@link Episode} without its classes). */
export type TaskEpisode = Pick<Episode, 'xSupport' | 'ySupport' | 'xQuery' | 'yQuery'>;

/** What one MAML task's meta-gradient depends on besides the model, weights and episode. */
export interface MamlTaskSettings {
  innerSteps: number;
  innerLr: number;
  firstOrder: boolean;
}

/** The {@link MamlTaskSettings} of a MAML or FOMAML configuration. */
export function mamlTaskSettings(c: FewShotConfig): MamlTaskSettings {
  return { innerSteps: c.innerSteps, innerLr: c.innerLr, firstOrder: c.method === 'fomaml' };
}

/**
 * One task's MAML (or FOMAML) meta-gradient at `params`: `innerSteps` SGD steps of size
 * `innerLr` on the support set, cross-entropy on the query set. Everything else the task made
 * is recycled (it runs in {@link tidy}).
 */
export function mamlTaskGradient(model: Model, params: readonly Tensor[], ep: TaskEpisode, s: MamlTaskSettings): MetaGradient {
  return tidy(() => {
    const inner = (p: Tensor[]) => crossEntropy(model.forward(p, ep.xSupport), ep.ySupport);
    const outerLoss = (p: Tensor[]) => crossEntropy(model.forward(p, ep.xQuery), ep.yQuery);
    return mamlGradient(params, Array(s.innerSteps).fill(inner), outerLoss, s.innerLr, { firstOrder: s.firstOrder });
  });
}

/**
 * Somewhere else to compute MAML task meta-gradients, for {@link FewShotTrainer.stepAsync}:
 * `share(n)` says how many of a meta-batch of `n` tasks to hand over, `compute` resolves to their
 * meta-gradients in the order given.
 */
export interface MetaGradientOffload {
  share(metaBatch: number): number;
  compute(params: readonly Tensor[], episodes: readonly TaskEpisode[], settings: MamlTaskSettings): Promise<MetaGradient[]>;
}

/**
 * The papers' Omniglot presets. Reptile: the hyper-parameters of the Reptile paper's appendix
 * (5-way: Adam 1e-3, 5 inner steps on batches of 10, 10 training shots, meta-batch 5, ε 1 → 0,
 * 100k iterations, 50 evaluation steps on batches of 5; 20-way: Adam 5e-4, 10 inner steps on
 * batches of 20, 200k iterations, evaluation batches of 10). In 5-way 1-shot the evaluation batch
 * is the whole support set, so it is left at its default. MAML: the MAML paper (meta-batch 32,
 * one step of α = 0.4, Adam 1e-3 outside).
 */
export const PRESETS: Readonly<Record<string, Readonly<FewShotConfig>>> = freezePresets({
  'reptile-5way-1shot': { method: 'reptile', nWay: 5, kShot: 1, trainShots: 10, metaBatch: 5, innerSteps: 5, innerBatch: 10, innerLr: 1e-3, metaStepSize: 1, metaStepSizeFinal: 0, iterations: 100_000, evalSteps: 50 },
  'reptile-5way-5shot': { method: 'reptile', nWay: 5, kShot: 5, trainShots: 10, metaBatch: 5, innerSteps: 5, innerBatch: 10, innerLr: 1e-3, metaStepSize: 1, metaStepSizeFinal: 0, iterations: 100_000, evalSteps: 50, evalBatch: 5 },
  'reptile-20way-1shot': { method: 'reptile', nWay: 20, kShot: 1, trainShots: 10, metaBatch: 5, innerSteps: 10, innerBatch: 20, innerLr: 5e-4, metaStepSize: 1, metaStepSizeFinal: 0, iterations: 200_000, evalSteps: 50, evalBatch: 10 },
  'reptile-20way-5shot': { method: 'reptile', nWay: 20, kShot: 5, trainShots: 10, metaBatch: 5, innerSteps: 10, innerBatch: 20, innerLr: 5e-4, metaStepSize: 1, metaStepSizeFinal: 0, iterations: 200_000, evalSteps: 50, evalBatch: 10 },
  'maml-5way-1shot': { method: 'maml', nWay: 5, kShot: 1, queryPerClass: 1, metaBatch: 32, innerSteps: 1, innerLr: 0.4, outerLr: 1e-3, iterations: 60_000, evalSteps: 3 },
  'maml-5way-5shot': { method: 'maml', nWay: 5, kShot: 5, queryPerClass: 5, metaBatch: 32, innerSteps: 1, innerLr: 0.4, outerLr: 1e-3, iterations: 60_000, evalSteps: 3 },
  'fomaml-5way-1shot': { method: 'fomaml', nWay: 5, kShot: 1, queryPerClass: 1, metaBatch: 32, innerSteps: 1, innerLr: 0.4, outerLr: 1e-3, iterations: 60_000, evalSteps: 3 },
});

/** The presets are shared by every caller: frozen, so no caller can change another's. */
function freezePresets(presets: Record<string, FewShotConfig>): Readonly<Record<string, Readonly<FewShotConfig>>> {
  for (const p of Object.values(presets)) Object.freeze(p);
  return Object.freeze(presets);
}

/** Rows `rows` of `x` along axis 0 (data plumbing, not differentiated). */
function selectRows(x: Tensor, rows: readonly number[]): Tensor {
  const per = x.size / x.shape[0]!;
  const out = allocData(x.dtype, rows.length * per);
  rows.forEach((r, i) => out.set(x.data.subarray(r * per, (r + 1) * per), i * per));
  return new Tensor(out, [rows.length, ...x.shape.slice(1)]);
}

/**
 * Meta-trains a classifier (e.g. `conv4`) on N-way K-shot episodes with a
 * {@link FewShotConfig}, evaluates it on new episodes in both batch-norm modes, and saves and
 * restores its whole state (parameters, optimiser moments, sampler) so that a stopped run
 * resumes exactly. Every episode is drawn from one generator seeded by `seed`.
 */
export class FewShotTrainer {
  /** The current meta-parameters (replaced, not mutated, by each step). */
  params: Tensor[];
  /** Meta-iterations done so far. */
  iteration = 0;
  /** The generator every training episode is drawn from (part of the saved state). */
  readonly rng: Rng;
  private readonly outer: Adam | null;
  private readonly inner: Adam | null;
  /** The configuration, a frozen copy of the one given (changing that one afterwards changes nothing here). */
  readonly config: Readonly<FewShotConfig>;

  /**
   * @param model the classifier, its head sized to `config.nWay`
   * @param trainClasses the classes training episodes are drawn from, e.g. `classesOf(train, true)`
   * @param config the algorithm and its settings (checked here)
   * @param seed seeds the initial weights and the episode sampler
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
    this.config = Object.freeze({ ...config });
    if (trainClasses.length < config.nWay) throw new RangeError(`FewShotTrainer: ${trainClasses.length} training classes cannot make ${config.nWay}-way episodes`);
    this.rng = new Rng(seed);
    this.params = model.init({ rng: this.rng });
    this.outer = config.method === 'reptile' ? null : new Adam({ lr: config.outerLr ?? 1e-3 });
    this.inner = config.method === 'reptile' ? new Adam({ lr: config.innerLr, beta1: 0 }) : null;
  }

  /**
   * One meta-iteration; returns the mean training loss it saw. If it throws (a gradient that is
   * NaN or infinite, say, which the optimisers refuse), the trainer is left as it was, sampler
   * and inner optimiser included, so its state may still be saved and the run resumed.
   */
  step(): number {
    const restore = this.snapshot();
    try {
      const loss = this.config.method === 'reptile' ? this.reptileStep() : this.mamlStep();
      this.iteration++;
      return loss;
    } catch (e) {
      restore();
      throw e;
    }
  }

  /** What a step changes before its end (the sampler, Reptile's inner Adam), to put back if it fails. */
  private snapshot(): () => void {
    const rng = this.rng.getState();
    const inner = this.inner?.getState();
    return () => {
      this.rng.setState(rng);
      if (inner !== undefined) this.inner!.setState(inner);
    };
  }

  private reptileStep(): number {
    const c = this.config;
    const shots = c.trainShots ?? c.kShot;
    const batch = c.innerBatch ?? c.nWay * shots;
    const eps = (c.metaStepSize ?? 1) + ((c.metaStepSizeFinal ?? 0) - (c.metaStepSize ?? 1)) * Math.min(1, this.iteration / c.iterations);
    let lossSum = 0;
    // Each inner step, each task and the whole iteration run in `tidy`: only the new weights
    // outlive them, so their activations and gradients are reused instead of reallocated.
    this.params = tidy(() => {
      let sum: Tensor[] | null = null;
      for (let t = 0; t < c.metaBatch; t++) {
        const phi = tidy(() => {
          const ep = sampleEpisode(this.trainClasses, c.nWay, shots, 0, this.rng);
          const order = this.rng.shuffle(Array.from({ length: ep.ySupport.length }, (_, i) => i));
          let phi = this.params;
          for (let k = 0; k < c.innerSteps; k++) {
            phi = tidy(() => {
              const rows = cyclingBatch(order, k, batch);
              const x = selectRows(ep.xSupport, rows);
              const y = rows.map((r) => ep.ySupport[r]!);
              const [loss, g] = valueAndGrad((p) => crossEntropy(this.model.forward(p, x), y))(phi.map((p) => p.detach()));
              lossSum += loss.item();
              return this.inner!.step(phi, g);
            });
          }
          return phi;
        });
        const prev: Tensor[] | null = sum;
        sum = prev === null ? phi : noGrad(() => phi.map((p, i) => add(p, prev[i]!)));
      }
      return noGrad(() => this.params.map((p, i) => add(p, scale(sub(scale(sum![i]!, 1 / c.metaBatch), p), eps))));
    });
    return lossSum / (c.metaBatch * c.innerSteps);
  }

  /**
   * One meta-iteration with MAML's per-task meta-gradients shared between this thread and
   * `offload` (other threads, say {@link TaskWorkers} from `metagrad/node`): the last
   * `offload.share(metaBatch)` tasks go there while this thread works through the first ones.
   * The tasks are drawn, and their gradients summed, in the same order as {@link step}, so the
   * new weights are bit-identical to it. If it throws (a worker failed), the trainer is left as
   * it was. Reptile (whose tasks share one inner Adam state and so run in order) and an absent
   * `offload` take {@link step}.
   */
  async stepAsync(offload?: MetaGradientOffload): Promise<number> {
    if (offload === undefined || this.config.method === 'reptile') return this.step();
    const c = this.config;
    const settings = mamlTaskSettings(c);
    const away = offload.share(c.metaBatch);
    if (!Number.isInteger(away) || away < 0 || away > c.metaBatch) throw new RangeError(`FewShotTrainer.stepAsync: offload.share(${c.metaBatch}) must be an integer in [0, ${c.metaBatch}], got ${away}`);
    // A failed step leaves the trainer as it was, sampler included, so its state may still be
    // saved and resumed as if the step had never started.
    const restore = this.snapshot();
    try {
      const episodes = this.sampleMamlEpisodes();
      const here = c.metaBatch - away;
      const remote = away > 0 ? offload.compute(this.params, episodes.slice(here), settings) : Promise.resolve([]);
      // If this thread's share throws, the remote promise must not be left to reject unheard.
      remote.catch(() => undefined);
      const local = episodes.slice(0, here).map((ep) => mamlTaskGradient(this.model, this.params, ep, settings));
      const results = [...local, ...(await remote)];
      if (results.length !== c.metaBatch) throw new Error(`FewShotTrainer.stepAsync: offload returned ${results.length - local.length} meta-gradients for ${away} tasks`);
      const { params, loss } = this.mamlUpdate(results);
      this.params = params;
      this.iteration++;
      return loss;
    } catch (e) {
      restore();
      throw e;
    }
  }

  private mamlStep(): number {
    const settings = mamlTaskSettings(this.config);
    // One scope for the iteration: only the new weights (and Adam's moments) outlive it.
    const { params, loss } = tidy(() => this.mamlUpdate(this.sampleMamlEpisodes().map((ep) => mamlTaskGradient(this.model, this.params, ep, settings))));
    this.params = params;
    return loss;
  }

  /** The meta-batch's episodes, drawn in task order from the training generator. */
  private sampleMamlEpisodes(): TaskEpisode[] {
    const c = this.config;
    return Array.from({ length: c.metaBatch }, () => sampleEpisode(this.trainClasses, c.nWay, c.kShot, c.queryPerClass ?? 1, this.rng));
  }

  /** Adam on the mean of the tasks' meta-gradients, summed in task order; and the mean loss. */
  private mamlUpdate(results: readonly MetaGradient[]): { params: Tensor[]; loss: number } {
    let lossSum = 0;
    for (const r of results) lossSum += r.loss;
    return tidy(() => {
      let sum: Tensor[] = results[0]!.grads;
      for (let t = 1; t < results.length; t++) {
        const prev = sum;
        sum = noGrad(() => results[t]!.grads.map((g, i) => add(g, prev[i]!)));
      }
      return { params: this.outer!.step(this.params, noGrad(() => sum.map((g) => scale(g, 1 / results.length)))), loss: lossSum / results.length };
    });
  }

  /**
   * Accuracy over `episodes` new N-way K-shot episodes (one query per class) from `classes`,
   * after `evalSteps` adaptation steps; batch norm transductive or not. Reptile's inner Adam
   * state is saved and restored around each episode; the sampler is `rng` (not the training one;
   * default: the library-wide generator).
   */
  evaluate(classes: readonly OmniglotClass[], episodes: number, transductive: boolean, rng?: Rng): MeanCI {
    checkInteger('FewShotTrainer.evaluate: episodes', episodes);
    if (typeof transductive !== 'boolean') throw new TypeError(`FewShotTrainer.evaluate: transductive must be true or false, got ${showValue(transductive)}`);
    const sampler = rngOption('FewShotTrainer.evaluate', rng);
    if (classes.length < this.config.nWay) throw new RangeError(`FewShotTrainer.evaluate: ${classes.length} classes cannot make ${this.config.nWay}-way episodes`);
    const accs: number[] = [];
    for (let e = 0; e < episodes; e++) accs.push(tidy(() => this.evaluateEpisode(classes, transductive, sampler)));
    return meanCI(accs);
  }

  /** Accuracy on one new episode, as {@link evaluate} describes. */
  private evaluateEpisode(classes: readonly OmniglotClass[], transductive: boolean, rng: Rng): number {
    const c = this.config;
    const ep = sampleEpisode(classes, c.nWay, c.kShot, 1, rng);
    const saved = this.inner?.getState();
    let phi = this.params;
    const n = ep.ySupport.length;
    const b = c.evalBatch ?? n;
    const order = b < n ? rng.shuffle(Array.from({ length: n }, (_, i) => i)) : null;
    try {
      for (let k = 0; k < c.evalSteps; k++) {
        let x = ep.xSupport;
        let y: Int32Array | number[] = ep.ySupport;
        if (order !== null) {
          const rows = cyclingBatch(order, k, b);
          x = selectRows(ep.xSupport, rows);
          y = rows.map((r) => ep.ySupport[r]!);
        }
        const from = phi;
        phi = tidy(() => {
          const [, g] = valueAndGrad((p) => crossEntropy(this.model.forward(p, x), y))(from.map((p) => p.detach()));
          return this.inner !== null ? this.inner.step(from, g) : noGrad(() => from.map((p, i) => sub(p, scale(g[i]!, c.innerLr))));
        });
      }
    } finally {
      // Adaptation to a test episode must never leak into training, even when it fails.
      if (this.inner !== null) this.inner.setState(saved);
    }
    const q = ep.yQuery.length;
    // NaN logits have no largest entry: scoring them would report chance-level guesses as accuracy.
    const argmax = (logits: Tensor): number[] => {
      if (logits.data.some(Number.isNaN)) throw new RangeError(`FewShotTrainer.evaluate: the adapted classifier's logits hold NaN (its ${c.evalSteps} adaptation steps of ${c.innerLr} diverged, or the weights hold NaN)`);
      return argmaxRows(logits);
    };
    const predicted = noGrad(() => {
      if (transductive) return argmax(this.model.forward(phi, ep.xQuery));
      return Array.from({ length: q }, (_, i) => argmax(slice(this.model.forward(phi, concat([ep.xSupport, slice(ep.xQuery, 0, i, i + 1)], 0)), 0, n, n + 1))[0]!);
    });
    return predicted.filter((p, i) => p === ep.yQuery[i]).length / q;
  }

  /** Everything needed to resume: tensors (parameters, optimiser moments) and string metadata. */
  getState(): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
    const tensors: Record<string, Tensor> = {};
    this.params.forEach((p, i) => (tensors[`params.${i}`] = p));
    const meta: Record<string, unknown> = { iteration: this.iteration, rng: this.rng.getState(), config: this.config };
    for (const [name, opt] of [['outer', this.outer], ['inner', this.inner]] as const) {
      if (opt === null) continue;
      const s = opt.getState();
      meta[`${name}.t`] = s.t;
      s.m.forEach((m, i) => (tensors[`${name}.m.${i}`] = new Tensor(m, this.params[i]!.shape)));
      s.v.forEach((v, i) => (tensors[`${name}.v.${i}`] = new Tensor(v, this.params[i]!.shape)));
    }
    return { tensors, metadata: { metagrad: JSON.stringify(meta) } };
  }

  /**
   * Restores a state from {@link getState} (after a safetensors round trip, say). Everything is
   * checked before anything changes: a checkpoint that is refused leaves the trainer as it was.
   */
  setState(state: { tensors: Record<string, Tensor>; metadata: Record<string, string> }): void {
    const fail = (msg: string): never => {
      throw new Error(`FewShotTrainer.setState: ${msg}`);
    };
    if (!isRecord(state) || !isRecord(state.metadata) || !isRecord(state.tensors)) {
      throw new TypeError(`FewShotTrainer.setState: expected { tensors, metadata } as from getState() or loadSafetensors, got ${describeValue(state)}`);
    }
    const raw = state.metadata.metagrad;
    if (raw === undefined) return fail('not a metagrad checkpoint (no metagrad metadata)');
    let meta: unknown;
    try {
      meta = JSON.parse(raw);
    } catch {
      return fail("the 'metagrad' metadata is not valid JSON");
    }
    if (!isRecord(meta) || !isRecord(meta.config)) return fail("the 'metagrad' metadata holds no configuration");
    const saved = meta.config;
    const current = this.config as unknown as Record<string, unknown>;
    const differ = [...new Set([...Object.keys(saved), ...Object.keys(current)])].filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(current[k]));
    if (differ.length > 0) {
      fail(`the checkpoint was made with a different configuration (${differ.map((k) => `${k}: ${JSON.stringify(saved[k])} there, ${JSON.stringify(current[k])} here`).join('; ')})`);
    }
    const count = (key: string): number => {
      const v = meta[key];
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fail(`'${key}' is ${JSON.stringify(v)}, not a count`);
    };
    const iteration = count('iteration');
    const rng = meta.rng;
    try {
      new Rng(0).setState(rng as number[]); // checked on a scratch generator, so a refusal changes nothing
    } catch (e) {
      fail(`the sampler state is damaged (${(e as Error).message})`);
    }
    // Same shape, not just the same size: a transposed weight of the same size would load
    // silently wrong. Every value finite, and second moments not negative: a damaged file.
    const take = (name: string, like: Tensor, nonNegative = false): Tensor => {
      const t = state.tensors[name];
      if (t === undefined) return fail(`checkpoint lacks tensor '${name}'`);
      if (!(t instanceof Tensor)) return fail(`'${name}' is ${describeValue(t)}, not a Tensor`);
      if (t.dtype !== like.dtype || t.shape.length !== like.shape.length || t.shape.some((d, i) => d !== like.shape[i])) {
        fail(`tensor '${name}' is ${t.dtype} [${t.shape.join(', ')}], where the model has ${like.dtype} [${like.shape.join(', ')}]`);
      }
      const bad = t.data.findIndex((x) => !Number.isFinite(x) || (nonNegative && x < 0));
      if (bad >= 0) fail(`tensor '${name}' holds ${t.data[bad]} at flat index ${bad}${nonNegative ? ' (second moments are finite and ≥ 0)' : ' (not finite)'}: the file is damaged`);
      return t;
    };
    const params = this.params.map((p, i) => new Tensor(take(`params.${i}`, p).data, p.shape));
    const moments: [Adam, { t: number; m: TypedArray[]; v: TypedArray[] }][] = [];
    for (const [name, opt] of [['outer', this.outer], ['inner', this.inner]] as const) {
      if (opt === null) continue;
      const m = params.map((p, i) => take(`${name}.m.${i}`, p).data);
      const v = params.map((p, i) => take(`${name}.v.${i}`, p, true).data);
      moments.push([opt, { t: count(`${name}.t`), m, v }]);
    }
    this.params = params;
    for (const [opt, s] of moments) opt.setState(s);
    this.iteration = iteration;
    this.rng.setState(rng as number[]);
  }
}

function argmaxRows(logits: Tensor): number[] {
  const [n, k] = logits.shape as [number, number];
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits.data[i * k + j]! > logits.data[i * k + best]!) best = j;
    return best;
  });
}

