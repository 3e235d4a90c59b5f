/** The dependency-free ZIP reader and PNG decoder (on images this test encodes and on the real Omniglot archive), and the SVG plot. */
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { crc32 } from '../src/io/crc32.js';
import { checkWritable, decodePngNode, lockFile, openZip, writeFileAtomicSync } from '../src/io/node.js';
import { plotSvg } from '../src/io/svg.js';
import { ZipArchive } from '../src/io/zip.js';
import { decodePng } from '../src/io/png.js';
import { damage, damageArb } from './helpers/arbitraries.js';
import { encodeZip } from './helpers/zip.js';

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out, 4, 8 + body.length));
  return out;
}

/** Encodes 8-bit samples (grey: `channels` 1, RGB: 3) at `depth` bits with the given filter per row. */
function encodePng(width: number, height: number, samples: number[], depth: number, channels: 1 | 3, filters: number[]): Uint8Array {
  const bitsPerPixel = depth * channels;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * channels; x++) {
      const v = samples[y * width * channels + x]!;
      if (depth === 8) rows[y * stride + x] = v;
      else {
        const bit = x * depth;
        rows[y * stride + (bit >> 3)]! |= v << (8 - depth - (bit & 7));
      }
    }
  }
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const f = filters[y % filters.length]!;
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = rows[y * stride + i]!;
      const a = i >= bpp ? rows[y * stride + i - bpp]! : 0;
      const b = y > 0 ? rows[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? rows[(y - 1) * stride + i - bpp]! : 0;
      const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f]!;
      raw[y * (stride + 1) + 1 + i] = (x - pred) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = depth;
  ihdr[9] = channels === 1 ? 0 : 2;
  const parts = [Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
}


/** Runs `f`; an error must be an Error whose message starts with `label`. Returns the result, or undefined after an error. */
function namedOrResult<T>(label: string, f: () => T): T | undefined {
  try {
    return f();
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message.startsWith(`${label}: `), (err as Error).message).toBe(true);
    return undefined;
  }
}

