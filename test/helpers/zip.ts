/** A ZIP writer for tests: stored or deflated entries, optionally declaring another uncompressed size. */
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/io/crc32.js';

/** A ZIP archive of `files` (stored when `deflate` is false), as the format's specification lays it out: local headers and data, then the central directory and its end record. */
export function encodeZip(files: [string, Uint8Array][], deflate: boolean, declaredSize?: number): Uint8Array {
  const local: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = new TextEncoder().encode(name);
    const body = deflate ? new Uint8Array(deflateRawSync(data)) : data;
    // The local header and the directory entry hold the same fields from method to name length,
    // the directory's 2 bytes further on (after its 'version made by').
    const shared = (dv: DataView, at: number) => {
      dv.setUint16(at, deflate ? 8 : 0, true);
      dv.setUint32(at + 6, crc32(data), true);
      dv.setUint32(at + 10, body.length, true);
      dv.setUint32(at + 14, declaredSize ?? data.length, true);
      dv.setUint16(at + 18, nameBytes.length, true);
    };
    const head = new Uint8Array(30 + nameBytes.length);
    new DataView(head.buffer).setUint32(0, 0x04034b50, true);
    shared(new DataView(head.buffer), 8);
    head.set(nameBytes, 30);
    const dir = new Uint8Array(46 + nameBytes.length);
    const d = new DataView(dir.buffer);
    d.setUint32(0, 0x02014b50, true);
    shared(d, 10);
    d.setUint32(42, offset, true);
    dir.set(nameBytes, 46);
    local.push(head, body);
    central.push(dir);
    offset += head.length + body.length;
  }
  const dirSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, files.length, true);
  e.setUint16(10, files.length, true);
  e.setUint32(12, dirSize, true);
  e.setUint32(16, offset, true);
  return Uint8Array.from([...local, ...central, end].flatMap((part) => Array.from(part)));
}
