/**
 * DEFLATE decompression (RFC 1951) and its zlib wrapper (RFC 1950), in plain TypeScript, so the
 * ZIP reader and PNG decoder run in any JavaScript runtime without a dependency. Node's zlib is
 * faster and is what `metagrad/node` uses; this is the portable default.
 *
 * Huffman codes are decoded canonically, one bit at a time against the count of codes of each
 * length (the method of zlib's reference decoder `puff`): no lookup tables to build per block,
 * which suits the many small streams of an image archive. Corrupt input raises an error that
 * says what is wrong (bad block type, code, distance, length, checksum or truncation; an
 * over-subscribed or incomplete code); a damaged stream is refused exactly when zlib refuses it.
 */

/** A canonical Huffman code: how many codes of each length 0..15, and the symbols in code order. */
interface Huffman {
  counts: Uint16Array;
  symbols: Uint16Array;
}

const MAX_BITS = 15;

// Base values and extra bits of the length codes 257..285 and the distance codes 0..29.
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
// Order in which a dynamic block lists the code lengths of the code-length alphabet.
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * Builds a canonical code from code lengths. An over-subscribed set of lengths is always an
 * error. An incomplete set (some bit patterns left unassigned) is refused too unless `incomplete`
 * allows it: zlib takes one only for the fixed distance code and for a code with at most one
 * symbol (`'single'`), and this decoder accepts exactly the streams zlib accepts.
 */
function huffman(lengths: ArrayLike<number>, n: number, what: string, incomplete: 'never' | 'single' | 'always' = 'single'): Huffman {
  const counts = new Uint16Array(MAX_BITS + 1);
  for (let s = 0; s < n; s++) counts[lengths[s]!]!++;
  counts[0] = 0;
  let left = 1;
  let longest = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    left = left * 2 - counts[len]!;
    if (left < 0) throw new Error(`inflate: over-subscribed ${what} code`);
    if (counts[len]! > 0) longest = len;
  }
  if (left > 0 && longest > 0 && (incomplete === 'never' || (incomplete === 'single' && longest !== 1))) {
    throw new Error(`inflate: incomplete ${what} code`);
  }
  const offs = new Uint16Array(MAX_BITS + 2);
  for (let len = 1; len <= MAX_BITS; len++) offs[len + 1] = offs[len]! + counts[len]!;
  const symbols = new Uint16Array(n);
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbols[offs[lengths[s]!]!++] = s;
  return { counts, symbols };
}

let fixed: [Huffman, Huffman] | null = null;

/** The fixed codes of block type 1. */
function fixedCodes(): [Huffman, Huffman] {
  if (fixed === null) {
    const l = new Uint8Array(288);
    l.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixed = [huffman(l, 288, 'literal/length'), huffman(new Uint8Array(30).fill(5), 30, 'distance', 'always')];
  }
  return fixed;
}

/** DEFLATE's largest expansion: a 258-byte match costs at least 2 bits, so about 1,032 output bytes per input byte. */
const MAX_RATIO = 1032;

/** Output buffer that doubles as it fills, up to `limit` bytes (past which the stream is refused). */
class Output {
  buf: Uint8Array;
  n = 0;
  constructor(
    hint: number,
    private readonly limit: number,
    srcLength: number,
  ) {
    // Never reserve more than the stream could produce, nor more than the limit: a header that
    // declares 4 GiB must not allocate them.
    this.buf = new Uint8Array(Math.max(64, Math.min(hint, limit, srcLength * MAX_RATIO + 64)));
  }
  reserve(extra: number): void {
    if (this.n + extra > this.limit) throw new Error(`inflate: the output would exceed ${this.limit} bytes, the most expected`);
    if (this.n + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + extra) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
}

class Inflater {
  private pos = 0;
  private bitBuf = 0;
  private bitCount = 0;
  readonly out: Output;

  constructor(
    private readonly src: Uint8Array,
    sizeHint: number,
    limit: number,
  ) {
    this.out = new Output(sizeHint, limit, src.length);
  }

  /** Byte offset just past the last byte consumed (after alignment). */
  get consumed(): number {
    return this.pos;
  }

  private bits(need: number): number {
    let v = this.bitBuf;
    while (this.bitCount < need) {
      if (this.pos >= this.src.length) throw new Error('inflate: unexpected end of compressed data');
      v |= this.src[this.pos++]! << this.bitCount;
      this.bitCount += 8;
    }
    this.bitBuf = v >>> need;
    this.bitCount -= need;
    return v & ((1 << need) - 1);
  }

  private decode(h: Huffman): number {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len <= MAX_BITS; len++) {
      code |= this.bits(1);
      const count = h.counts[len]!;
      if (code - count < first) return h.symbols[index + (code - first)]!;
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new Error('inflate: invalid Huffman code');
  }