describe('crc32', () => {
  test('check value of "123456789"', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('PNG decoder', () => {
  test('round-trips greyscale at 1, 2, 4, 8 bits and RGB with every filter type', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 19 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom([1, 1], [2, 1], [4, 1], [8, 1], [8, 3]),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        (w, h, [depth, channels], filters, seed) => {
          const maxv = (1 << depth!) - 1;
          const samples = Array.from({ length: w * h * channels! }, (_, i) => (seed * 31 + i * 17 + ((i * i) >> 2)) % (maxv + 1));
          const img = decodePngNode(encodePng(w, h, samples, depth!, channels as 1 | 3, filters));
          expect([img.width, img.height]).toEqual([w, h]);
          for (let i = 0; i < w * h; i++) {
            const want = channels === 1 ? samples[i]! / maxv : (0.299 * samples[3 * i]! + 0.587 * samples[3 * i + 1]! + 0.114 * samples[3 * i + 2]!) / 255;
            expect(img.data[i]).toBeCloseTo(want, 6);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  test('corruption is reported, naming the file', () => {
    const png = encodePng(4, 4, Array(16).fill(1), 1, 1, [0]);
    const bad = png.slice();
    bad[40] = bad[40]! ^ 0xff;
    expect(() => decodePngNode(bad, 'x.png')).toThrow(/x\.png: chunk \S+: CRC mismatch/);
    expect(() => decodePngNode(png.slice(0, png.length - 12), 'y.png')).toThrow(/y\.png: missing IEND/);
    expect(() => decodePngNode(new Uint8Array(20), 'z.png')).toThrow(/z\.png: not a PNG file/);
    // A header chunk of the wrong length, or one claiming an absurd size, is named before any allocation.
    const withIhdr = (ihdr: Uint8Array) => {
      const parts = [png.subarray(0, 8), chunk('IHDR', ihdr), png.subarray(8 + 25)];
      return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
    };
    expect(() => decodePngNode(withIhdr(new Uint8Array(12).fill(1)), 'h.png')).toThrow(/h\.png: IHDR is 12 bytes, not 13/);
    const huge = png.slice(16, 29);
    new DataView(huge.buffer).setUint32(0, 100_000);
    new DataView(huge.buffer).setUint32(4, 100_000);
    expect(() => decodePngNode(withIhdr(huge), 'big.png')).toThrow(/big\.png: 100000×100000 pixels is more than this decoder takes/);
    expect(decodePngNode(withIhdr(png.slice(16, 29)), 'same.png').width).toBe(4); // the helper itself keeps a good file good
  });
});

const omniglot = join(__dirname, '..', '..', 'shared', 'data', 'omniglot', 'images_background_small1.zip');

describe('ZIP reader', () => {
  const files: [string, Uint8Array][] = [
    ['a/one.txt', new TextEncoder().encode('the first file, the first file, the first file')],
    ['a/two.bin', Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff)],
    ['b/three.png', encodePng(6, 5, Array.from({ length: 30 }, (_, i) => i & 1), 1, 1, [0, 1, 2, 3, 4])],
  ];

  test('reads stored and deflated entries of an archive this test writes', () => {
    for (const deflate of [false, true]) {
      const zip = new ZipArchive(encodeZip(files, deflate), undefined, 'w.zip');
      expect(zip.entries.map((e) => [e.name, e.method])).toEqual(files.map(([n]) => [n, deflate ? 8 : 0]));
      for (const [name, data] of files) expect(zip.read(name)).toEqual(data);
      expect(() => zip.read('c/none')).toThrow(/w\.zip: no entry named 'c\/none'/);
    }
    // The last directory entry's name length made to reach into the end record.
    const long = encodeZip(files, true);
    const lastName = long.length - 22 - 46 - files[2]![0].length;
    new DataView(long.buffer).setUint16(lastName + 28, files[2]![0].length + 5, true);
    expect(() => new ZipArchive(long, undefined, 'n.zip')).toThrow(/n\.zip: central directory entry 2 runs past the directory's end/);
  });

  test('a damaged archive (any bytes, headers included, or cut short) gives the original bytes or an error naming the archive', () => {
    fc.assert(
      fc.property(fc.boolean(), damageArb, (deflate, where) => {
        const bad = damage(encodeZip(files, deflate), where);
        const zip = namedOrResult('d.zip', () => new ZipArchive(bad, undefined, 'd.zip'));
        if (zip === undefined) return;
        zip.entries.forEach((e, i) => {
          const data = namedOrResult('d.zip', () => zip.read(e));
          if (data !== undefined) expect(data).toEqual(files[i]![1]);
        });
      }),
      { numRuns: 400 },
    );
  });

  test('a damaged PNG gives an image of the stated size or an error naming the file', () => {
    const png = files[2]![1];
    fc.assert(
      fc.property(damageArb, (where) => {
        const img = namedOrResult('p.png', () => decodePng(damage(png, where), undefined, 'p.png'));
        if (img !== undefined) expect(img.data.length).toBe(img.width * img.height);
      }),
      { numRuns: 400 },
    );
  });
});

describe.runIf(existsSync(omniglot))('ZIP reader on the real Omniglot archive', () => {
  test('lists the official layout and decodes a 105×105 1-bit image', () => {
    const zip = openZip(omniglot);
    const pngs = zip.entries.filter((e) => e.name.endsWith('.png'));
    expect(pngs.length).toBe(2720);
    expect(pngs[0]!.name).toMatch(/^images_background_small1\/[^/]+\/character\d\d\/\d{4}_\d\d\.png$/);
    const img = decodePngNode(zip.read(pngs[0]!), pngs[0]!.name);
    expect([img.width, img.height]).toEqual([105, 105]);
    expect(new Set(img.data)).toEqual(new Set([0, 1]));
  });

  test('a truncated or missing archive is an error naming the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-zip-'));
    try {
      const bytes = readFileSync(omniglot);
      const cut = join(dir, 'cut.zip');
      writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
      expect(() => openZip(cut)).toThrow(new RegExp(`${cut.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not a ZIP file`));
      const flipped = bytes.slice();
      const e = openZip(omniglot).entries.find((x) => x.name.endsWith('.png'))!;
      flipped[e.offset + 30 + e.name.length + 40] ^= 0x55;
      const bad = join(dir, 'bad.zip');
      writeFileSync(bad, flipped);
      expect(() => openZip(bad).read(e.name)).toThrow(/bad\.zip: entry '.*\.png': (CRC mismatch|cannot decompress|\d+ bytes after)/);
      expect(() => openZip(join(dir, 'none.zip'))).toThrow(/none\.zip: cannot read \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SVG plot', () => {
  const line = { label: 'truth', x: [0, 1, 2], y: [0, 1, 4], color: '#222' };

  test('one path per line series and one circle per point, every coordinate inside the canvas', () => {
    const svg = plotSvg([line, { label: 'points', x: [0.5, 1.5], y: [2, 3], color: 'red', style: 'points' }], { width: 300, height: 200 });
    expect(svg.match(/<path /g)).toHaveLength(1);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    const coords = [...svg.matchAll(/c?[xy]="(-?[\d.]+)"/g)].map((m) => Number(m[1]));
    expect(coords.length).toBeGreaterThan(0);
    for (const v of coords) expect(v >= 0 && v <= 300).toBe(true);
  });

  test('text is escaped, and a series that cannot be drawn is named', () => {
    const svg = plotSvg([{ ...line, label: 'a<b & "c"', color: '"/><script>' }], { title: "it's <1>" });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('a&lt;b &amp; &quot;c&quot;');
    expect(svg).toContain('it&#39;s &lt;1&gt;');
    expect(() => plotSvg([{ ...line, y: [0, 1] }])).toThrow(/plotSvg: series 'truth' has 3 x values but 2 y values/);
    expect(() => plotSvg([{ ...line, y: [0, NaN, 1] }])).toThrow(/plotSvg: series 'truth' has a non-finite point 1 \(1, NaN\)/);
    expect(() => plotSvg([{ ...line, x: [0, 1, Infinity] }])).toThrow(/plotSvg: series 'truth' has a non-finite point 2 \(Infinity, 4\)/);
    expect(() => plotSvg([line], { width: 0 })).toThrow(/plotSvg: width and height must be positive numbers, got 0 and 400/);
  });
});

describe('decompression is bounded', () => {
  /** Bytes the typed arrays of this process hold. */
  const held = (): number => process.memoryUsage().arrayBuffers;
  const bomb = new Uint8Array(64 * 2 ** 20); // 64 MiB of zeros deflate to 64 kB

  test('a ZIP entry inflates no further than the size it declares, with the portable inflater and with zlib', () => {
    const zip = encodeZip([['x.bin', bomb]], true, 100);
    expect(zip.length).toBeLessThan(100_000);
    const before = held();
    expect(() => new ZipArchive(zip, undefined, 'b.zip').read('x.bin')).toThrow(/^b\.zip: entry 'x\.bin': cannot decompress \(inflate: the output would exceed 100 bytes, the most expected\)$/);
    expect(held() - before).toBeLessThan(16 * 2 ** 20);
    const dir = mkdtempSync(join(tmpdir(), 'mg-bomb-'));
    try {
      writeFileSync(join(dir, 'b.zip'), zip);
      expect(() => openZip(join(dir, 'b.zip')).read('x.bin')).toThrow(/b\.zip: entry 'x\.bin': cannot decompress \(.*100/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an entry declaring more than the archive reads is refused before any work, and the limit can be raised; a huge declared size reserves nothing', () => {
    const tiny = encodeZip([['big.bin', Uint8Array.of(1, 2, 3)]], true, 0xfffffffe);
    expect(tiny.length).toBeLessThan(200);
    expect(() => new ZipArchive(tiny, undefined, 't.zip').read('big.bin')).toThrow(/^t\.zip: entry 'big\.bin' declares 4294967294 bytes, more than the 1073741824 this archive reads \(raise maxEntryBytes if the entry is genuine\)$/);
    const before = held();
    const raised = new ZipArchive(tiny, undefined, 't.zip', { maxEntryBytes: 2 ** 33 });
    expect(() => raised.read('big.bin')).toThrow(/t\.zip: entry 'big\.bin': 3 bytes after decompression, expected 4294967294/);
    expect(held() - before).toBeLessThan(16 * 2 ** 20);
    expect(() => new ZipArchive(tiny, undefined, 't.zip', { maxEntryBytes: -1 })).toThrow(/maxEntryBytes must be a non-negative number/);
  });

  test("a PNG's image data inflates no further than its header's size", () => {
    const ihdr = new Uint8Array(13);
    new DataView(ihdr.buffer).setUint32(0, 1);
    new DataView(ihdr.buffer).setUint32(4, 1);
    ihdr[8] = 8;
    const parts = [Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(bomb)), chunk('IEND', new Uint8Array(0))];
    const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((o, p) => (png.set(p, o), o + p.length), 0);
    const before = held();
    expect(() => decodePng(png, undefined, 'b.png')).toThrow(/^b\.png: cannot decompress image data \(inflate: the output would exceed 2 bytes, the most expected\)$/);
    expect(() => decodePngNode(png, 'b.png')).toThrow(/^b\.png: cannot decompress image data/);
    expect(held() - before).toBeLessThan(16 * 2 ** 20);
  });
});

/** A read-only file system to write into, where this process may mount one (root), else null. */
function readOnlyMount(): { dir: string; done: () => void } | null {
  const dir = mkdtempSync(join(tmpdir(), 'mg-ro-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir]);
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return { dir, done: () => (spawnSync('umount', [dir]), rmSync(dir, { recursive: true, force: true })) };
}

describe('lock files', () => {
  const ro = readOnlyMount();
  test.runIf(ro !== null)('on a read-only file system the real cause is named (EROFS), also where a directory is missing', () => {
    try {
      expect(() => lockFile(join(ro!.dir, 'run.safetensors'))).toThrow(/run\.safetensors: cannot write its lock file .* \(EROFS\)$/);
      expect(() => lockFile(join(ro!.dir, 'sub', 'run.safetensors'))).toThrow(/cannot write its lock file .* \(EROFS\)$/);
      expect(() => checkWritable(join(ro!.dir, 'a', 'b', 'x.svg'))).toThrow(/x\.svg: cannot write \(EROFS\)$/);
      expect(() => writeFileAtomicSync(join(ro!.dir, 'd', 'c.md'), 'x')).toThrow(/c\.md: cannot write \(EROFS\)$/);
    } finally {
      ro!.done();
    }
  });

  test('one holder at a time; a lock whose process is gone is taken over; release removes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-lock-'));
    try {
      const target = join(dir, 'sub', 'run.safetensors');
      const release = lockFile(target);
      expect(JSON.parse(readFileSync(`${target}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
      expect(() => lockFile(target)).toThrow(new RegExp(`run\\.safetensors is in use by another run \\(process ${process.pid}\\); stop it first, or remove .*run\\.safetensors\\.lock if no run uses it`));
      release();
      expect(existsSync(`${target}.lock`)).toBe(false);
      release(); // twice is harmless
      // A process id no system hands out: the holder is gone, so the lock is stale.
      writeFileSync(`${target}.lock`, JSON.stringify({ pid: 2 ** 30, host: hostname() }));
      const again = lockFile(target);
      expect(JSON.parse(readFileSync(`${target}.lock`, 'utf8')).pid).toBe(process.pid);
      again();
      writeFileSync(`${target}.lock`, ''); // its writer died before writing: stale
      lockFile(target)();
      // A file there that is not a lock may be someone's: refused, and left alone.
      writeFileSync(`${target}.lock`, 'my notes');
      expect(() => lockFile(target)).toThrow(/run\.safetensors\.lock exists but is not a lock file; remove it if no run uses .*run\.safetensors/);
      expect(readFileSync(`${target}.lock`, 'utf8')).toBe('my notes');
      rmSync(`${target}.lock`);
      // Another machine's process cannot be checked from here: refused, naming the machine.
      writeFileSync(`${target}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere' }));
      expect(() => lockFile(target)).toThrow(/in use by another run \(process 1 on elsewhere\)/);
      // A release does not remove a lock that another process has taken since.
      const mine = lockFile(join(dir, 'other'));
      writeFileSync(join(dir, 'other.lock'), JSON.stringify({ pid: 2 ** 30 + 1, host: hostname() }));
      mine();
      expect(existsSync(join(dir, 'other.lock'))).toBe(true);
      // A file where a parent directory should be is named as such (mkdir alone says EEXIST).
      writeFileSync(join(dir, 'plain'), 'x');
      expect(() => lockFile(join(dir, 'plain', 'deeper', 'run.safetensors'))).toThrow(/run\.safetensors: cannot write its lock file .*run\.safetensors\.lock \(ENOTDIR: .*plain is a file, not a directory\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
