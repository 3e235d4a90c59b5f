/**
 * A minimal PNG decoder (no dependencies) to grayscale floats in [0, 1]: greyscale, grey+alpha,
 * RGB and RGBA at 8 bits, and greyscale at 1, 2, 4 and 8 bits (Omniglot's images are 1-bit
 * greyscale); every scanline filter; chunk CRCs checked. Interlaced and 16-bit images are
 * rejected with a clear error. Decompression (`inflate`: zlib stream → bytes) defaults to the
 * portable `inflateZlib` of inflate.ts; `src/io/node.ts` passes Node's zlib.
 */
import { crc32 } from './crc32.js';
import { inflateZlib } from './inflate.js';

/** zlib-stream decompression; past `limit` bytes of output an implementation must throw. */
export type Inflate = (data: Uint8Array, limit: number) => Uint8Array;

/** A decoded image: `height × width` grey levels in [0, 1], row-major. */
export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** 16,384² pixels: beyond this the float output (1 GiB) is refused rather than failing to allocate. */
const MAX_PIXELS = 2 ** 28;

/** Decodes a PNG file to grey levels; errors name `label` (a file or archive entry). */
export function decodePng(bytes: Uint8Array, inflate: Inflate = inflateZlib, label = 'PNG'): GrayImage {
  const fail = (msg: string): never => {
    throw new Error(`${label}: ${msg}`);
  };
  if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v)) fail('not a PNG file (bad signature)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 8;
  let width = 0, height = 0, depth = 0, colour = -1;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  while (p + 12 <= bytes.length) {
    const len = dv.getUint32(p);
    const type = String.fromCharCode(bytes[p + 4]!, bytes[p + 5]!, bytes[p + 6]!, bytes[p + 7]!);
    if (p + 12 + len > bytes.length) fail(`chunk ${type} runs past the end of the file (truncated)`);
    if (crc32(bytes, p + 4, p + 8 + len) !== dv.getUint32(p + 8 + len)) fail(`chunk ${type}: CRC mismatch (corrupt data)`);
    const body = bytes.subarray(p + 8, p + 8 + len);
    if (type === 'IHDR') {
      if (len !== 13) fail(`IHDR is ${len} bytes, not 13 (corrupt)`);
      const h = new DataView(body.buffer, body.byteOffset, body.byteLength);
      width = h.getUint32(0);
      height = h.getUint32(4);
      depth = body[8]!;
      colour = body[9]!;
      if (body[12] !== 0) fail('interlaced PNGs are not supported');
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
    p += 12 + len;
  }
  if (width === 0 || height === 0) fail('missing or empty IHDR');
  if (width * height > MAX_PIXELS) fail(`${width}×${height} pixels is more than this decoder takes (${MAX_PIXELS})`);
  if (!sawEnd) fail('missing IEND (truncated file)');
  const channels = colour === 0 ? 1 : colour === 4 ? 2 : colour === 2 ? 3 : colour === 6 ? 4 : fail(`colour type ${colour} is not supported`);
  if (!(depth === 8 || (colour === 0 && (depth === 1 || depth === 2 || depth === 4)))) fail(`bit depth ${depth} with colour type ${colour} is not supported`);
  const joined = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  idat.reduce((o, c) => (joined.set(c, o), o + c.length), 0);
  const bitsPerPixel = depth * channels;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const expected = height * (stride + 1);
  let raw: Uint8Array;
  try {
    // The header fixes the size of the image data: decompression stops there.
    raw = inflate(joined, expected);
  } catch (err) {
    return fail(`cannot decompress image data (${err instanceof Error ? err.message : String(err)})`);
  }
  if (raw.length !== expected) fail(`image data has ${raw.length} bytes, expected ${expected}`);
  // Undo the scanline filters in place, row by row.
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const cur = y * stride;
    const prev = cur - stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[src + i]!;
      const a = i >= bpp ? rows[cur + i - bpp]! : 0;
      const b = y > 0 ? rows[prev + i]! : 0;
      const c = i >= bpp && y > 0 ? rows[prev + i - bpp]! : 0;
      let v: number;
      if (f === 0) v = x;
      else if (f === 1) v = x + a;
      else if (f === 2) v = x + b;
      else if (f === 3) v = x + ((a + b) >> 1);
      else if (f === 4) {
        const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      } else return fail(`row ${y}: unknown filter type ${f}`);
      rows[cur + i] = v & 0xff;
    }
  }
  const out = new Float32Array(width * height);
  const maxv = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let g: number;
      if (depth < 8) {
        const bit = x * depth;
        g = ((rows[y * stride + (bit >> 3)]! >> (8 - depth - (bit & 7))) & maxv) / maxv;
      } else {
        const o = y * stride + x * channels;
        g = channels >= 3 ? (0.299 * rows[o]! + 0.587 * rows[o + 1]! + 0.114 * rows[o + 2]!) / 255 : rows[o]! / 255;
      }
      out[y * width + x] = g;
    }
  }
  return { width, height, data: out };
}