  private stored(): void {
    this.bitBuf = 0;
    this.bitCount = 0;
    if (this.pos + 4 > this.src.length) throw new Error('inflate: unexpected end of compressed data');
    const s = this.src;
    const len = s[this.pos]! | (s[this.pos + 1]! << 8);
    const nlen = s[this.pos + 2]! | (s[this.pos + 3]! << 8);
    this.pos += 4;
    if (len !== (~nlen & 0xffff)) throw new Error('inflate: stored block length does not match its complement');
    if (this.pos + len > s.length) throw new Error('inflate: unexpected end of compressed data');
    this.out.reserve(len);
    this.out.buf.set(s.subarray(this.pos, this.pos + len), this.out.n);
    this.out.n += len;
    this.pos += len;
  }

  private codes(lit: Huffman, dist: Huffman): void {
    const out = this.out;
    for (;;) {
      const sym = this.decode(lit);
      if (sym < 256) {
        out.reserve(1);
        out.buf[out.n++] = sym;
      } else if (sym === 256) {
        return;
      } else {
        const li = sym - 257;
        if (li >= 29) throw new Error(`inflate: invalid length code ${sym}`);
        const len = LENGTH_BASE[li]! + this.bits(LENGTH_EXTRA[li]!);
        const di = this.decode(dist);
        if (di >= 30) throw new Error(`inflate: invalid distance code ${di}`);
        const d = DIST_BASE[di]! + this.bits(DIST_EXTRA[di]!);
        if (d > out.n) throw new Error(`inflate: distance ${d} reaches before the start of the output`);
        out.reserve(len);
        const b = out.buf;
        let o = out.n;
        if (d >= len) b.copyWithin(o, o - d, o - d + len);
        else for (let i = 0; i < len; i++, o++) b[o] = b[o - d]!;
        out.n += len;
      }
    }
  }

  private dynamic(): void {
    const nlen = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncode = this.bits(4) + 4;
    if (nlen > 286 || ndist > 30) throw new Error('inflate: too many length or distance codes');
    const lengths = new Uint8Array(320);
    for (let i = 0; i < ncode; i++) lengths[CLEN_ORDER[i]!] = this.bits(3);
    const clen = huffman(lengths, 19, 'code-length', 'never');
    lengths.fill(0);
    let i = 0;
    while (i < nlen + ndist) {
      const sym = this.decode(clen);
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let value = 0;
      let repeat: number;
      if (sym === 16) {
        if (i === 0) throw new Error('inflate: repeat of a code length with none before it');
        value = lengths[i - 1]!;
        repeat = 3 + this.bits(2);
      } else if (sym === 17) repeat = 3 + this.bits(3);
      else repeat = 11 + this.bits(7);
      if (i + repeat > nlen + ndist) throw new Error('inflate: code lengths run past their count');
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
    if (lengths[256] === 0) throw new Error('inflate: no end-of-block code');
    const lit = huffman(lengths.subarray(0, nlen), nlen, 'literal/length');
    const dist = huffman(lengths.subarray(nlen, nlen + ndist), ndist, 'distance');
    this.codes(lit, dist);
  }

  run(): Uint8Array {
    let last = 0;
    while (!last) {
      last = this.bits(1);
      const type = this.bits(2);
      if (type === 0) this.stored();
      else if (type === 1) this.codes(...fixedCodes());
      else if (type === 2) this.dynamic();
      else throw new Error('inflate: invalid block type 3');
    }
    return this.out.buf.slice(0, this.out.n);
  }
}

/**
 * Decompresses a raw DEFLATE stream (as in ZIP entries). `sizeHint`, when known, sizes the
 * output buffer up front; a stream that would produce more than `limit` bytes is refused as soon
 * as it gets there, so a small damaged or crafted stream cannot fill memory.
 */
export function inflateRaw(data: Uint8Array, sizeHint = data.length * 4, limit = Infinity): Uint8Array {
  return new Inflater(data, sizeHint, limit).run();
}

/**
 * Decompresses a zlib stream (as in PNG image data): header checked, Adler-32 verified; more than
 * `limit` bytes of output are refused as they come.
 */
export function inflateZlib(data: Uint8Array, limit = Infinity): Uint8Array {
  if (data.length < 6) throw new Error('inflate: zlib stream too short');
  const cmf = data[0]!, flg = data[1]!;
  if ((cmf & 0x0f) !== 8) throw new Error(`inflate: zlib compression method ${cmf & 0x0f}, expected 8 (deflate)`);
  if (((cmf << 8) | flg) % 31 !== 0) throw new Error('inflate: zlib header check failed');
  if (flg & 0x20) throw new Error('inflate: zlib preset dictionaries are not supported');
  const inf = new Inflater(data.subarray(2), Math.min(data.length * 4, limit), limit);
  const out = inf.run();
  const at = 2 + inf.consumed;
  if (at + 4 > data.length) throw new Error('inflate: zlib stream ends before its Adler-32 checksum');
  const want = ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
  const got = adler32(out);
  if (got !== want) throw new Error(`inflate: Adler-32 mismatch (data ${got.toString(16)}, stream says ${want.toString(16)})`);
  return out;
}

/** Adler-32 of `bytes` (RFC 1950). */
export function adler32(bytes: Uint8Array): number {
  let a = 1, b = 0;
  for (let i = 0; i < bytes.length; ) {
    const end = Math.min(bytes.length, i + 5552); // the largest run before the sums can overflow 2^32
    for (; i < end; i++) {
      a += bytes[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}
