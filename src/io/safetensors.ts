/**
 * The safetensors format (Hugging Face), so checkpoints can be read by other frameworks:
 *
 *   [u64 little-endian N][N bytes of JSON header, space-padded to a multiple of 8][data]
 *
 * The header maps each tensor name to `{ dtype: "F32" | "F64", shape, data_offsets: [begin, end] }`
 * (offsets relative to the start of the data) and may hold `"__metadata__"`, a map of strings.
 * Data are little-endian, row-major. Reading validates everything and names what is wrong.
 */
import { sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { isRecord } from '../checks.js';

/** A tensor called '__proto__' cannot be a key of a plain object: it would vanish without a word. */
const PROTO = "tensor name '__proto__' is not supported (it cannot be a key of a plain object)";

const DTYPES = { float32: ['F32', 4], float64: ['F64', 8] } as const;

/** Serialises named tensors (and string metadata) to safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new TypeError(`encodeSafetensors: metadata '${k}' must be a string`);
    header.__metadata__ = metadata;
  }
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
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  const base = 8 + json.length;
  for (const name of names) {
    const t = tensors[name]!;
    const [begin] = (header[name] as { data_offsets: [number, number] }).data_offsets;
    const ddv = new DataView(out.buffer, base + begin);
    if (t.dtype === 'float32') for (let i = 0; i < t.size; i++) ddv.setFloat32(4 * i, t.data[i]!, true);
    else for (let i = 0; i < t.size; i++) ddv.setFloat64(8 * i, t.data[i]!, true);
  }
  return out;
}

/** Reads safetensors bytes; `label` (e.g. the path) names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, label = 'safetensors'): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const fail = (msg: string): never => {
    throw new Error(`${label}: ${msg}`);
  };
  if (bytes.length < 8) fail('too short to be a safetensors file (truncated?)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the file (truncated or not safetensors)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    return fail('header is not valid JSON');
  }
  if (!isRecord(header)) return fail('header is not a JSON object');
  const dataLen = bytes.length - 8 - n;
  const base = bytes.byteOffset + 8 + n;
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
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}': invalid shape ${JSON.stringify(shape)}`);
    const width = DTYPES[kind][1];
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o)) || off[1] - off[0] !== sizeOf(shape) * width || off[0] < 0 || off[1] > dataLen) {
      fail(`tensor '${name}': data_offsets ${JSON.stringify(off)} do not fit shape ${JSON.stringify(shape)} (${dtype}) within ${dataLen} data bytes`);
    }
    ranges.push([off[0], off[1], name]);
    const count = sizeOf(shape);
    const data = kind === 'float32' ? new Float32Array(count) : new Float64Array(count);
    const tdv = new DataView(bytes.buffer, base + off[0], count * width);
    for (let i = 0; i < count; i++) data[i] = kind === 'float32' ? tdv.getFloat32(4 * i, true) : tdv.getFloat64(8 * i, true);
    tensors[name] = new Tensor(data, shape);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) if (ranges[i]![0] < ranges[i - 1]![1]) fail(`tensors '${ranges[i - 1]![2]}' and '${ranges[i]![2]}' overlap`);
  return { tensors, metadata: metadata as Record<string, string> };
}
