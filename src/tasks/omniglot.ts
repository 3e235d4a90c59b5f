/**
 * Omniglot (Lake et al. 2015) for few-shot classification, in the standard protocol of MAML and
 * Reptile: all 1,623 characters pooled, shuffled with a fixed seed, 1,200 for meta-training and
 * 423 for testing; images downsampled from 105×105 to 28×28; training classes augmented with
 * rotations by 90°, 180° and 270° (each a new class).
 *
 * Downsampling filter: exact area averaging (each output pixel is the mean of the input area it
 * covers, a 3.75×3.75-pixel box with fractional edges). Pixels are inverted so ink is 1 and paper
 * is 0.
 *
 * This module holds the images and samples episodes; reading the official zips lives in
 * omniglot-node.ts (Node only).
 */
import type { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { checkInteger, describeValue } from '../checks.js';
import { supervisedTask, type SupervisedTask, type Task } from '../meta/task.js';

/** One character: its alphabet, name, and 20 images (one per drawer), each side×side. */
export interface Character {
  alphabet: string;
  name: string;
  images: Float32Array[];
}

/** A class of an episode: a character at a rotation (multiples of 90°). */
export interface OmniglotClass {
  character: Character;
  rotation: 0 | 1 | 2 | 3;
}

/** An N-way episode: support and query images (NHWC) and labels 0..N−1. */
export interface Episode {
  xSupport: Tensor;
  ySupport: Int32Array;
  xQuery: Tensor;
  yQuery: Int32Array;
  classes: OmniglotClass[];
}

/** Area-averaging resize of a `size×size` image to `out×out`. */
export function resizeArea(img: Float32Array, size: number, out: number): Float32Array {
  checkInteger('resizeArea: size', size);
  checkInteger('resizeArea: out', out);
  if (img.length !== size * size) throw new RangeError(`resizeArea: the image has ${img.length} pixels, not ${size}×${size}`);
  const scale = size / out;
  // weights[o] = list of [input index, overlap] for output index o (separable).
  const weights: [number, number][][] = [];
  for (let o = 0; o < out; o++) {
    const a = o * scale, b = (o + 1) * scale;
    const w: [number, number][] = [];
    for (let i = Math.floor(a); i < Math.min(size, Math.ceil(b)); i++) {
      const ov = Math.min(b, i + 1) - Math.max(a, i);
      if (ov > 0) w.push([i, ov / scale]);
    }
    weights.push(w);
  }
  const tmp = new Float32Array(size * out);
  for (let y = 0; y < size; y++) {
    for (let ox = 0; ox < out; ox++) {
      let s = 0;
      for (const [i, wt] of weights[ox]!) s += img[y * size + i]! * wt;
      tmp[y * out + ox] = s;
    }
  }
  const res = new Float32Array(out * out);
  for (let oy = 0; oy < out; oy++) {
    for (let x = 0; x < out; x++) {
      let s = 0;
      for (const [i, wt] of weights[oy]!) s += tmp[i * out + x]! * wt;
      res[oy * out + x] = s;
    }
  }
  return res;
}

/** `img` (side×side) rotated by `quarter` × 90° counter-clockwise. */
export function rotate(img: Float32Array, side: number, quarter: number): Float32Array {
  const q = ((quarter % 4) + 4) % 4;
  if (q === 0) return img;
  const out = new Float32Array(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const v = img[y * side + x]!;
      const [ny, nx] = q === 1 ? [side - 1 - x, y] : q === 2 ? [side - 1 - y, side - 1 - x] : [x, side - 1 - y];
      out[ny * side + nx] = v;
    }
  }
  return out;
}

function checkCharacters(characters: unknown, op: string): void {
  if (!Array.isArray(characters)) throw new TypeError(`${op}: characters must be an array of characters, got ${describeValue(characters)}`);
}

/**
 * Characters shuffled by `rng`: the first `trainCount` for meta-training, the next
 * `validationCount` (default none) for validation, the rest for testing.
 */
export function splitCharacters(characters: readonly Character[], rng: Rng, trainCount = 1200, validationCount = 0): { train: Character[]; validation: Character[]; test: Character[] } {
  checkCharacters(characters, 'splitCharacters');
  if (!Number.isInteger(validationCount) || validationCount < 0 || validationCount >= characters.length - 1) {
    throw new RangeError(`splitCharacters: validationCount must be in [0, ${characters.length - 1}), got ${validationCount}`);
  }
  if (!Number.isInteger(trainCount) || trainCount < 1 || trainCount + validationCount >= characters.length) {
    throw new RangeError(`splitCharacters: trainCount must be in [1, ${characters.length - validationCount}) with ${validationCount} validation characters, got ${trainCount}`);
  }
  const order = rng.shuffle([...characters]);
  const end = trainCount + validationCount;
  return { train: order.slice(0, trainCount), validation: order.slice(trainCount, end), test: order.slice(end) };
}

