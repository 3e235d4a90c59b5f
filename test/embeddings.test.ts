/** Embeddings for LEO: the supervised embedding network, fixed batch-norm statistics, feature episodes and the embeddings cache. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { omniglotEmbeddings } from '../src/node.js';
import { classesOf, type Character } from '../src/tasks/omniglot.js';

/** Characters whose 20 drawings are noisy copies of one random pattern each (so they can be told apart). */
function fakeCharacters(count: number, seed: number): Character[] {
  const rng = new mg.Rng(seed);
  return Array.from({ length: count }, (_, c) => {
    const pattern = Float32Array.from({ length: 784 }, () => (rng.uniform() < 0.2 ? 1 : 0));
    return { alphabet: 'fake', name: `character${c}`, images: Array.from({ length: 20 }, () => pattern.map((v) => (rng.uniform() < 0.05 ? 1 - v : v))) };
  });
}

const dir = mkdtempSync(join(tmpdir(), 'mg-emb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('EmbeddingTrainer', () => {
  const classes = classesOf(fakeCharacters(3, 1), false);
  const settings = { epochs: 4, batch: 20, statsImages: 60 };

  test('supervised training lowers the loss; an epoch visits every image once', () => {
    const t = new mg.EmbeddingTrainer(classes, settings, 2);
    expect(t.stepsPerEpoch).toBe(3);
    expect(t.steps).toBe(12);
    const losses = Array.from({ length: t.steps }, () => t.step());
    expect(losses.slice(-3).reduce((a, b) => a + b) / 3).toBeLessThan(losses.slice(0, 3).reduce((a, b) => a + b) / 3);
    expect(t.iteration).toBe(12);
  });

  test('features use fixed statistics: an image\'s feature does not depend on the images beside it, and the statistics are the training images\' moments', () => {
    const t = new mg.EmbeddingTrainer(classes, settings, 3);
    for (let i = 0; i < 3; i++) t.step();
    const stats = t.statistics(new mg.Rng(4));
    // All 60 images in one chunk: the statistics are the batch moments of all of them (in any order).
    const all = new mg.Tensor(Float32Array.from(classes.flatMap((c) => c.character.images.flatMap((im) => Array.from(im)))), [60, 28, 28, 1]);
    t.model.moments(t.params, all).forEach((m, b) => {
      for (const k of ['mean', 'variance'] as const) Array.from(m[k].data).forEach((v, i) => expect(stats[b]![k].data[i]).toBeCloseTo(v, 4));
    });
    const e = t.embed(classes, stats);
    expect(e.shape).toEqual([3, 20, t.model.featureSize]);
    const alone = t.model.features(t.params, new mg.Tensor(Float32Array.from(classes[1]!.character.images[7]!), [1, 28, 28, 1]), { stats });
    Array.from(alone.data).forEach((v, i) => expect(e.data[(1 * 20 + 7) * t.model.featureSize + i]).toBeCloseTo(v, 5));
    const x = new mg.Tensor(Float32Array.from(classes[1]!.character.images[7]!), [1, 28, 28, 1]);
    expect(() => t.model.features(t.params, x, { stats: stats.slice(0, 3) })).toThrow(/conv4.features: stats must list the 4 blocks' \{ mean, variance \}, got an array/);
    expect(() => t.model.features(t.params, x, { stats: {} as never })).toThrow(/conv4.features: stats must list the 4 blocks/);
  });

  test('one shuffle per epoch; statistics over a sample of statsImages images; two classes suffice', () => {
    const t = new mg.EmbeddingTrainer(classes.slice(0, 2), { ...settings, statsImages: 30 }, 5);
    expect(t.stepsPerEpoch).toBe(2);
    t.step();
    const first = (t as unknown as { order: unknown[] }).order;
    expect(first).toHaveLength(40);
    t.step();
    expect((t as unknown as { order: unknown[] }).order).toBe(first);
    t.step();
    expect((t as unknown as { order: unknown[] }).order).not.toBe(first);
    // The 30 images the generator picks, in one chunk: their batch moments.
    const all = classes.slice(0, 2).flatMap((c) => c.character.images);
    const picks = new mg.Rng(6).sample(40, 30);
    const x = new mg.Tensor(Float32Array.from(picks.flatMap((i) => Array.from(all[i]!))), [30, 28, 28, 1]);
    const stats = t.statistics(new mg.Rng(6));
    t.model.moments(t.params, x).forEach((m, b) => Array.from(m.mean.data).forEach((v, i) => expect(stats[b]!.mean.data[i]).toBeCloseTo(v, 4)));
  });

  test('refuses settings it cannot use', () => {
    expect(() => new mg.EmbeddingTrainer(classes, { epoch: 2 } as never)).toThrow(/epoch/);
    expect(() => new mg.EmbeddingTrainer(classes, { batch: 0 })).toThrow(/batch/);
    expect(() => new mg.EmbeddingTrainer(classes.slice(0, 1))).toThrow(/at least 2 classes/);
  });
});

describe('featureEpisode', () => {
  const emb = mg.randn([6, 20, 3], { rng: new mg.Rng(5) });
  test('N distinct classes, K support and Q query rows per class from different drawings, labelled in draw order', () => {
    const task = mg.featureEpisode(emb, 3, 2, 4, new mg.Rng(6));
    expect(task.xSupport.shape).toEqual([6, 3]);
    expect(task.xQuery.shape).toEqual([12, 3]);
    expect(Array.from(task.ySupport as Int32Array)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(Array.from(task.yQuery as Int32Array)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    // Every row is one embedding; a class's support and query rows are distinct drawings of one class.
    const where = (row: Float32Array | Float64Array): [number, number] => {
      for (let c = 0; c < 6; c++) for (let d = 0; d < 20; d++) if (row.every((v, j) => v === emb.data[(c * 20 + d) * 3 + j])) return [c, d];
      throw new Error('not an embedding row');
    };
    const rows = (x: mg.Tensor) => Array.from({ length: x.shape[0]! }, (_, i) => where(x.data.subarray(i * 3, i * 3 + 3) as Float32Array));
    const s = rows(task.xSupport), q = rows(task.xQuery);
    for (let label = 0; label < 3; label++) {
      const mine = [...s.slice(2 * label, 2 * label + 2), ...q.slice(4 * label, 4 * label + 4)];
      expect(new Set(mine.map(([c]) => c)).size).toBe(1);
      expect(new Set(mine.map(([, d]) => d)).size).toBe(6);
    }
    expect(new Set(s.map(([c]) => c)).size).toBe(3);
  });

  test('refuses impossible episodes, naming the problem', () => {
    expect(mg.featureEpisode(emb, 6, 10, 10, new mg.Rng(0)).xQuery.shape).toEqual([60, 3]); // every class, every drawing
    expect(() => mg.featureEpisode(emb, 7, 1, 1, new mg.Rng(0))).toThrow(/6 classes cannot make 7-way/);
    expect(() => mg.featureEpisode(emb, 2, 10, 11, new mg.Rng(0))).toThrow(/a class has 20/);
    expect(() => mg.featureEpisode(mg.zeros([6, 3]), 2, 1, 1, new mg.Rng(0))).toThrow(/\[classes, drawers, features\]/);
  });
});

describe('omniglotEmbeddings', () => {
  const chars = fakeCharacters(5, 7);
  const split = { train: chars.slice(0, 2), validation: [], test: chars.slice(2) };
  const options = { settings: { epochs: 1, batch: 40, statsImages: 40 }, seed: 1 };

  test('computes once: a second call reads the cache; other settings, a damaged cache or other characters rebuild it; another file is never overwritten', () => {
    const cache = join(dir, 'sub', 'emb.safetensors');
    let trained = 0;
    const onProgress = (phase: string): void => void (phase === 'train' && trained++);
    const calls: string[] = [];
    const first = omniglotEmbeddings(split, { ...options, cache, onProgress: (phase, done, total) => (onProgress(phase), calls.push(`${phase} ${done}/${total}`)) });
    expect(trained).toBe(4); // 2 characters × 4 rotations × 20 drawings in batches of 40
    expect(calls).toEqual([...[1, 2, 3, 4].map((d) => `train ${d}/4`), ...Array.from({ length: 11 }, (_, i) => `embed ${i + 1}/11`)]);
    expect(first.train.shape).toEqual([8, 20, 256]);
    expect(first.validation.shape).toEqual([0, 0, 256]);
    expect(first.test.shape).toEqual([3, 20, 256]);
    const second = omniglotEmbeddings(split, { ...options, cache, onProgress });
    expect(trained).toBe(4);
    expect(Array.from(second.test.data)).toEqual(Array.from(first.test.data));
    // A flipped byte in the data: rebuilt, to the same values (training is seeded).
    const bytes = readFileSync(cache);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(cache, bytes);
    const rebuilt = omniglotEmbeddings(split, { ...options, cache, onProgress });
    expect(trained).toBe(8);
    expect(Array.from(rebuilt.test.data)).toEqual(Array.from(first.test.data));
    // An empty file (a copy that never started): rebuilt.
    writeFileSync(cache, '');
    omniglotEmbeddings(split, { ...options, cache, onProgress });
    expect(trained).toBe(12);
    // Cut short (a copy interrupted): the header no longer parses; rebuilt.
    writeFileSync(cache, readFileSync(cache).subarray(0, 300));
    omniglotEmbeddings(split, { ...options, cache, onProgress });
    expect(trained).toBe(16);
    const seed2 = omniglotEmbeddings(split, { ...options, seed: 2, cache, onProgress });
    expect(trained).toBe(20);
    expect(Array.from(seed2.test.data)).not.toEqual(Array.from(first.test.data));
    // The same number of test characters, other ones: rebuilt.
    omniglotEmbeddings({ ...split, test: [chars[2]!, chars[3]!, chars[0]!] }, { ...options, seed: 2, cache, onProgress });
    expect(trained).toBe(24);
    const other = join(dir, 'notes.safetensors');
    writeFileSync(other, 'my notes');
    expect(() => omniglotEmbeddings(split, { ...options, cache: other })).toThrow(/is not a metagrad embeddings cache: not replaced/);
    expect(readFileSync(other, 'utf8')).toBe('my notes');
    // A cache path that cannot be written fails before any training.
    let steps = 0;
    expect(() => omniglotEmbeddings(split, { ...options, cache: join(other, 'emb.safetensors'), onProgress: () => void steps++ })).toThrow(/notes\.safetensors/);
    expect(steps).toBe(0);
    expect(existsSync(cache)).toBe(true);
  }, 60_000);
});
