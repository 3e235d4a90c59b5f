/**
 * Reading the official Omniglot distribution in Node: `images_background.zip` and
 * `images_evaluation.zip` (layout images_{background,evaluation}/ALPHABET/characterNN/XXXX_YY.png) into characters
 * of 20 images each, downsampled to `side`×`side` (see omniglot.ts for the filter).
 *
 * Pixels are 256 grey levels (k/255) whether decoded now or read from the decoded cache, so a
 * run gives the same result with or without one. The cache (uint8 pixels, with a CRC-32 of its
 * contents) is keyed by the archives it came from (a CRC-32 over every entry's name, size and
 * CRC): a damaged cache, or one made from other archives or for another size, is detected and
 * rebuilt, and it is written atomically. A file at the cache path that is not a cache is never
 * replaced (a slip of the path must not overwrite a checkpoint), and a cache path that cannot be
 * read or written is named before any image is decoded. The archives must be present either way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from '../io/crc32.js';
import { checkWritable, decodePngNode, openZip, writeFileAtomicSync } from '../io/node.js';
import { checkInteger, checkOptionsObject, type OptionKeys } from '../checks.js';
import { resizeArea, type Character } from './omniglot.js';

const ZIPS = ['images_background.zip', 'images_evaluation.zip'];
/** Drawings per character in the official archives. */
const DRAWERS = 20;
const MAGIC = 'MGOMNI02';

/** Options of {@link loadOmniglot}. */
export interface LoadOptions {
  /** Output side length. Default 28. */
  side?: number;
  /** Path of a decoded cache to read or (re)write; omit for none. */
  cache?: string;
  /** Called with (done, total) while decoding. */
  onProgress?: (done: number, total: number) => void;
}

const LOAD_OPTIONS: OptionKeys<LoadOptions> = { side: true, cache: true, onProgress: true };

/** All characters of both archives in `dir`, sorted by archive path. */
export function loadOmniglot(dir: string, options: LoadOptions = {}): Character[] {
  checkOptionsObject('loadOmniglot', options, LOAD_OPTIONS, "{ side: 28, cache: 'omniglot.cache' }");
  const side = options.side ?? 28;
  checkInteger('loadOmniglot: side', side);
  const archives = ZIPS.map((z) => {
    const path = join(dir, z);
    if (!existsSync(path)) throw new Error(`${path}: missing (the Omniglot directory must hold ${ZIPS.join(' and ')})`);
    return openZip(path);
  });
  // What the archives hold, from their central directories alone (nothing is decompressed).
  const source = crc32(new TextEncoder().encode(archives.map((a) => a.entries.map((e) => `${e.name} ${e.size} ${e.crc}`).join('\n')).join('\n')));
  if (options.cache !== undefined) {
    const cache = options.cache;
    if (existsSync(cache)) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(cache));
      } catch (e) {
        throw new Error(`${cache}: cannot read the cache (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      const cached = readCache(bytes, side, source);
      if (cached !== null) return cached;
      // Only a cache (of any version, damaged or not) or an empty file is rebuilt in place: a path
      // that names something else (a checkpoint, by a slip) is not overwritten with pixels.
      if (bytes.length > 0 && new TextDecoder().decode(bytes.subarray(0, 6)) !== MAGIC.slice(0, 6)) {
        throw new Error(`${cache} exists and is not a metagrad Omniglot cache: not replaced (choose another cache path)`);
      }
    }
    checkWritable(cache); // now, not after decoding every image
  }
  const groups = new Map<string, { alphabet: string; name: string; files: [string, Uint8Array][] }>();
  const total = archives.reduce((n, a) => n + a.entries.filter((e) => e.name.endsWith('.png')).length, 0);
  let done = 0;
  const chars: Character[] = [];
  for (const zip of archives) {
    for (const e of zip.entries) {
      if (!e.name.endsWith('.png')) continue;
      const parts = e.name.split('/');
      if (parts.length !== 4) throw new Error(`${zip.label}: unexpected entry '${e.name}' (expected images_*/ALPHABET/characterNN/XXXX_YY.png)`);
      const key = `${parts[0]}/${parts[1]}/${parts[2]}`;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { alphabet: parts[1]!, name: parts[2]!, files: [] }));
      g.files.push([e.name, zip.read(e)]);
    }
  }
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    // Every character has one drawing by each of the 20 drawers: a damaged entry name would
    // otherwise make a new one-image character and shift the split of every seed.
    if (g.files.length !== DRAWERS) throw new Error(`${key}: ${g.files.length} drawings where every Omniglot character has ${DRAWERS} (a damaged or altered archive: ${archives.map((a) => a.label).join(', ')})`);
    g.files.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const images = g.files.map(([name, bytes]) => {
      const img = decodePngNode(bytes, name);
      if (img.width !== img.height) throw new Error(`${name}: expected a square image, got ${img.width}×${img.height}`);
      const inked = img.data.map((v) => 1 - v);
      options.onProgress?.(++done, total);
      return toLevels(resizeArea(inked, img.width, side));
    });
    chars.push({ alphabet: g.alphabet, name: g.name, images });
  }
  if (options.cache !== undefined) writeCache(options.cache, chars, side, source);
  return chars;
}

/** Rounds each pixel (in [0, 1]) to the nearest of 256 levels k/255, in place: the cache's precision. */
function toLevels(img: Float32Array): Float32Array {
  for (let i = 0; i < img.length; i++) img[i] = Math.round(img[i]! * 255) / 255;
  return img;
}

function writeCache(path: string, chars: Character[], side: number, source: number): void {
  const meta = new TextEncoder().encode(JSON.stringify({ side, source, chars: chars.map((c) => [c.alphabet, c.name, c.images.length]) }));
  const px = side * side;
  const count = chars.reduce((n, c) => n + c.images.length, 0);
  const pixels = new Uint8Array(count * px);
  let o = 0;
  for (const c of chars) for (const img of c.images) for (let i = 0; i < px; i++) pixels[o++] = Math.round(img[i]! * 255);
  const header = new Uint8Array(20);
  header.set(new TextEncoder().encode(MAGIC));
  const dv = new DataView(header.buffer);
  dv.setUint32(8, meta.length, true);
  dv.setUint32(12, pixels.length, true);
  dv.setUint32(16, crc32(pixels, 0, pixels.length, crc32(meta)), true);
  writeFileAtomicSync(path, Buffer.concat([header, meta, pixels]));
}

/** The cached characters, or null if the cache is damaged or was made for another size or from other archives. */
function readCache(b: Uint8Array, side: number, source: number): Character[] | null {
  if (b.length < 20 || new TextDecoder().decode(b.subarray(0, 8)) !== MAGIC) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const metaLen = dv.getUint32(8, true), pxLen = dv.getUint32(12, true);
  if (b.length !== 20 + metaLen + pxLen) return null;
  const meta = b.subarray(20, 20 + metaLen), pixels = b.subarray(20 + metaLen);
  if (crc32(pixels, 0, pixels.length, crc32(meta)) !== dv.getUint32(16, true)) return null;
  const info = JSON.parse(new TextDecoder().decode(meta)) as { side: number; source: number; chars: [string, string, number][] };
  if (info.side !== side || info.source !== source) return null;
  const px = side * side;
  let o = 0;
  return info.chars.map(([alphabet, name, n]) => ({
    alphabet,
    name,
    images: Array.from({ length: n }, () => {
      const img = new Float32Array(px);
      for (let i = 0; i < px; i++) img[i] = pixels[o++]! / 255;
      return img;
    }),
  }));
}