/**
 * The character counts of the class splits `FewShotConfig.split` names: the MAML paper's 1,200
 * training and 423 test characters, or the MAML++ authors' 1,150 / 50 / 423 (70.9 / 3.1 / 26.1%
 * of 1,623; the same proportions, not the same characters: their shuffle is numpy's). The
 * training CLI's periodic evaluations use the validation characters when there are any.
 */
export const CLASS_SPLITS = { standard: { train: 1200, validation: 0 }, mamlpp: { train: 1150, validation: 50 } } as const;

/** Classes of a split: every character, and with `rotations` also its 90°, 180°, 270° rotations. */
export function classesOf(characters: readonly Character[], rotations: boolean): OmniglotClass[] {
  checkCharacters(characters, 'classesOf');
  const rots = (rotations ? [0, 1, 2, 3] : [0]) as (0 | 1 | 2 | 3)[];
  return characters.flatMap((character) => rots.map((rotation) => ({ character, rotation })));
}

/**
 * An N-way K-shot episode: `nWay` distinct classes, and for each `kShot` support and `queryPerClass`
 * query images drawn without replacement from its 20 drawers (support and query never share an
 * image). Labels are shuffled per episode.
 */
export function sampleEpisode(classes: readonly OmniglotClass[], nWay: number, kShot: number, queryPerClass: number, rng: Rng): Episode {
  if (!Number.isInteger(nWay) || nWay < 1 || nWay > classes.length) throw new RangeError(`sampleEpisode: nWay must be in [1, ${classes.length}], got ${nWay}`);
  const per = kShot + queryPerClass;
  if (!Number.isInteger(kShot) || kShot < 1 || !Number.isInteger(queryPerClass) || queryPerClass < 0) throw new RangeError(`sampleEpisode: kShot must be ≥ 1 and queryPerClass ≥ 0, got ${kShot} and ${queryPerClass}`);
  const picked = rng.sample(classes.length, nWay).map((i) => classes[i]!);
  const side = Math.round(Math.sqrt(picked[0]!.character.images[0]!.length));
  const px = side * side;
  const xs = new Float32Array(nWay * kShot * px), xq = new Float32Array(nWay * queryPerClass * px);
  const ys = new Int32Array(nWay * kShot), yq = new Int32Array(nWay * queryPerClass);
  picked.forEach((cls, label) => {
    const imgs = cls.character.images;
    if (imgs.length < per) throw new RangeError(`sampleEpisode: character ${cls.character.alphabet}/${cls.character.name} has ${imgs.length} images, ${per} needed`);
    const which = rng.sample(imgs.length, per);
    which.forEach((d, j) => {
      const img = rotate(imgs[d]!, side, cls.rotation);
      if (j < kShot) {
        xs.set(img, (label * kShot + j) * px);
        ys[label * kShot + j] = label;
      } else {
        const q = label * queryPerClass + (j - kShot);
        xq.set(img, q * px);
        yq[q] = label;
      }
    });
  });
  return {
    xSupport: new Tensor(xs, [nWay * kShot, side, side, 1]),
    ySupport: ys,
    xQuery: new Tensor(xq, [nWay * queryPerClass, side, side, 1]),
    yQuery: yq,
    classes: picked,
  };
}

/** Options of {@link episodeTask}. */
export interface EpisodeTaskOptions {
  /** Adapt on mini-batches of this many support images, cycling through `order`. Default: all of them. */
  innerBatch?: number;
  /** The support images' order for `innerBatch` (a shuffle drawn by the caller). */
  order?: readonly number[];
  /** Instead of `innerBatch`: each inner step's mini-batch of support images (see `SupervisedOptions.batches`). */
  batches?: readonly (readonly number[])[];
  /** Score all queries in one batch (default) or each alone beside the support set. */
  transductive?: boolean;
}

/** An episode as a classification {@link Task}: cross-entropy loss, scored by accuracy. */
export function episodeTask(ep: Pick<Episode, 'xSupport' | 'ySupport' | 'xQuery' | 'yQuery'>, options: EpisodeTaskOptions = {}): SupervisedTask {
  return supervisedTask({ xSupport: ep.xSupport, ySupport: ep.ySupport, xQuery: ep.xQuery, yQuery: ep.yQuery }, { loss: 'cross-entropy', ...options });
}
