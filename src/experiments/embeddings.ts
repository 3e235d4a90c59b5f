/**
 * Omniglot embeddings for LEO: the body of a Conv4 trained by ordinary supervised classification
 * on the meta-training classes alone (every one of them a class of one softmax, as LEO's
 * embeddings come from a network trained on the meta-training classes of Mini-ImageNet), then
 * every image of every split mapped to its feature vector once.
 *
 * Batch norm trains with batch statistics; the features are computed with fixed statistics of
 * training images (averaged over chunks), so an image's feature never depends on the images
 * beside it, nor on any test class.
 */
import { grad, noGrad } from '../autograd.js';
import { conv4, type BlockStats, type Conv4Model } from '../nn/conv4.js';
import { crossEntropy } from '../ops/loss.js';
import { add, sub } from '../ops/binary.js';
import { scale, square } from '../ops/unary.js';
import { Adam } from '../optim/adam.js';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { rotate, type OmniglotClass } from '../tasks/omniglot.js';
import { checkInteger, checkOptionsObject, checkPositive, type OptionKeys } from '../checks.js';
import { supervisedTask, type SupervisedTask } from '../meta/task.js';

/** How the embedding network is trained. */
export interface EmbeddingSettings {
  /** Passes over every training image. Default 6. */
  epochs?: number;
  /** Images per mini-batch. Default 100. */
  batch?: number;
  /** Adam's learning rate. Default 1e-3. */
  lr?: number;
  /** Training images the fixed batch-norm statistics are averaged over. Default 2000. */
  statsImages?: number;
}

const EMBEDDING_SETTINGS: OptionKeys<EmbeddingSettings> = { epochs: true, batch: true, lr: true, statsImages: true };

/** `settings` with the defaults filled in, checked (errors name the field). */
export function embeddingSettings(settings: EmbeddingSettings = {}): Readonly<Required<EmbeddingSettings>> {
  checkOptionsObject('EmbeddingTrainer', settings, EMBEDDING_SETTINGS, '{ epochs: 6, batch: 100 }');
  const s = Object.freeze({ epochs: 6, batch: 100, lr: 1e-3, statsImages: 2000, ...settings });
  for (const k of ['epochs', 'batch', 'statsImages'] as const) checkInteger(`EmbeddingTrainer: ${k}`, s[k]);
  checkPositive('EmbeddingTrainer: lr', s.lr);
  return s;
}

/** One image of a class: the class's index and a drawer (0 … 19). */
type ImageRef = [number, number];

/** The images `refs` of `classes` (rotated as their class says), NHWC. */
function images(classes: readonly OmniglotClass[], refs: readonly ImageRef[]): Tensor {
  const first = classes[refs[0]![0]]!.character.images[0]!;
  const side = Math.round(Math.sqrt(first.length));
  const out = new Float32Array(refs.length * first.length);
  refs.forEach(([c, d], i) => {
    const cls = classes[c]!;
    out.set(rotate(cls.character.images[d]!, side, cls.rotation), i * first.length);
  });
  return new Tensor(out, [refs.length, side, side, 1]);
}

/**
 * Trains the embedding network: a strided Conv4 whose head has one output per training class,
 * by Adam on cross-entropy over shuffled mini-batches of every training image, then gives the
 * feature vectors of any classes' images ({@link embed}).
 */
export class EmbeddingTrainer {
  /** The network: a strided Conv4 with one output per training class. */
  readonly model: Conv4Model;
  /** The settings, defaults filled in. */
  readonly settings: Readonly<Required<EmbeddingSettings>>;
  /** The network's current parameters. */
  params: Tensor[];
  /** Mini-batches taken. */
  iteration = 0;
  private readonly optimizer: Adam;
  private readonly rng: Rng;
  private order: ImageRef[] = [];
  private readonly all: ImageRef[];

  /**
   * @param classes the training classes (each a class of the softmax)
   * @param settings how to train ({@link embeddingSettings} fills in the defaults)
   * @param seed seeds the initial weights and the shuffles
   */
  constructor(
    /** The training classes. */
    readonly classes: readonly OmniglotClass[],
    settings: EmbeddingSettings = {},
    seed = 0,
  ) {
    const s = (this.settings = embeddingSettings(settings));
    if (classes.length < 2) throw new RangeError(`EmbeddingTrainer: supervised training needs at least 2 classes, got ${classes.length}`);
    this.rng = new Rng(seed);
    this.model = conv4({ classes: classes.length });
    this.params = this.model.init({ rng: this.rng });
    this.optimizer = new Adam({ lr: s.lr });
    this.all = classes.flatMap((c, i) => c.character.images.map((_, d): ImageRef => [i, d]));
  }

  /** Mini-batches per epoch. */
  get stepsPerEpoch(): number {
    return Math.ceil(this.all.length / this.settings.batch);
  }

  /** Mini-batches of the whole training. */
  get steps(): number {
    return this.settings.epochs * this.stepsPerEpoch;
  }

