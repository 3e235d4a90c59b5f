/**
 * Omniglot embeddings computed once and kept in a cache file (Node only): a safetensors file of
 * the three splits' feature vectors, its metadata naming what made them (the characters of each
 * split, the training settings, the seed) and a CRC-32 of the data. A cache that was made
 * otherwise, or is damaged, is rebuilt; a file that is not an embeddings cache is never
 * overwritten. Written atomically.
 */
import { existsSync, readFileSync } from 'node:fs';
import { crc32 } from '../io/crc32.js';
import { checkWritable, writeFileAtomicSync } from '../io/node.js';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import type { Tensor } from '../tensor.js';
import { classesOf, type Character } from '../tasks/omniglot.js';
import { embeddingSettings, EmbeddingTrainer, type EmbeddingSettings } from './embeddings.js';

const KIND = 'metagrad omniglot embeddings 1';

/** The feature vectors of each split's classes, `[classes, drawers, features]` (training classes with their rotations). */
export interface Embeddings {
  train: Tensor;
  validation: Tensor;
  test: Tensor;
}

/** Options of {@link omniglotEmbeddings}. */
export interface EmbeddingOptions {
  settings?: EmbeddingSettings;
  seed?: number;
  /** The cache file; omit for none. */
  cache?: string;
  /** Called after each training mini-batch with (done, total, loss), and with (done, total) while embedding. */
  onProgress?: (phase: 'train' | 'embed', done: number, total: number, loss?: number) => void;
}

function dataCrc(tensors: Tensor[]): number {
  let c = 0;
  for (const t of tensors) c = crc32(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 0, t.data.byteLength, c);
  return c;
}

/**
 * The embeddings of a character split: read from `cache` when it was made from the same
 * characters, settings and seed, otherwise trained ({@link EmbeddingTrainer} on the training
 * characters with rotations) and computed, then cached.
 */
export function omniglotEmbeddings(split: { train: Character[]; validation: Character[]; test: Character[] }, options: EmbeddingOptions = {}): Embeddings {
  const names = (cs: Character[]): string => cs.map((c) => `${c.alphabet}/${c.name}`).join('\n');
  const key = JSON.stringify({ kind: KIND, settings: embeddingSettings(options.settings), seed: options.seed ?? 0, characters: ['train', 'validation', 'test'].map((k) => crc32(new TextEncoder().encode(names(split[k as keyof typeof split])))) });
  const cache = options.cache;
  if (cache !== undefined) {
    const cached = existsSync(cache) ? readCache(cache, key) : null;
    if (cached !== null) return cached;
    checkWritable(cache); // now, not after the training
  }
  const trainer = new EmbeddingTrainer(classesOf(split.train, true), options.settings, options.seed ?? 0);
  for (let i = 0; i < trainer.steps; i++) {
    const loss = trainer.step();
    options.onProgress?.('train', i + 1, trainer.steps, loss);
  }
  const stats = trainer.statistics();
  const parts = [classesOf(split.train, true), classesOf(split.validation, false), classesOf(split.test, false)];
  const total = parts.reduce((n, p) => n + p.length, 0);
  let done = 0;
  const [train, validation, test] = parts.map((p) => trainer.embed(p, stats, () => options.onProgress?.('embed', ++done, total))) as [Tensor, Tensor, Tensor];
  const result = { train, validation, test };
  if (cache !== undefined) writeFileAtomicSync(cache, encodeSafetensors(result, { embeddings: key, crc: String(dataCrc([train, validation, test])) }));
  return result;
}

/** The cached embeddings if `path` holds them for `key` undamaged; null if it must be rebuilt; throws if it is not an embeddings cache. */
function readCache(path: string, key: string): Embeddings | null {
  const bytes = readFileSync(path);
  // Only a cache (damaged or not) or an empty file is rebuilt in place: a path that names
  // something else (a checkpoint, by a slip) is not overwritten.
  const ours = bytes.length === 0 || Buffer.from(bytes.subarray(0, 1 << 16)).includes(KIND);
  if (!ours) throw new Error(`${path} exists and is not a metagrad embeddings cache: not replaced (choose another cache path)`);
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes, path);
  } catch {
    return null;
  }
  const made = decoded.metadata.embeddings;
  if (made !== key) return null;
  const { train, validation, test } = decoded.tensors;
  if (train === undefined || validation === undefined || test === undefined) return null;
  if (String(dataCrc([train, validation, test])) !== decoded.metadata.crc) return null;
  return { train, validation, test };
}
