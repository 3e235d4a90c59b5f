/**
 * The Reptile paper's Figure 3 (§6.2): learning curves of the outer update Σᵢ cᵢgᵢ for
 * combinations of the gradients g₁ … g₄ met on four non-overlapping inner mini-batches, on
 * Omniglot 5-way 5-shot, with plain SGD inside and outside and no meta-batch.
 *
 * The paper gives neither step sizes nor batch sizes for it. Its §6.3 (Figure 4b: "for batch
 * sizes greater than 25, the final inner-loop batch … necessarily contains samples from the
 * previous batches", four inner iterations) implies 100 training images per task, 20 per class:
 * four disjoint mini-batches of 25. The step sizes are {@link FIGURE3_SETTINGS}'s choice: α = 0.1,
 * and an outer 0.03, at which the four-term sum still learns (at 0.1 it lost accuracy over its
 * first 300 iterations while g₄ gained).
 */
import type { Model } from '../nn/model.js';
import { SGD } from '../optim/sgd.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { adapt } from '../meta/adapt.js';
import { meanCI, type MeanCI } from '../meta/evaluate.js';
import { innerGradientFamily } from '../meta/family.js';
import { episodeTask, sampleEpisode, type OmniglotClass } from '../tasks/omniglot.js';
import { cyclingBatch } from '../meta/task.js';
import { MetaLearner, type LearnerState } from '../train/learner.js';
import { checkInteger, checkPositive, isRecord } from '../checks.js';

/**
 * How a task's k inner mini-batches are drawn (the Reptile paper's §6.3):
 * - 'cycling': consecutive slices of a shuffle of the task's rows, wrapping around (so the last
 *   batch overlaps the earlier ones once k·size exceeds the rows);
 * - 'replacement': every row of every batch drawn uniformly from all rows;
 * - 'separate-tail': the last batch is ⌈size/N⌉ rows of each of the N classes kept apart (cut to
 *   `size`), the first k − 1 cycle through the others, so the last never overlaps them.
 */
export type BatchScheme = 'cycling' | 'replacement' | 'separate-tail';

