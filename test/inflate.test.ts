/**
 * The portable inflate against Node's zlib: random and repetitive data compressed at every level
 * and strategy (stored, fixed and dynamic Huffman blocks, long matches, overlapping copies), the
 * zlib wrapper's checks, and clear errors on corrupt streams.
 */
import fc from 'fast-check';
import { constants, deflateRawSync, deflateSync, inflateRawSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { adler32, inflateRaw, inflateZlib } from '../src/io/inflate.js';
import { damage, damageArb } from './helpers/arbitraries.js';

/** Bytes with structure zlib can exploit: runs, repeats at various distances, and noise. */
const data = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.record({ byte: fc.integer({ min: 0, max: 255 }), n: fc.integer({ min: 1, max: 600 }) }).map(({ byte, n }) => new Uint8Array(n).fill(byte)),
      fc.record({ unit: fc.uint8Array({ minLength: 1, maxLength: 40 }), times: fc.integer({ min: 1, max: 80 }) }).map(({ unit, times }) => {
        const out = new Uint8Array(unit.length * times);
        for (let i = 0; i < times; i++) out.set(unit, i * unit.length);
        return out;
      }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  });

const settings = fc.record({
  level: fc.integer({ min: 0, max: 9 }),
  strategy: fc.constantFrom(constants.Z_DEFAULT_STRATEGY, constants.Z_FIXED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FILTERED),
});

describe('inflate', () => {
  test('raw DEFLATE from zlib at every level and strategy decompresses to the original', () => {
    fc.assert(
      fc.property(data, settings, (bytes, opts) => {
        const z = deflateRawSync(bytes, opts);
        expect(Buffer.from(inflateRaw(z)).equals(Buffer.from(bytes))).toBe(true);
        expect(Buffer.from(inflateRaw(z, 1)).equals(Buffer.from(bytes))).toBe(true); // buffer grows from a tiny hint
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  test('a large stream with stored blocks longer than 64 kB and far matches', () => {
    const bytes = new Uint8Array(300_000);
    let s = 12345;
    for (let i = 0; i < bytes.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      bytes[i] = i > 40_000 && i % 3 === 0 ? bytes[i - 32_000]! : s >>> 24;
    }
    for (const level of [0, 1, 9]) expect(Buffer.from(inflateRaw(deflateRawSync(bytes, { level }))).equals(Buffer.from(bytes))).toBe(true);
  });

  test('zlib streams: header and Adler-32 checked', () => {
    fc.assert(
      fc.property(data, (bytes) => {
        const z = deflateSync(bytes);
        expect(Buffer.from(inflateZlib(z)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 100, seed: 8 },
    );
    const z = new Uint8Array(deflateSync(new TextEncoder().encode('metagrad metagrad metagrad')));
    const badSum = z.slice();
    badSum[badSum.length - 1]! ^= 1;
    expect(() => inflateZlib(badSum)).toThrow(/Adler-32 mismatch/);
    const badHeader = z.slice();
    badHeader[1]! ^= 1;
    expect(() => inflateZlib(badHeader)).toThrow(/header check failed/);
    expect(() => inflateZlib(z.subarray(0, z.length - 2))).toThrow(/before its Adler-32/);
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
  });

  test('a damaged stream is refused exactly when zlib refuses it, with an inflate error, and otherwise decodes as zlib does', () => {
    fc.assert(
      fc.property(data, settings, damageArb, (bytes, { level, strategy }, where) => {
        const bad = damage(new Uint8Array(deflateRawSync(bytes, { level, strategy })), where);
        let ours: Uint8Array | Error;
        try {
          ours = inflateRaw(bad);
        } catch (err) {
          ours = err as Error;
        }
        if (ours instanceof Error) expect(ours.message).toMatch(/^inflate: /);
        let theirs: Uint8Array | Error;
        try {
          theirs = new Uint8Array(inflateRawSync(bad));
        } catch (err) {
          theirs = err as Error;
        }
        if (theirs instanceof Error) expect(ours, `zlib refused it: ${theirs.message}`).toBeInstanceOf(Error);
        else expect(ours).toEqual(theirs);
      }),
      { numRuns: 300 },
    );
  });

  test('corrupt streams give errors that say what is wrong', () => {
    const z = new Uint8Array(deflateRawSync(new TextEncoder().encode('a few words, a few words, a few more words'.repeat(20))));
    expect(() => inflateRaw(z.subarray(0, z.length >> 1))).toThrow(/unexpected end of compressed data/);
    expect(() => inflateRaw(Uint8Array.of(0b111))).toThrow(/invalid block type 3/);
    expect(() => inflateRaw(Uint8Array.of(0b001, 0x05, 0x00, 0x00, 0x00))).toThrow(/stored block length does not match/);
    // fixed block: literal 'a' then a match at distance 2 with only one byte of output
    expect(() => inflateRaw(fixedBlock([[0x61, 8, 0x30 + 0x61], [257, 7, 1], [1, 5, 1]]))).toThrow(/distance 2 reaches before the start/);
  });
});

/**
 * Writes a final fixed-Huffman block from [symbol, code length, code] triples (Huffman codes are
 * sent most significant bit first, as RFC 1951 §3.1.1 says), then end-of-block.
 */
function fixedBlock(codes: [number, number, number][]): Uint8Array {
  const bits: number[] = [1, 1, 0]; // BFINAL = 1, BTYPE = 01 (fixed), least significant bit first
  for (const [, len, code] of [...codes, [256, 7, 0] as [number, number, number]]) for (let b = len - 1; b >= 0; b--) bits.push((code >> b) & 1);
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => (out[i >> 3]! |= b << (i & 7)));
  return out;
}
