/**
 * The safetensors format (Hugging Face), so checkpoints can be read by other frameworks:
 *
 *   [u64 little-endian N][N bytes of JSON header, space-padded to a multiple of 8][data]
 *
 * The header maps each tensor name to `{ dtype: "F32" | "F64", shape, data_offsets: [begin, end] }`
 * (offsets relative to the start of the data) and may hold `"__metadata__"`, a map of strings.
 * Data are little-endian, row-major. Reading validates everything and names what is wrong.
 *
 * The format has no checksum, so a flipped bit would load as a slightly different weight, or a
 * different iteration count, seed or sampler state. Writing therefore records two CRC-32s in the
 * metadata (8 hex digits each; other readers see two more strings and ignore them):
 * `data_crc32`, of the data section, and `file_crc32`, of every byte of the file with its own 8
 * digits read as '0's, so the length prefix, the header and the metadata are covered too.
 * Reading checks each when it is there (files from elsewhere have neither) and hands back the
 * metadata without them. The header must also be a JSON object without repeated keys (a repeated
 * key would silently win over the first).
 */
import { sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { describeValue, isRecord } from '../checks.js';
import { crc32 } from './crc32.js';

/** A tensor called '__proto__' cannot be a key of a plain object: it would vanish without a word. */
const PROTO = "tensor name '__proto__' is not supported (it cannot be a key of a plain object)";

const DTYPES = { float32: ['F32', 4], float64: ['F64', 8] } as const;

/** The metadata key of the data section's CRC-32. */
const CRC_KEY = 'data_crc32';
/** The metadata key of the whole file's CRC-32. */
const FILE_CRC_KEY = 'file_crc32';
/** The bytes standing for the file's CRC-32 while it is computed. */
const ZEROS = new TextEncoder().encode('00000000');

/** Where the 8 hex digits of `"file_crc32":"…"` start in `bytes[start, end)`, or -1; -2 if the key is there twice. */
function fileCrcAt(bytes: Uint8Array, start: number, end: number): number {
  const key = new TextEncoder().encode(`"${FILE_CRC_KEY}":"`);
  let found = -1;
  outer: for (let i = start; i + key.length + 8 <= end; i++) {
    for (let j = 0; j < key.length; j++) if (bytes[i + j] !== key[j]) continue outer;
    if (found >= 0) return -2;
    found = i + key.length;
  }
  return found;
}

/** CRC-32 of `bytes` with the 8 bytes at `at` read as ASCII '0's. */
function fileCrc(bytes: Uint8Array, at: number): string {
  const head = crc32(ZEROS, 0, 8, crc32(bytes, 0, at));
  return crc32(bytes, at + 8, bytes.length, head).toString(16).padStart(8, '0');
}

/**
 * Throws (through `fail`) if the JSON text `json` repeats a key in any object: JSON.parse keeps
 * the last, so a damaged or crafted header could replace a tensor or the metadata unnoticed.
 */
function checkUniqueKeys(json: string, fail: (msg: string) => never): void {
  const stack: (Set<string> | null)[] = []; // one entry per open object (a Set) or array (null)
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === '"') {
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      const keys = stack.at(-1);
      if (keys !== null && keys !== undefined) {
        let k = j + 1;
        while (k < json.length && /\s/.test(json[k]!)) k++;
        if (json[k] === ':') {
          const key = JSON.parse(json.slice(i, j + 1)) as string;
          if (keys.has(key)) fail(`the header repeats the key ${JSON.stringify(key)} (damaged or crafted header)`);
          keys.add(key);
        }
      }
      i = j;
    }
  }
}