/** The rows of each of `k` mini-batches of `size` rows of a task whose rows have class `labels`, by `scheme`. */
export function miniBatches(scheme: BatchScheme, labels: ArrayLike<number>, k: number, size: number, rng: Rng): number[][] {
  checkInteger('miniBatches: k', k);
  checkInteger('miniBatches: size', size);
  const n = labels.length;
  const cycle = (rows: readonly number[], count: number): number[][] => {
    const order = rng.sample(rows.length, rows.length).map((i) => rows[i]!);
    return Array.from({ length: count }, (_, b) => cyclingBatch(order, b, size));
  };
  if (scheme === 'cycling') return cycle(Array.from({ length: n }, (_, i) => i), k);
  if (scheme === 'replacement') return Array.from({ length: k }, () => Array.from({ length: size }, () => rng.int(n)));
  if (scheme !== 'separate-tail') throw new RangeError(`miniBatches: scheme must be 'cycling', 'replacement' or 'separate-tail', got ${JSON.stringify(scheme)}`);
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const per = Math.ceil(size / classes.length);
  const tail: number[] = [];
  const rest: number[] = [];
  for (const c of classes) {
    const rows = Array.from(labels, (l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
    const shuffled = rng.sample(rows.length, rows.length).map((i) => rows[i]!);
    if (shuffled.length <= per) throw new RangeError(`miniBatches: a separate tail of ${size} rows takes ${per} of each class's ${shuffled.length}, leaving none for the other batches`);
    tail.push(...shuffled.slice(0, per));
    rest.push(...shuffled.slice(per));
  }
  return [...cycle(rest, k - 1), tail.slice(0, size)];
}

/** One curve of Figure 3: its label and the coefficients c₁ … c_k of Σ cᵢgᵢ (k inner steps). */
export interface Combination {
  label: string;
  coefficients: readonly number[];
}

/** The ten curves of Figure 3, in the paper's legend order. */
export const FIGURE3_COMBINATIONS: readonly Combination[] = Object.freeze([
  { label: 'g1', coefficients: [1] },
  { label: '½(g1+g2)', coefficients: [1 / 2, 1 / 2] },
  { label: 'g1+g2', coefficients: [1, 1] },
  { label: 'g2', coefficients: [0, 1] },
  { label: '⅓(g1+g2+g3)', coefficients: [1 / 3, 1 / 3, 1 / 3] },
  { label: 'g1+g2+g3', coefficients: [1, 1, 1] },
  { label: 'g3', coefficients: [0, 0, 1] },
  { label: '¼(g1+g2+g3+g4)', coefficients: [1 / 4, 1 / 4, 1 / 4, 1 / 4] },
  { label: 'g1+g2+g3+g4', coefficients: [1, 1, 1, 1] },
  { label: 'g4', coefficients: [0, 0, 0, 1] },
]);

/** The settings of a {@link CombinationCurve}. */
export interface CurveSettings {
  /** Meta-iterations (one task each). */
  iterations: number;
  /** Classes per task. */
  nWay: number;
  /** Images per class in a training task; the inner mini-batches cycle through them. */
  trainShots: number;
  /** Inner mini-batch size. */
  innerBatch: number;
  /** Inner SGD step size α, in training and at evaluation. */
  innerLr: number;
  /** Outer SGD step size. */
  outerLr: number;
  /** Shots per class of an evaluation episode. */
  evalShots: number;
  /** SGD steps on the whole support set at evaluation. */
  evalSteps: number;
  /** How the inner mini-batches are drawn (Figure 4); absent: cycling through a shuffle (Figure 3). */
  scheme?: BatchScheme;
}

/** Figure 3's settings: 40,000 iterations, 5-way, tasks of 100 images in four batches of 25, 5-shot evaluation. */
export const FIGURE3_SETTINGS: Readonly<CurveSettings> = Object.freeze({
  iterations: 40_000,
  nWay: 5,
  trainShots: 20,
  innerBatch: 25,
  innerLr: 0.1,
  outerLr: 0.03,
  evalShots: 5,
  evalSteps: 4,
});

function checkSettings(s: CurveSettings): void {
  for (const k of ['iterations', 'nWay', 'trainShots', 'innerBatch', 'evalShots', 'evalSteps'] as const) checkInteger(`CombinationCurve: ${k}`, s[k], k === 'evalSteps' ? 0 : 1);
  checkPositive('CombinationCurve: innerLr', s.innerLr);
  checkPositive('CombinationCurve: outerLr', s.outerLr);
}

/**
 * One curve: meta-trains `model` from `params` with the update Σ cᵢgᵢ (`innerGradientFamily`)
 * and plain SGD outside, one task per iteration, its mini-batches cycling through a fresh
 * shuffle of the task's images; evaluates transductively on new episodes; saves and restores its
 * whole state (weights, sampler, curve) for exact resume.
 */
export class CombinationCurve {
  /** The learner: the weights, the outer SGD and the iteration count. */
  readonly learner: MetaLearner;
  /** (iteration, test accuracy) points recorded by {@link record}. */
  readonly points: { iteration: number; accuracy: number }[] = [];
  private readonly rng: Rng;

  /**
   * @param model the network (the papers' Conv4)
   * @param params the initial weights
   * @param classes the training classes
   * @param combination the curve's Σ cᵢgᵢ
   * @param settings the experiment's settings
   * @param seed the task sampler's seed
   */
  constructor(
    /** The network. */
    readonly model: Model,
    params: Tensor[],
    private readonly classes: readonly OmniglotClass[],
    /** The curve's Σ cᵢgᵢ. */
    readonly combination: Combination,
    /** The experiment's settings. */
    readonly settings: Readonly<CurveSettings>,
    seed: number,
  ) {
    checkSettings(settings);
    this.rng = new Rng(seed);
    const algorithm = innerGradientFamily({ innerLr: settings.innerLr, coefficients: combination.coefficients }, 'CombinationCurve');
    this.learner = new MetaLearner(model, params, algorithm, new SGD(settings.outerLr));
  }

  /** Meta-iterations taken. */
  get iteration(): number {
    return this.learner.iteration;
  }

  /** One meta-iteration on a new training task; returns its loss before adaptation. */
  step(): number {
    const s = this.settings;
    const ep = sampleEpisode(this.classes, s.nWay, s.trainShots, 0, this.rng);
    const n = s.nWay * s.trainShots;
    if (s.scheme === undefined) return this.learner.step(episodeTask(ep, { innerBatch: s.innerBatch, order: this.rng.sample(n, n) }));
    return this.learner.step(episodeTask(ep, { batches: miniBatches(s.scheme, ep.ySupport, this.combination.coefficients.length, s.innerBatch, this.rng) }));
  }

  /** Transductive accuracy on `episodes` new `evalShots`-shot episodes from `classes`, sampled by `rng`. */
  evaluate(classes: readonly OmniglotClass[], episodes: number, rng: Rng): MeanCI {
    const s = this.settings;
    const accs: number[] = [];
    for (let e = 0; e < episodes; e++) {
      accs.push(
        tidy(() => {
          const task = episodeTask(sampleEpisode(classes, s.nWay, s.evalShots, 1, rng), { transductive: true });
          const adapted = adapt(this.model, this.learner.params, task, { steps: s.evalSteps, lr: s.innerLr }).params;
          return task.score(this.model, adapted)[0]!;
        }),
      );
    }
    return meanCI(accs);
  }

  /** Evaluates as {@link evaluate} and adds the point to the curve. */
  record(classes: readonly OmniglotClass[], episodes: number, rng: Rng): MeanCI {
    const r = this.evaluate(classes, episodes, rng);
    this.points.push({ iteration: this.iteration, accuracy: r.mean });
    return r;
  }

  /** The whole state: the learner's, plus the sampler, the combination and the curve. */
  getState(): LearnerState {
    return this.learner.getState({ rng: this.rng.getState(), combination: this.combination, settings: this.settings, points: this.points });
  }

  /** Restores a state from {@link getState}; refuses one of another combination or settings. */
  setState(state: LearnerState): void {
    const meta = this.learner.setState(state, 'CombinationCurve', (m, fail) => {
      if (JSON.stringify(m.combination) !== JSON.stringify(this.combination)) fail(`the checkpoint is of combination ${JSON.stringify(m.combination)}, not ${JSON.stringify(this.combination)}`);
      if (JSON.stringify(m.settings) !== JSON.stringify(this.settings)) fail(`the checkpoint was made with settings ${JSON.stringify(m.settings)}, not ${JSON.stringify(this.settings)}`);
      if (!Array.isArray(m.rng) || !Array.isArray(m.points) || !m.points.every((p) => isRecord(p) && typeof p.iteration === 'number' && typeof p.accuracy === 'number')) fail('its sampler state or curve is missing or damaged');
      new Rng(0).setState(m.rng as number[]); // checked on a scratch generator, so a refusal changes nothing
    });
    this.rng.setState(meta.rng as number[]);
    this.points.splice(0, this.points.length, ...(meta.points as { iteration: number; accuracy: number }[]));
  }
}

/** A line of Figure 4: the outer update (Reptile's Σgᵢ or FOMAML's last gᵢ) and how mini-batches are drawn. */
export interface Figure4Method {
  label: string;
  update: 'reptile' | 'fomaml';
  scheme: BatchScheme;
}

/** Figure 4's four lines, in the paper's legend order. */
export const FIGURE4_METHODS: readonly Figure4Method[] = Object.freeze([
  { label: 'Reptile (cycling)', update: 'reptile', scheme: 'cycling' },
  { label: 'FOMAML (separate-tail, cycling)', update: 'fomaml', scheme: 'separate-tail' },
  { label: 'FOMAML (shared-tail, replacement)', update: 'fomaml', scheme: 'replacement' },
  { label: 'FOMAML (shared-tail, cycling)', update: 'fomaml', scheme: 'cycling' },
] as const);

/** The coefficients of `update` over k mini-batches: all ones (Reptile), or the last gradient only (FOMAML). */
export function figure4Coefficients(update: Figure4Method['update'], k: number): number[] {
  return Array.from({ length: k }, (_, i) => (update === 'reptile' || i === k - 1 ? 1 : 0));
}

/** One point of Figure 4: a panel, a line, and the run's inner steps, batch size and outer step (x is the swept value). */
export interface Figure4Point {
  panel: 'a' | 'b' | 'c';
  method: Figure4Method;
  innerSteps: number;
  innerBatch: number;
  outerLr: number;
  x: number;
}

/**
 * Figure 4's runs on Figure 3's tasks (5-way, 20 images per class): (a) 1, 3, … 15 inner
 * mini-batches of 25; (b) four mini-batches of 10 … 100; (c) shared-tail FOMAML with four full
 * batches of 100 against the outer step, 2^−7.5 … 2^4.5. A separate tail needs images of every
 * class left for the other batches, so (b) has no separate-tail point at 100.
 */
export function figure4Points(): Figure4Point[] {
  const points: Figure4Point[] = [];
  const outerLr = FIGURE3_SETTINGS.outerLr;
  for (const method of FIGURE4_METHODS) {
    for (const k of [1, 3, 5, 7, 9, 11, 13, 15]) points.push({ panel: 'a', method, innerSteps: k, innerBatch: 25, outerLr, x: k });
    for (let b = 10; b <= 100; b += 10) {
      if (method.scheme === 'separate-tail' && Math.ceil(b / FIGURE3_SETTINGS.nWay) >= FIGURE3_SETTINGS.trainShots) continue;
      points.push({ panel: 'b', method, innerSteps: 4, innerBatch: b, outerLr, x: b });
    }
  }
  const sharedCycling = FIGURE4_METHODS[3]!;
  for (let e = -7.5; e <= 4.5; e += 1.5) points.push({ panel: 'c', method: sharedCycling, innerSteps: 4, innerBatch: 100, outerLr: 2 ** e, x: e });
  return points;
}

/**
 * What a figure needs of a finished run: its combination, settings, curve and time. Kept instead
 * of the run's checkpoint once it has finished (the weights are then of no further use, and
 * Figure 4's 80 checkpoints would take 36 MB).
 */
export interface FinishedRun {
  combination: Combination;
  settings: CurveSettings;
  points: { iteration: number; accuracy: number }[];
  seconds: number;
}

/** A finished run's record as JSON text. */
export function finishedRunJson(curve: CombinationCurve, seconds: number): string {
  const run: FinishedRun = { combination: curve.combination, settings: curve.settings, points: curve.points, seconds };
  return `${JSON.stringify(run, null, 1)}\n`;
}

/**
 * Reads a record from {@link finishedRunJson}, refusing one of another combination or settings
 * than `combination` and `settings`, or whose curve does not reach `settings.iterations`; `file`
 * names it in errors.
 */
export function readFinishedRun(text: string, combination: Combination, settings: CurveSettings, file: string): FinishedRun {
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  let run: unknown;
  try {
    run = JSON.parse(text);
  } catch {
    return fail('not valid JSON (a damaged record of a finished run)');
  }
  if (!isRecord(run)) return fail('not a record of a finished run');
  if (JSON.stringify(run.combination) !== JSON.stringify(combination)) fail(`its combination is ${JSON.stringify(run.combination)}, not ${JSON.stringify(combination)}`);
  if (JSON.stringify(run.settings) !== JSON.stringify(settings)) fail(`its settings are ${JSON.stringify(run.settings)}, not ${JSON.stringify(settings)}`);
  const points = run.points;
  if (!Array.isArray(points) || points.length === 0 || !points.every((p) => isRecord(p) && Number.isInteger(p.iteration) && typeof p.accuracy === 'number' && p.accuracy >= 0 && p.accuracy <= 1)) {
    fail('its curve is missing or damaged');
  }
  const curve = points as FinishedRun['points'];
  if (curve[curve.length - 1]!.iteration !== settings.iterations) fail(`its curve ends at iteration ${curve[curve.length - 1]!.iteration}, not ${settings.iterations}`);
  if (typeof run.seconds !== 'number' || !(run.seconds >= 0)) fail(`its run time ${JSON.stringify(run.seconds)} is not a number of seconds`);
  return { combination, settings, points: curve, seconds: run.seconds as number };
}
