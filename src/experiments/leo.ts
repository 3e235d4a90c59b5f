/**
 * LEO on Omniglot embeddings: episodes of feature vectors (`featureEpisode`), the LEO algorithm
 * with Adam outside, evaluation with 95% intervals, and a state that saves and resumes exactly.
 */
import { leo, type LeoAlgorithm, type LeoSettings } from '../meta/leo.js';
import { meanCI, type MeanCI } from '../meta/evaluate.js';
import { Adam } from '../optim/adam.js';
import { Rng, rngOption } from '../random.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { MetaLearner, sameRun } from '../train/learner.js';
import { checkInteger, checkOptionsObject, checkPositive, describeValue, isRecord, type OptionKeys } from '../checks.js';
import { featureEpisode, unitLength } from './embeddings.js';

/** A LEO setting on Omniglot: the episodes, the outer loop and LEO's own settings. */
export interface LeoConfig {
  nWay: number;
  kShot: number;
  /** Query images per class in training and evaluation. */
  queryPerClass: number;
  /** Tasks per meta-iteration. */
  metaBatch: number;
  iterations: number;
  /** Adam's learning rate outside. */
  outerLr: number;
  /** LEO's settings besides `ways` and `features` (which the episodes and embeddings fix) and `seed` (the trainer's). */
  leo: Omit<LeoSettings, 'ways' | 'features' | 'seed'>;
}

const CONFIG_KEYS: OptionKeys<LeoConfig> = { nWay: true, kShot: true, queryPerClass: true, metaBatch: true, iterations: true, outerLr: true, leo: true };

/**
 * Omniglot presets: the LEO authors' published settings (latent size 64, 5 latent and 5
 * fine-tuning steps, α₀ = 1, η₀ = 0.001, β = 0.001, γ = 1e-9, λ₁ = 1e-8, λ₂ = 0.001, gradient
 * clipping at 0.1, meta-batch 12, 15 queries per class; 5 with 5 shots, as an Omniglot character
 * has 20 drawings), with dropout 0.3 on the 256 features and Adam 5e-4 for 20,000 iterations
 * (the authors' 1e-4 over 100,000).
 */
export const LEO_PRESETS: Readonly<Record<string, Readonly<LeoConfig>>> = Object.freeze(
  Object.fromEntries(
    ([[5, 1], [5, 5], [20, 1], [20, 5]] as const).map(([n, k]) => [
      `leo-${n}way-${k}shot`,
      Object.freeze({ nWay: n, kShot: k, queryPerClass: 15, metaBatch: 12, iterations: 20_000, outerLr: 5e-4, leo: Object.freeze({ dropout: 0.3 }) }),
    ]),
  ),
);

/**
 * Meta-trains LEO on episodes drawn from `embeddings` (`[classes, drawers, features]`, the
 * training classes'), evaluates on other classes' embeddings, and saves and restores its whole
 * state. Every episode and all training noise come from generators seeded by `seed`.
 */
export class LeoTrainer {
  /** The configuration (a frozen copy of the one given). */
  readonly config: Readonly<LeoConfig>;
  /** LEO with the configuration's settings. */
  readonly algorithm: LeoAlgorithm;
  /** The training loop: LEO's meta-parameters and Adam. */
  readonly learner: MetaLearner;
  private readonly rng: Rng;

  /** The training classes' embeddings, each feature vector scaled to unit length. */
  readonly embeddings: Tensor;

  /**
   * @param embeddings the training classes' embeddings `[classes, drawers, features]`; LEO sees
   *   them scaled to unit length (so the latent loop's step sizes do not depend on the
   *   embedding network's scale)
   * @param config the episodes and settings ({@link LEO_PRESETS})
   * @param seed seeds the initial weights, every episode and the training noise
   */
  constructor(embeddings: Tensor, config: LeoConfig, seed: number) {
    if (!isRecord(config)) throw new TypeError(`LeoTrainer: config must be a LeoConfig object (see LEO_PRESETS), got ${describeValue(config)}`);
    checkOptionsObject('LeoConfig', config, CONFIG_KEYS, "LEO_PRESETS['leo-5way-1shot']");
    for (const k of ['nWay', 'kShot', 'queryPerClass', 'metaBatch', 'iterations'] as const) checkInteger(`LeoConfig.${k}`, config[k]);
    checkPositive('LeoConfig.outerLr', config.outerLr);
    if (embeddings.ndim !== 3) throw new RangeError(`LeoTrainer: embeddings must be [classes, drawers, features], got ${embeddings.ndim} dimensions`);
    this.config = Object.freeze({ ...config });
    this.embeddings = unitLength(embeddings);
    this.rng = new Rng(seed);
    this.algorithm = leo({ ...config.leo, ways: config.nWay, features: embeddings.shape[2]!, seed }, 'LeoTrainer');
    this.learner = new MetaLearner(this.algorithm.classifier, this.algorithm.init({ rng: this.rng }), this.algorithm, new Adam({ lr: config.outerLr }));
  }

  /** Meta-iterations done. */
  get iteration(): number {
    return this.learner.iteration;
  }

  /** The current meta-parameters. */
  get params(): Tensor[] {
    return this.learner.params;
  }

  /** One meta-iteration on `metaBatch` new episodes; returns the mean objective. If it throws, the trainer is left as it was. */
  step(): number {
    const c = this.config;
    const saved = this.rng.getState();
    try {
      return this.learner.step(Array.from({ length: c.metaBatch }, () => featureEpisode(this.embeddings, c.nWay, c.kShot, c.queryPerClass, this.rng)));
    } catch (e) {
      this.rng.setState(saved);
      throw e;
    }
  }

  /** Query accuracy on `episodes` new episodes of `embeddings` (other classes; scaled to unit length as in training), adapted without noise; `rng` draws them. */
  evaluate(embeddings: Tensor, episodes: number, rng?: Rng, onEpisode?: (done: number) => void): MeanCI {
    checkInteger('LeoTrainer.evaluate: episodes', episodes);
    const sampler = rngOption('LeoTrainer.evaluate', rng);
    const c = this.config;
    const normalised = unitLength(embeddings);
    const accs: number[] = [];
    for (let e = 0; e < episodes; e++) {
      accs.push(
        tidy(() => {
          const task = featureEpisode(normalised, c.nWay, c.kShot, c.queryPerClass, sampler);
          return task.score(this.algorithm.classifier, [this.algorithm.adapt(this.algorithm.classifier, this.params, task)])[0]!;
        }),
      );
      onEpisode?.(e + 1);
    }
    return meanCI(accs);
  }

  /** Everything needed to resume (parameters, Adam's moments, the sampler, the configuration). */
  getState(): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
    return this.learner.getState({ rng: this.rng.getState(), config: this.config });
  }

  /** Restores a state from {@link getState}; a refused one leaves the trainer as it was. */
  setState(state: { tensors: Record<string, Tensor>; metadata: Record<string, string> }): void {
    const meta = this.learner.setState(state, 'LeoTrainer', sameRun(this.config));
    this.rng.setState(meta.rng as number[]);
  }
}