  /** One Adam step on the next mini-batch (a new shuffle every epoch); returns its loss. */
  step(): number {
    const b = this.settings.batch;
    const at = (this.iteration % this.stepsPerEpoch) * b;
    if (at === 0) this.order = this.rng.shuffle([...this.all]);
    const refs = this.order.slice(at, at + b);
    const labels = Int32Array.from(refs, ([c]) => c);
    const x = images(this.classes, refs);
    const { grads, loss } = tidy(() => {
      const leaves = this.params.map((p) => new Tensor(p.data, p.shape, true));
      const l = crossEntropy(this.model.forward(leaves, x), labels);
      return { grads: grad(l, leaves), loss: l.item() };
    });
    this.params = this.optimizer.step(this.params, grads);
    this.iteration++;
    return loss;
  }

  /**
   * Fixed batch-norm statistics: each block's mean and variance over `statsImages` training
   * images (drawn by `rng`), averaged over chunks of at most 500.
   */
  statistics(rng = new Rng(1)): BlockStats[] {
    const picks = rng.sample(this.all.length, Math.min(this.settings.statsImages, this.all.length)).map((i) => this.all[i]!);
    const chunks: ImageRef[][] = [];
    for (let i = 0; i < picks.length; i += 500) chunks.push(picks.slice(i, i + 500));
    return noGrad(() => {
      // E[x] and E[x²] per block, weighted by chunk size.
      const sums: { mean: Tensor; square: Tensor }[] = [];
      for (const chunk of chunks) {
        const w = chunk.length / picks.length;
        this.model.moments(this.params, images(this.classes, chunk)).forEach((b, i) => {
          const [m, sq] = [scale(b.mean, w), scale(add(b.variance, square(b.mean)), w)];
          const prev = sums[i];
          sums[i] = prev === undefined ? { mean: m, square: sq } : { mean: add(prev.mean, m), square: add(prev.square, sq) };
        });
      }
      return sums.map((b) => ({ mean: b.mean, variance: sub(b.square, square(b.mean)) }));
    });
  }

  /** The feature vectors of every image of `classes`, `[classes, drawers, features]`, with fixed statistics `stats`. */
  embed(classes: readonly OmniglotClass[], stats: readonly BlockStats[], onClass?: (done: number) => void): Tensor {
    const drawers = classes.length === 0 ? 0 : classes[0]!.character.images.length;
    const size = this.model.featureSize;
    const out = new Float32Array(classes.length * drawers * size);
    classes.forEach((_, c) => {
      const refs = Array.from({ length: drawers }, (_, d): ImageRef => [c, d]);
      tidy(() => out.set(noGrad(() => this.model.features(this.params, images(classes, refs), { stats })).data, c * drawers * size));
      onClass?.(c + 1);
    });
    return new Tensor(out, [classes.length, drawers, size]);
  }
}

/** `embeddings` with every feature vector (along the last axis) scaled to unit length; zero vectors stay zero. */
export function unitLength(embeddings: Tensor): Tensor {
  const size = embeddings.shape[embeddings.ndim - 1]!;
  const out = Float32Array.from(embeddings.data);
  for (let o = 0; o < out.length; o += size) {
    let sq = 0;
    for (let j = 0; j < size; j++) sq += out[o + j]! * out[o + j]!;
    if (sq > 0) for (let j = 0; j < size; j++) out[o + j]! /= Math.sqrt(sq);
  }
  return new Tensor(out, embeddings.shape);
}

/**
 * An N-way K-shot episode on embeddings `[classes, drawers, features]`: N distinct classes, for
 * each K support and `queryPerClass` query images from different drawers, labels 0 … N−1 in
 * the order the classes were drawn; a cross-entropy Task on the feature vectors.
 */
export function featureEpisode(embeddings: Tensor, nWay: number, kShot: number, queryPerClass: number, rng: Rng): SupervisedTask {
  if (embeddings.ndim !== 3) throw new RangeError(`featureEpisode: embeddings must be [classes, drawers, features], got ${embeddings.ndim} dimensions`);
  const [classes, drawers, size] = embeddings.shape as [number, number, number];
  checkInteger('featureEpisode: nWay', nWay);
  checkInteger('featureEpisode: kShot', kShot);
  checkInteger('featureEpisode: queryPerClass', queryPerClass);
  if (nWay > classes) throw new RangeError(`featureEpisode: ${classes} classes cannot make ${nWay}-way episodes`);
  if (kShot + queryPerClass > drawers) throw new RangeError(`featureEpisode: ${kShot} support and ${queryPerClass} query images per class, but a class has ${drawers}`);
  const picked = rng.sample(classes, nWay);
  const xs = new Float32Array(nWay * kShot * size), xq = new Float32Array(nWay * queryPerClass * size);
  const ys = new Int32Array(nWay * kShot), yq = new Int32Array(nWay * queryPerClass);
  const data = embeddings.data;
  picked.forEach((c, label) => {
    rng.sample(drawers, kShot + queryPerClass).forEach((d, j) => {
      const row = data.subarray((c * drawers + d) * size, (c * drawers + d + 1) * size);
      if (j < kShot) {
        xs.set(row, (label * kShot + j) * size);
        ys[label * kShot + j] = label;
      } else {
        const q = label * queryPerClass + j - kShot;
        xq.set(row, q * size);
        yq[q] = label;
      }
    });
  });
  return supervisedTask({ xSupport: new Tensor(xs, [nWay * kShot, size]), ySupport: ys, xQuery: new Tensor(xq, [nWay * queryPerClass, size]), yQuery: yq }, { loss: 'cross-entropy' });
}
