/** Checkpoint format: safetensors encode/decode, validation, and atomic writes. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { crc32 } from '../src/io/crc32.js';
import { loadSafetensors, saveSafetensors } from '../src/io/node.js';
import { makeTensor, shapeArb } from './helpers/arbitraries.js';

describe('safetensors', () => {
  test('round-trips named float32 and float64 tensors and metadata exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ shape: shapeArb(0, 3), f64: fc.boolean() }), { maxLength: 5 }), fc.nat(), (specs, seed) => {
        const tensors = Object.fromEntries(specs.map((s, i) => [`layer${i}.w`, makeTensor(s.shape, seed + i, 'any', s.f64 ? 'float64' : 'float32')]));
        const { tensors: back, metadata } = mg.decodeSafetensors(mg.encodeSafetensors(tensors, { step: '42' }));
        expect(metadata).toEqual({ step: '42' });
        expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
        for (const [k, t] of Object.entries(tensors)) {
          expect(back[k]!.dtype).toBe(t.dtype);
          expect(back[k]!.shape).toEqual(t.shape);
          expect(Array.from(back[k]!.data)).toEqual(Array.from(t.data));
        }
      }),
      { numRuns: 100 },
    );
  });

  test('the byte layout is the published one (u64 header length, 8-aligned JSON, little-endian data)', () => {
    const bytes = mg.encodeSafetensors({ w: mg.tensor([1, 2], { shape: [1, 2] }) });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const data = bytes.subarray(8 + n);
    expect(Array.from(data)).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as { __metadata__: Record<string, string> };
    expect(header).toEqual({
      __metadata__: { data_crc32: crc32(data).toString(16).padStart(8, '0'), file_crc32: header.__metadata__.file_crc32 },
      w: { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] },
    });
  });

  test('the data section\'s CRC-32 is written and checked: any damaged data byte is named, a file without one (from elsewhere) still loads', () => {
    const tensors = { a: mg.tensor([1, 2, 3]), b: mg.tensor([[0.5, -4]], { dtype: 'float64' }) };
    const good = mg.encodeSafetensors(tensors, { note: 'kept' });
    const n = Number(new DataView(good.buffer).getBigUint64(0, true));
    expect(mg.decodeSafetensors(good).metadata).toEqual({ note: 'kept' }); // the checksum is not handed back
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bad = good.slice();
        bad[8 + n + (at % (good.length - 8 - n))]! ^= xor;
        expect(() => mg.decodeSafetensors(bad, 'f')).toThrow(/^f: the tensor data's CRC-32 is [0-9a-f]{8}, the header recorded [0-9a-f]{8}: the data is damaged$/);
      }),
      { numRuns: 50 },
    );
    const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + n))) as { __metadata__: Record<string, string> };
    const rewritten = (meta: Record<string, string>) => {
      const json = new TextEncoder().encode(JSON.stringify({ ...header, __metadata__: meta }).padEnd(n, ' '));
      expect(json.length).toBe(n);
      const out = good.slice();
      out.set(json, 8);
      return out;
    };
    expect(mg.decodeSafetensors(rewritten({ note: 'kept', other: 'x'.repeat(13) })).tensors.b!.toArray()).toEqual([[0.5, -4]]);
    expect(() => mg.decodeSafetensors(rewritten({ note: 'kept', data_crc32: 'nothex!!' }), 'f')).toThrow(/f: 'data_crc32' is "nothex!!", not 8 hex digits/);
    expect(() => mg.encodeSafetensors(tensors, { data_crc32: '0' })).toThrow(/encodeSafetensors: metadata 'data_crc32' is reserved/);
  });

  test('every single-bit flip of a small checkpoint, header and metadata included, is refused or loads the same tensors and metadata', () => {
    const tensors = { 'params.0': mg.tensor([[1.5, -2], [0.25, 3]]), 'outer.m.0': mg.tensor([0.5, 0, -1, 2], { dtype: 'float64' }) };
    const metadata = { metagrad: JSON.stringify({ iteration: 12, rng: [1, 2, 3, 4, 5, 6], config: { seed: 0, method: 'maml' } }), run: '{"preset":"x","seed":0}' };
    const good = mg.encodeSafetensors(tensors, metadata);
    const flat = (r: ReturnType<typeof mg.decodeSafetensors>) => JSON.stringify(Object.entries(r.tensors).map(([k, t]) => [k, t.dtype, t.shape, Array.from(t.data)]));
    const want = flat(mg.decodeSafetensors(good));
    let refused = 0;
    for (let bit = 0; bit < 8 * good.length; bit++) {
      const bad = good.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      let got: ReturnType<typeof mg.decodeSafetensors>;
      try {
        got = mg.decodeSafetensors(bad, 'ckpt');
      } catch (e) {
        expect((e as Error).message).toMatch(/^ckpt: /);
        refused++;
        continue;
      }
      // Loaded: only a flip in a checksum's own key name can get here, which leaves every value as written.
      expect(flat(got), `bit ${bit}`).toBe(want);
      for (const [k, v] of Object.entries(metadata)) expect(got.metadata[k], `bit ${bit}`).toBe(v);
    }
    expect(refused).toBeGreaterThan(0.97 * 8 * good.length);
    // A changed seed in the metadata, rewritten by hand with the same length: refused.
    const n = Number(new DataView(good.buffer).getBigUint64(0, true));
    const at = new TextDecoder().decode(good.subarray(8, 8 + n)).indexOf('\\"seed\\":0') + 8 + '\\"seed\\":'.length;
    const reseeded = good.slice();
    reseeded[at] = '1'.charCodeAt(0);
    expect(mg.decodeSafetensors(good).metadata.metagrad).toContain('"seed":0');
    expect(() => mg.decodeSafetensors(reseeded, 'ckpt')).toThrow(/ckpt: the file's CRC-32 is [0-9a-f]{8}, the header recorded [0-9a-f]{8}: the header or its metadata is damaged/);
  });

  test('headers that JSON.parse would read leniently are refused: repeated keys, null metadata, shapes past 2^53; empty tensors overlap nothing wherever listed', () => {
    const withHeader = (json: string, dataBytes = 16) => {
      const h = new TextEncoder().encode(json);
      const out = new Uint8Array(8 + h.length + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
      out.set(h, 8);
      return out;
    };
    const a = '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
    expect(() => mg.decodeSafetensors(withHeader(`{${a},${a.replace('[0,8]', '[8,16]')}}`), 'f')).toThrow(/f: the header repeats the key "a"/);
    expect(() => mg.decodeSafetensors(withHeader(`{"__metadata__":{"s":"1"},"__metadata__":{"s":"2"},${a}}`), 'f')).toThrow(/repeats the key "__metadata__"/);
    expect(() => mg.decodeSafetensors(withHeader(`{"__metadata__":{"s":"1","s":"2"},${a}}`), 'f')).toThrow(/repeats the key "s"/);
    expect(mg.decodeSafetensors(withHeader(`{"__metadata__":{"k":"a\\"b","a":"x"},${a}}`)).metadata).toEqual({ k: 'a"b', a: 'x' });
    expect(() => mg.decodeSafetensors(withHeader(`{"__metadata__":null,${a}}`), 'f')).toThrow(/'__metadata__' is null/);
    expect(() => mg.decodeSafetensors(withHeader('{"a":{"dtype":"F32","shape":[0,1e308],"data_offsets":[0,0]}}'), 'f')).toThrow(/tensor 'a': invalid shape/);
    const empty = '"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}';
    for (const json of [`{${empty},${a}}`, `{${a},${empty}}`]) expect(mg.decodeSafetensors(withHeader(json)).tensors.e!.shape).toEqual([0]);
    const bytes = mg.encodeSafetensors({ w: mg.ones([2]) });
    expect(mg.decodeSafetensors(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer).tensors.w!.toArray()).toEqual([1, 1]);
    expect(() => mg.decodeSafetensors(null as never)).toThrow(/decodeSafetensors: expected the file's bytes as a Uint8Array or ArrayBuffer, got null/);
    expect(() => mg.encodeSafetensors({}, { file_crc32: '0' })).toThrow(/metadata 'file_crc32' is reserved/);
  });

  test('damage is named', () => {
    const good = mg.encodeSafetensors({ a: mg.zeros([4]), b: mg.ones([2]) });
    expect(() => mg.decodeSafetensors(good.subarray(0, 5), 'f')).toThrow(/f: too short/);
    expect(() => mg.decodeSafetensors(good.subarray(0, good.length - 3), 'f')).toThrow(/f: tensor '\w': data_offsets .* do not fit/);
    const withHeader = (h: object) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + 16);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    expect(() => mg.decodeSafetensors(withHeader({ a: { dtype: 'I8', shape: [2], data_offsets: [0, 2] } }), 'f')).toThrow(/dtype 'I8' is not supported/);
    expect(() => mg.decodeSafetensors(withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), 'f')).toThrow(/'a' and 'b' overlap/);
    expect(() => mg.decodeSafetensors(withHeader([1, 2]), 'f')).toThrow(/f: header is not a JSON object/);
    expect(() => mg.decodeSafetensors(withHeader({ a: null }), 'f')).toThrow(/tensor 'a': entry is not an object/);
    expect(() => mg.decodeSafetensors(withHeader({ __metadata__: { step: 3 } }), 'f')).toThrow(/'__metadata__' is not a map of strings/);
    expect(() => mg.decodeSafetensors(withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: ['0', '8'] } }), 'f')).toThrow(/tensor 'a': data_offsets \["0","8"\] do not fit/);
    // '__proto__' cannot be a key of a plain object: a tensor of that name would vanish silently.
    const protoHeader = new TextEncoder().encode('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
    const proto = new Uint8Array(8 + protoHeader.length + 4);
    new DataView(proto.buffer).setBigUint64(0, BigInt(protoHeader.length), true);
    proto.set(protoHeader, 8);
    expect(() => mg.decodeSafetensors(proto, 'f')).toThrow(/f: tensor name '__proto__' is not supported/);
    expect(() => mg.encodeSafetensors(JSON.parse('{"__proto__": 0}') as never)).toThrow(/encodeSafetensors: tensor name '__proto__' is not supported/);
    const bad = good.slice();
    bad[9] = 0x7b; bad[10] = 0x7b;
    expect(() => mg.decodeSafetensors(bad, 'f')).toThrow(/f: header is not valid JSON/);
  });

  test('files are written atomically into missing directories; a failed write leaves nothing behind and names the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-st-'));
    try {
      const path = join(dir, 'ckpt.safetensors');
      saveSafetensors(path, { w: mg.ones([3]) }, { iteration: '7' });
      expect(loadSafetensors(path).metadata).toEqual({ iteration: '7' });
      const blocked = join(dir, 'is-a-dir');
      mkdirSync(blocked);
      writeFileSync(join(blocked, 'keep'), 'x');
      expect(() => saveSafetensors(blocked, { w: mg.ones([3]) })).toThrow(/is-a-dir: cannot write/);
      expect(readFileSync(join(blocked, 'keep'), 'utf8')).toBe('x');
      saveSafetensors(join(dir, 'new', 'deeper', 'c.safetensors'), { w: mg.ones([1]) }, { iteration: '1' });
      expect(loadSafetensors(join(dir, 'new', 'deeper', 'c.safetensors')).metadata).toEqual({ iteration: '1' });
      expect(readdirSync(join(dir, 'new', 'deeper'))).toEqual(['c.safetensors']);
      writeFileSync(join(dir, 'plain-file'), 'y');
      expect(() => saveSafetensors(join(dir, 'plain-file', 'c.safetensors'), { w: mg.ones([1]) })).toThrow(/plain-file\/c\.safetensors: cannot write \((ENOTDIR|EEXIST)\)/);
      expect(readFileSync(join(dir, 'plain-file'), 'utf8')).toBe('y');
      expect(readdirSync(dir).sort()).toEqual(['ckpt.safetensors', 'is-a-dir', 'new', 'plain-file']);
      expect(() => loadSafetensors(join(dir, 'nope.safetensors'))).toThrow(/nope\.safetensors: cannot read \(ENOENT\)/);
      // Temporaries a killed writer left beside the file go with the next write; a live writer's stay.
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      const stale = [`ckpt.safetensors.tmp-${dead}-1`, `ckpt.safetensors.probe-${dead}-2`];
      const live = `ckpt.safetensors.tmp-${process.ppid}-3`;
      for (const f of [...stale, live, 'other.tmp-1-1']) writeFileSync(join(dir, f), 'x');
      saveSafetensors(path, { w: mg.ones([3]) }, { iteration: '8' });
      expect(readdirSync(dir).sort()).toEqual([live, 'ckpt.safetensors', 'is-a-dir', 'new', 'other.tmp-1-1', 'plain-file'].sort());
      expect(() => saveSafetensors(blocked, { w: mg.ones([1]) })).toThrow(/is-a-dir: cannot write \(it is a directory; name a file in it\)/);
      expect(existsSync(path)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
