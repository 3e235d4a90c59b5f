/** Omniglot: the resize filter, rotations, the standard split, episodes without leakage, and the loader's cache. */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { classesOf, resizeArea, rotate, sampleEpisode, splitCharacters, type Character } from '../src/tasks/omniglot.js';
import { loadOmniglot } from '../src/tasks/omniglot-node.js';
import { decodePngNode, openZip } from '../src/io/node.js';
import { encodeZip } from './helpers/zip.js';

/** Synthetic characters whose every image is filled with a unique id, so images can be traced. */
function fakeCharacters(count: number, side = 4): Character[] {
  return Array.from({ length: count }, (_, c) => ({
    alphabet: `A${c % 7}`,
    name: `character${c}`,
    images: Array.from({ length: 20 }, (_, d) => new Float32Array(side * side).fill(c * 20 + d + 1)),
  }));
}

describe('image transforms', () => {
  test('area resize preserves constants and the mean, and is exact on block images', () => {
    const img = Float32Array.from({ length: 105 * 105 }, (_, i) => ((i * 7919) % 13) / 13);
    const small = resizeArea(img, 105, 28);
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(small)).toBeCloseTo(mean(img), 5);
    expect(new Set(resizeArea(new Float32Array(105 * 105).fill(0.25), 105, 28))).toEqual(new Set([0.25]));
    const blocks = Float32Array.from({ length: 16 }, (_, i) => (Math.floor(i / 8) * 2 + Math.floor((i % 4) / 2)) as number);
    expect(Array.from(resizeArea(blocks, 4, 2))).toEqual([0, 1, 2, 3]);
    expect(() => resizeArea(blocks, 5, 2)).toThrow(/resizeArea: the image has 16 pixels, not 5×5/);
    expect(() => resizeArea(blocks, 4, 2.5)).toThrow(/resizeArea: out must be a positive integer, got 2\.5/);
    expect(() => resizeArea(blocks, 4, 0)).toThrow(/resizeArea: out must be a positive integer, got 0/);
  });

  test('rotation by 90° four times is the identity; one quarter turn moves corners counter-clockwise', () => {
    const img = Float32Array.from({ length: 9 }, (_, i) => i);
    expect(Array.from(rotate(rotate(rotate(rotate(img, 3, 1), 3, 1), 3, 1), 3, 1))).toEqual(Array.from(img));
    expect(Array.from(rotate(img, 3, 1))).toEqual([2, 5, 8, 1, 4, 7, 0, 3, 6]);
  });
});

describe('split and episodes', () => {
  const chars = fakeCharacters(1623);
  const { train, test: testChars } = splitCharacters(chars, new mg.Rng(0));

  test('1,200 / 423 characters, disjoint, deterministic for a seed', () => {
    expect([train.length, testChars.length]).toEqual([1200, 423]);
    const trainSet = new Set(train);
    expect(testChars.some((c) => trainSet.has(c))).toBe(false);
    expect(splitCharacters(chars, new mg.Rng(0)).train.map((c) => c.name)).toEqual(train.map((c) => c.name));
    expect(splitCharacters(chars, new mg.Rng(1)).train.map((c) => c.name)).not.toEqual(train.map((c) => c.name));
  });

  test('the MAML++ authors\' proportions: 1,150 / 50 / 423 characters, disjoint, the test split the same size as the standard one', () => {
    const { train: tr, validation, test: te } = splitCharacters(chars, new mg.Rng(0), mg.CLASS_SPLITS.mamlpp.train, mg.CLASS_SPLITS.mamlpp.validation);
    expect([tr.length, validation.length, te.length]).toEqual([1150, 50, 423]);
    expect(new Set([...tr, ...validation, ...te]).size).toBe(1623);
    expect(splitCharacters(chars, new mg.Rng(0)).validation).toEqual([]);
    expect(mg.CLASS_SPLITS.standard).toEqual({ train: 1200, validation: 0 });
    expect(() => splitCharacters(chars, new mg.Rng(0), 1200, 423)).toThrow(/trainCount must be in \[1, 1200\) with 423 validation characters, got 1200/);
    expect(() => splitCharacters(chars, new mg.Rng(0), 10, -1)).toThrow(/validationCount must be in \[0, 1622\), got -1/);
  });

  test('rotations multiply training classes and never reach the test split', () => {
    const trainClasses = classesOf(train, true);
    expect(trainClasses.length).toBe(4800);
    const testSet = new Set(testChars);
    expect(trainClasses.some((c) => testSet.has(c.character))).toBe(false);
  });

  test('episodes: N distinct classes, labels 0..N−1, support and query never share an image', () => {
    const rng = new mg.Rng(3);
    const classes = classesOf(train, true);
    for (let e = 0; e < 200; e++) {
      const ep = sampleEpisode(classes, 5, 1, 3, rng);
      expect(ep.xSupport.shape).toEqual([5, 4, 4, 1]);
      expect(ep.xQuery.shape).toEqual([15, 4, 4, 1]);
      expect(new Set(ep.classes.map((c) => `${c.character.name}/${c.rotation}`)).size).toBe(5);
      expect(Array.from(ep.ySupport)).toEqual([0, 1, 2, 3, 4]);
      const ids = (x: mg.Tensor, n: number) => Array.from({ length: n }, (_, i) => x.data[i * 16]!);
      const support = new Set(ids(ep.xSupport, 5));
      expect(ids(ep.xQuery, 15).some((v) => support.has(v))).toBe(false);
      // every image comes from its labelled class's character
      ids(ep.xQuery, 15).forEach((v, i) => expect(Math.floor((v - 1) / 20)).toBe(Number(ep.classes[ep.yQuery[i]!]!.character.name.slice(9))));
    }
  });

  test('bad requests are named', () => {
    expect(() => sampleEpisode(classesOf(train.slice(0, 3), false), 5, 1, 1, new mg.Rng(0))).toThrow(/nWay must be in \[1, 3\], got 5/);
    expect(() => sampleEpisode(classesOf(train, false), 5, 15, 6, new mg.Rng(0))).toThrow(/has 20 images, 21 needed/);
    expect(() => splitCharacters(chars, new mg.Rng(0), 5000)).toThrow(/trainCount must be in \[1, 1623\)/);
    expect(() => classesOf(undefined as never, true)).toThrow(/classesOf: characters must be an array of characters, got undefined/);
    expect(() => splitCharacters('chars' as never, new mg.Rng(0))).toThrow(/splitCharacters: characters must be an array of characters, got string/);
  });
});