/** Serialises named tensors (and string metadata) to safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new TypeError(`encodeSafetensors: metadata '${k}' must be a string`);
  for (const key of [CRC_KEY, FILE_CRC_KEY]) {
    if (Object.hasOwn(metadata, key)) throw new RangeError(`encodeSafetensors: metadata '${key}' is reserved (a checksum, written by the encoder)`);
  }
  // Placeholders of the checksums' final length, so the header's size is known before the data.
  const meta: Record<string, string> = { ...metadata, [CRC_KEY]: '00000000', [FILE_CRC_KEY]: '00000000' };
  header.__metadata__ = meta;
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    if (name === '__proto__') throw new RangeError(`encodeSafetensors: ${PROTO}`);
    const t = tensors[name];
    if (!(t instanceof Tensor)) throw new TypeError(`encodeSafetensors: '${name}' is not a Tensor`);
    if (name === '__metadata__') throw new RangeError("encodeSafetensors: '__metadata__' is reserved");
    const [code, bytes] = DTYPES[t.dtype];
    header[name] = { dtype: code, shape: [...t.shape], data_offsets: [offset, offset + t.size * bytes] };
    offset += t.size * bytes;
  }
  const jsonLength = Math.ceil(new TextEncoder().encode(JSON.stringify(header)).length / 8) * 8;
  const out = new Uint8Array(8 + jsonLength + offset);
  const base = 8 + jsonLength;
  for (const name of names) {
    const t = tensors[name]!;
    const [begin] = (header[name] as { data_offsets: [number, number] }).data_offsets;
    const ddv = new DataView(out.buffer, base + begin);
    if (t.dtype === 'float32') for (let i = 0; i < t.size; i++) ddv.setFloat32(4 * i, t.data[i]!, true);
    else for (let i = 0; i < t.size; i++) ddv.setFloat64(8 * i, t.data[i]!, true);
  }
  meta[CRC_KEY] = crc32(out, base).toString(16).padStart(8, '0');
  const json = new TextEncoder().encode(JSON.stringify(header));
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonLength), true);
  out.fill(0x20, 8, base); // the header, space-padded to a multiple of 8
  out.set(json, 8);
  const at = fileCrcAt(out, 8, base);
  out.set(new TextEncoder().encode(fileCrc(out, at)), at);
  return out;
}

/** Reads safetensors bytes; `label` (e.g. the path) names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array | ArrayBuffer, label = 'safetensors'): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const fail = (msg: string): never => {
    throw new Error(`${label}: ${msg}`);
  };
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`decodeSafetensors: expected the file's bytes as a Uint8Array or ArrayBuffer, got ${describeValue(bytes)}`);
  if (bytes.length < 8) fail('too short to be a safetensors file (truncated?)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the file (truncated or not safetensors)`);
  let header: unknown;
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  try {
    header = JSON.parse(text);
  } catch {
    return fail('header is not valid JSON');
  }
  if (!isRecord(header)) return fail('header is not a JSON object');
  checkUniqueKeys(text, fail);
  const dataLen = bytes.length - 8 - n;
  const base = bytes.byteOffset + 8 + n;
  if (header.__metadata__ === null) fail("'__metadata__' is null, not a map of strings");
  const metadata = header.__metadata__ ?? {};
  if (!isRecord(metadata) || !Object.values(metadata).every((v) => typeof v === 'string')) return fail("'__metadata__' is not a map of strings");
  const tensors: Record<string, Tensor> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (name === '__proto__') fail(PROTO);
    if (!isRecord(info)) return fail(`tensor '${name}': entry is not an object`);
    const { dtype, shape, data_offsets: off } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const kind = dtype === 'F32' ? 'float32' : dtype === 'F64' ? 'float64' : fail(`tensor '${name}': dtype '${dtype}' is not supported (F32 and F64 are)`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0) || !Number.isSafeInteger(sizeOf(shape))) fail(`tensor '${name}': invalid shape ${JSON.stringify(shape)}`);
    const width = DTYPES[kind][1];
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o)) || off[1] - off[0] !== sizeOf(shape) * width || off[0] < 0 || off[1] > dataLen) {
      fail(`tensor '${name}': data_offsets ${JSON.stringify(off)} do not fit shape ${JSON.stringify(shape)} (${dtype}) within ${dataLen} data bytes`);
    }
    if (off[1] > off[0]) ranges.push([off[0], off[1], name]); // an empty tensor overlaps nothing, wherever it is listed
    const count = sizeOf(shape);
    const data = kind === 'float32' ? new Float32Array(count) : new Float64Array(count);
    const tdv = new DataView(bytes.buffer, base + off[0], count * width);
    for (let i = 0; i < count; i++) data[i] = kind === 'float32' ? tdv.getFloat32(4 * i, true) : tdv.getFloat64(8 * i, true);
    tensors[name] = new Tensor(data, shape);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) if (ranges[i]![0] < ranges[i - 1]![1]) fail(`tensors '${ranges[i - 1]![2]}' and '${ranges[i]![2]}' overlap`);
  // After the layout checks, which say more about a file cut short than a checksum would.
  if (Object.hasOwn(metadata, CRC_KEY)) {
    const want = metadata[CRC_KEY] as string;
    if (!/^[0-9a-f]{8}$/.test(want)) fail(`'${CRC_KEY}' is ${JSON.stringify(want)}, not 8 hex digits (damaged header)`);
    const got = crc32(bytes, 8 + n).toString(16).padStart(8, '0');
    if (got !== want) fail(`the tensor data's CRC-32 is ${got}, the header recorded ${want}: the data is damaged`);
    delete metadata[CRC_KEY];
  }
  if (Object.hasOwn(metadata, FILE_CRC_KEY)) {
    const want = metadata[FILE_CRC_KEY] as string;
    const at = fileCrcAt(bytes, 8, 8 + n);
    if (!/^[0-9a-f]{8}$/.test(want) || at < 0) fail(`'${FILE_CRC_KEY}' is ${JSON.stringify(want)}, not 8 hex digits written once (damaged header)`);
    const got = fileCrc(bytes, at);
    if (got !== want) fail(`the file's CRC-32 is ${got}, the header recorded ${want}: the header or its metadata is damaged`);
    delete metadata[FILE_CRC_KEY];
  }
  return { tensors, metadata: metadata as Record<string, string> };
}
