/**
 * A minimal ZIP reader (no dependencies): the central directory, stored and deflated entries,
 * CRC-checked. Decompression defaults to the portable `inflateRaw` of inflate.ts, so the reader
 * runs anywhere; `src/io/node.ts` passes Node's faster zlib instead. ZIP64 archives are rejected with a clear
 * error. Every error names the archive (and the entry).
 */
import { crc32 } from './crc32.js';
import { inflateRaw as portableInflateRaw } from './inflate.js';

/**
 * Raw-DEFLATE decompression; `size` is the expected output length, and an implementation must
 * refuse (throw) rather than produce more than that.
 */
export type InflateRaw = (data: Uint8Array, size: number) => Uint8Array;

/** Options of {@link ZipArchive}. */
export interface ZipOptions {
  /** The largest entry (uncompressed) it will read; larger ones are refused before any work. Default 1 GiB. */
  maxEntryBytes?: number;
}

/** The default {@link ZipOptions.maxEntryBytes}. */
const MAX_ENTRY_BYTES = 2 ** 30;

/** The portable inflater, bounded by the entry's declared size. */
const boundedInflateRaw: InflateRaw = (data, size) => portableInflateRaw(data, size, size);

/** One file in an archive. */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  /** Offset of the entry's local header. */
  offset: number;
}

/**
 * An opened ZIP archive held in memory: `entries` lists its files; `read(name)` gives one
 * file's bytes, decompressed and CRC-checked. Errors name the archive (`label`) and the entry.
 */
export class ZipArchive {
  /** Every entry of the central directory, in archive order. */
  readonly entries: ZipEntry[];
  private readonly byName: Map<string, ZipEntry>;
  /** The largest entry it reads (see {@link ZipOptions}). */
  readonly maxEntryBytes: number;

  /** Parses the central directory of `bytes`; `label` (e.g. the file path) names it in errors. */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly inflateRaw: InflateRaw = boundedInflateRaw,
    /** What errors call the archive (its path, say). */
    readonly label = 'zip archive',
    options: ZipOptions = {},
  ) {
    this.maxEntryBytes = options.maxEntryBytes ?? MAX_ENTRY_BYTES;
    if (!(this.maxEntryBytes >= 0)) throw new RangeError(`ZipArchive: maxEntryBytes must be a non-negative number, got ${String(options.maxEntryBytes)}`);
    this.entries = this.readDirectory();
    this.byName = new Map(this.entries.map((e) => [e.name, e]));
  }

  private fail(msg: string): never {
    throw new Error(`${this.label}: ${msg}`);
  }

  private readDirectory(): ZipEntry[] {
    const b = this.bytes;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let eocd = -1;
    for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) {
      if (dv.getUint32(i, true) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.fail('not a ZIP file (no end-of-central-directory record); the file may be truncated or corrupt');
    const count = dv.getUint16(eocd + 10, true);
    const dirSize = dv.getUint32(eocd + 12, true);
    const dirOffset = dv.getUint32(eocd + 16, true);
    if (count === 0xffff || dirOffset === 0xffffffff) this.fail('ZIP64 archives are not supported');
    if (dirOffset + dirSize > eocd) this.fail('central directory lies outside the file (truncated or corrupt)');
    const entries: ZipEntry[] = [];
    let p = dirOffset;
    const decoder = new TextDecoder();
    for (let i = 0; i < count; i++) {
      if (p + 46 > b.length || dv.getUint32(p, true) !== 0x02014b50) this.fail(`central directory entry ${i} is corrupt`);
      const nameLen = dv.getUint16(p + 28, true);
      const extraLen = dv.getUint16(p + 30, true);
      const commentLen = dv.getUint16(p + 32, true);
      if (p + 46 + nameLen + extraLen + commentLen > eocd) this.fail(`central directory entry ${i} runs past the directory's end (corrupt)`);
      entries.push({
        method: dv.getUint16(p + 10, true),
        crc: dv.getUint32(p + 16, true),
        compressedSize: dv.getUint32(p + 20, true),
        size: dv.getUint32(p + 24, true),
        offset: dv.getUint32(p + 42, true),
        name: decoder.decode(b.subarray(p + 46, p + 46 + nameLen)),
      });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  }

  /** The entry called `name`, or undefined. */
  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /** The uncompressed bytes of an entry, CRC-checked. */
  read(entryOrName: ZipEntry | string): Uint8Array {
    const e = typeof entryOrName === 'string' ? this.byName.get(entryOrName) : entryOrName;
    if (e === undefined) this.fail(`no entry named '${String(entryOrName)}'`);
    const b = this.bytes;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (e.offset + 30 > b.length || dv.getUint32(e.offset, true) !== 0x04034b50) this.fail(`entry '${e.name}': local header is corrupt`);
    const localNameLen = dv.getUint16(e.offset + 26, true);
    const localName = new TextDecoder().decode(b.subarray(e.offset + 30, Math.min(b.length, e.offset + 30 + localNameLen)));
    // The directory and the entry's own header name it twice: a flipped bit in either shows here.
    if (localName !== e.name) this.fail(`entry '${e.name}': its local header names it '${localName}' (corrupt archive)`);
    const start = e.offset + 30 + localNameLen + dv.getUint16(e.offset + 28, true);
    if (start + e.compressedSize > b.length) this.fail(`entry '${e.name}': data runs past the end of the file (truncated)`);
    const raw = b.subarray(start, start + e.compressedSize);
    if (e.size > this.maxEntryBytes) this.fail(`entry '${e.name}' declares ${e.size} bytes, more than the ${this.maxEntryBytes} this archive reads (raise maxEntryBytes if the entry is genuine)`);
    let data: Uint8Array;
    if (e.method === 0) data = raw;
    else if (e.method === 8) {
      try {
        data = this.inflateRaw(raw, e.size);
      } catch (err) {
        this.fail(`entry '${e.name}': cannot decompress (${err instanceof Error ? err.message : String(err)})`);
      }
    } else this.fail(`entry '${e.name}': compression method ${e.method} is not supported (only stored and deflate)`);
    if (data.length !== e.size) this.fail(`entry '${e.name}': ${data.length} bytes after decompression, expected ${e.size}`);
    if (crc32(data) !== e.crc) this.fail(`entry '${e.name}': CRC mismatch (corrupt data)`);
    return data;
  }
}