const dataDir = join(__dirname, '..', '..', 'shared', 'data', 'omniglot');

describe.runIf(existsSync(join(dataDir, 'images_background.zip')))('loading the real archives', () => {
  test('1,623 characters × 20 images of 28×28; a damaged cache is detected and rebuilt', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-omni-'));
    try {
      const cache = join(dir, 'omniglot-28.cache');
      const chars = loadOmniglot(dataDir, { cache });
      expect(chars.length).toBe(1623);
      expect(chars.every((c) => c.images.length === 20 && c.images[0]!.length === 784)).toBe(true);
      expect(new Set(chars.map((c) => c.alphabet)).size).toBe(50);
      const bytes = readFileSync(cache);
      bytes[bytes.length - 1000] ^= 0xff;
      writeFileSync(cache, bytes);
      const again = loadOmniglot(dataDir, { cache }); // damage detected: decoded afresh
      expect(Array.from(again[700]!.images[3]!)).toEqual(Array.from(chars[700]!.images[3]!));
      expect(readFileSync(cache).equals(bytes)).toBe(false); // and the cache rewritten
      // Read from the cache now: the same pixels as decoding, bit for bit (both are 256 levels),
      // so a run does not depend on whether its cache existed when it started.
      const cached = loadOmniglot(dataDir, { cache });
      for (const c of [0, 700, 1622]) {
        for (const k of [0, 3, 19]) {
          const fresh = chars[c]!.images[k]!;
          expect(Buffer.from(cached[c]!.images[k]!.buffer).equals(Buffer.from(fresh.buffer))).toBe(true);
          fresh.forEach((v) => expect(Math.fround(Math.round(v * 255) / 255)).toBe(v));
        }
      }
      expect(chars.some((c) => c.images.some((img) => img.some((v) => v > 0 && v < 1)))).toBe(true); // grey levels, not just 0 and 1
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('a cache made from other archives is not used: it is rebuilt from the archives in the directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-omni-src-'));
    try {
      const cache = join(dir, 'omniglot.cache');
      const small = join(dir, 'small');
      mkdirSync(small);
      copyFileSync(join(dataDir, 'images_background_small1.zip'), join(small, 'images_background.zip'));
      copyFileSync(join(dataDir, 'images_background_small2.zip'), join(small, 'images_evaluation.zip'));
      const fromSmall = loadOmniglot(small, { cache });
      const smallCache = readFileSync(cache);
      // The same archives under another directory (copied, so new timestamps) still hit the cache...
      const moved = join(dir, 'moved');
      mkdirSync(moved);
      for (const z of ['images_background.zip', 'images_evaluation.zip']) copyFileSync(join(small, z), join(moved, z));
      expect(loadOmniglot(moved, { cache }).length).toBe(fromSmall.length);
      expect(readFileSync(cache).equals(smallCache)).toBe(true);
      // ... but different archives with the same names do not.
      copyFileSync(join(dataDir, 'images_evaluation.zip'), join(moved, 'images_evaluation.zip'));
      const other = loadOmniglot(moved, { cache });
      expect(other.length).not.toBe(fromSmall.length);
      expect(readFileSync(cache).equals(smallCache)).toBe(false);
      expect(loadOmniglot(moved, { cache }).map((c) => c.name)).toEqual(other.map((c) => c.name));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('the cache never replaces a file that is not a cache, and a cache path that cannot be used fails before decoding', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-omni-cache-'));
    try {
      // A --cache that names the wrong file (a checkpoint, say) must not be overwritten with pixels.
      const precious = join(dir, 'run.safetensors');
      writeFileSync(precious, 'hours of training');
      let progress = 0;
      expect(() => loadOmniglot(dataDir, { cache: precious, onProgress: () => progress++ })).toThrow(/run\.safetensors exists and is not a metagrad Omniglot cache: not replaced \(choose another cache path\)/);
      expect(readFileSync(precious, 'utf8')).toBe('hours of training');
      expect(() => loadOmniglot(dataDir, { cache: dir })).toThrow(new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read the cache \\(EISDIR\\)`));
      expect(() => loadOmniglot(dataDir, { cache: join(precious, 'omniglot.cache') })).toThrow(/omniglot\.cache: cannot write/);
      expect(progress).toBe(0); // each refused before a single image was decoded
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the portable inflate (the browser path) decodes the real images exactly as Node\'s zlib', () => {
    const bytes = readFileSync(join(dataDir, 'images_evaluation.zip'));
    const portable = new mg.ZipArchive(bytes);
    const node = openZip(join(dataDir, 'images_evaluation.zip'));
    const pngs = portable.entries.filter((e) => e.name.endsWith('.png'));
    for (const e of pngs.filter((_, i) => i % 37 === 0)) {
      const a = mg.decodePng(portable.read(e.name), undefined, e.name);
      const b = decodePngNode(node.read(e.name), e.name);
      expect([a.width, a.height]).toEqual([b.width, b.height]);
      expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    }
  });

  test('a missing archive and a bad side are named', () => {
    expect(() => loadOmniglot(join(dataDir, 'nowhere'))).toThrow(/nowhere\/images_background\.zip: missing/);
    expect(() => loadOmniglot(dataDir, { side: 0 })).toThrow(/loadOmniglot: side must be a positive integer, got 0/);
  });
});

describe('damaged archive names', () => {
  const png = (() => {
    // One real drawing, repeated: the loader only needs valid PNGs under the right names.
    const real = join(dataDir, 'images_background_small1.zip');
    return existsSync(real) ? openZip(real).read(openZip(real).entries.find((e) => e.name.endsWith('.png'))!) : null;
  })();
  test.runIf(png !== null)('a character without its 20 drawings is named with the archives, and a name the local header contradicts is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-omni-names-'));
    try {
      const entries = (root: string, count: number, name = 'character01'): [string, Uint8Array][] =>
        Array.from({ length: count }, (_, d) => [`${root}/Alpha/${name}/0001_${String(d + 1).padStart(2, '0')}.png`, png!]);
      writeFileSync(join(dir, 'images_evaluation.zip'), encodeZip(entries('images_evaluation', 20), false));
      // One drawing's directory name damaged: character01 → character00, 19 + 1 drawings.
      writeFileSync(join(dir, 'images_background.zip'), encodeZip([...entries('images_background', 19), ...entries('images_background', 1, 'character00')], false));
      expect(() => loadOmniglot(dir)).toThrow(/images_background\/Alpha\/character00: 1 drawings where every Omniglot character has 20 \(a damaged or altered archive: .*images_background\.zip, .*images_evaluation\.zip\)/);
      // A flip in a name in the central directory only: the entry's own header disagrees.
      const good = encodeZip(entries('images_background', 20), false);
      const bad = good.slice();
      const at = bad.lastIndexOf('1'.charCodeAt(0), bad.length - 22 - 8); // a digit of the last directory entry's name
      expect(at).toBeGreaterThan(bad.length - 22 - 46 - 50);
      bad[at] ^= 1; // '1' → '0'
      writeFileSync(join(dir, 'images_background.zip'), bad);
      expect(() => loadOmniglot(dir)).toThrow(/images_background\.zip: entry '[^']+': its local header names it '[^']+' \(corrupt archive\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
