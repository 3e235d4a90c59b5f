/**
 * Creating tensors: from (nested) arrays and typed arrays, constant fills, ranges, and seeded
 * random draws. Every random draw takes an optional `rng` and otherwise uses the library-wide
 * default generator (see `manualSeed`).
 */
import { checkOptionsObject, type OptionKeys, type OptionTable } from './checks.js';
import { rngOption, type Rng } from './random.js';
import { checkElementCount, checkShape, flattenNested, fmt, sizeOf } from './shape.js';
import { allocData, Tensor, type DType, type NestedArray } from './tensor.js';

/** Options shared by the creation functions. */
export interface TensorOptions {
  /** Element type; default `float32` (or `float64` for a `Float64Array` source). */
  dtype?: DType;
  /** Make the tensor a leaf that gradients flow to. Default false. */
  requiresGrad?: boolean;
}

/** Options of random draws. */
export interface RandomOptions extends TensorOptions {
  /** Generator to draw from; default: the library-wide one. */
  rng?: Rng;
}

const TENSOR_OPTIONS: OptionKeys<TensorOptions> = { dtype: true, requiresGrad: 'flag' };
const SHAPED_OPTIONS: OptionKeys<TensorOptions & { shape?: unknown }> = { ...TENSOR_OPTIONS, shape: true };
const RANDN_OPTIONS: OptionKeys<RandomOptions & { mean?: number; std?: number }> = { ...TENSOR_OPTIONS, rng: true, mean: true, std: true };
const RAND_OPTIONS: OptionKeys<RandomOptions & { low?: number; high?: number }> = { ...TENSOR_OPTIONS, rng: true, low: true, high: true };

/** The options argument must be an object of known options (see checkOptionsObject); for `tensor`, a shape there is a likely slip. */
function checkOptions(options: unknown, op: string, known: OptionTable = TENSOR_OPTIONS): void {
  checkOptionsObject(op, options, known, "{ dtype: 'float64' }", op === 'tensor' && Array.isArray(options) ? ' (give a shape as { shape: [...] })' : '');
}

function checkDtype(dtype: DType | undefined, op: string): DType {
  const d = dtype ?? 'float32';
  if (d !== 'float32' && d !== 'float64') throw new TypeError(`${op}: unknown dtype '${String(d)}' (expected 'float32' or 'float64')`);
  return d;
}

/**
 * A tensor from nested arrays (shape inferred, must be rectangular) or from a flat typed or
 * plain array with an explicit `shape` (default: 1-D). The data is copied.
 */
export function tensor(
  data: NestedArray | ArrayLike<number>,
  options: TensorOptions & { shape?: readonly number[] } = {},
): Tensor {
  checkOptions(options, 'tensor', SHAPED_OPTIONS);
  const fromF64 = data instanceof Float64Array;
  const dtype = checkDtype(options.dtype ?? (fromF64 ? 'float64' : 'float32'), 'tensor');
  let shape: number[];
  let flat: ArrayLike<number>;
  if (typeof data === 'number') {
    shape = [];
    flat = [data];
  } else if (ArrayBuffer.isView(data) || (Array.isArray(data) && !data.some(Array.isArray))) {
    flat = data as ArrayLike<number>;
    shape = [flat.length];
  } else if (Array.isArray(data)) {
    ({ flat, shape } = flattenNested(data, 'tensor'));
  } else {
    throw new TypeError(`tensor: expected a number, an array or a typed array, got ${typeof data}`);
  }
  if (options.shape !== undefined) {
    checkShape(options.shape, 'tensor');
    if (sizeOf(options.shape) !== flat.length) throw new RangeError(`tensor: shape ${fmt(options.shape)} needs ${sizeOf(options.shape)} elements, got ${flat.length}`);
    shape = [...options.shape];
  }
  const buf = allocData(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number') throw new TypeError(`tensor: element ${i} is ${typeof v}, not a number`);
    buf[i] = v;
  }
  return new Tensor(buf, shape, options.requiresGrad ?? false);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  return filled('full', shape, value, options);
}

/** Zeros of `shape`. */
export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return filled('zeros', shape, 0, options);
}

/** Ones of `shape`. */
export function ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return filled('ones', shape, 1, options);
}

function filled(op: string, shape: readonly number[], value: number, options: TensorOptions): Tensor {
  checkShape(shape, op);
  checkOptions(options, op);
  if (typeof value !== 'number') throw new TypeError(`${op}: value must be a number, got ${typeof value}`);
  const buf = allocData(checkDtype(options.dtype, op), sizeOf(shape));
  if (value !== 0) buf.fill(value);
  return new Tensor(buf, [...shape], options.requiresGrad ?? false);
}

/** Zeros with `x`'s shape and dtype. */
export function zerosLike(x: Tensor): Tensor {
  return new Tensor(allocData(x.dtype, x.size), x.shape);
}

/** `n` evenly spaced values from `start` to `stop` inclusive. */
export function linspace(start: number, stop: number, n: number, options: TensorOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`linspace: n must be a positive integer, got ${n}`);
  checkElementCount('linspace', n, `n = ${n}`);
  checkOptions(options, 'linspace');
  const buf = allocData(checkDtype(options.dtype, 'linspace'), n);
  for (let i = 0; i < n; i++) buf[i] = n === 1 ? start : start + ((stop - start) * i) / (n - 1);
  return new Tensor(buf, [n], options.requiresGrad ?? false);
}

/** Normal draws with mean `mean` and standard deviation `std` (defaults 0 and 1). */
export function randn(shape: readonly number[], options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkShape(shape, 'randn');
  checkOptions(options, 'randn', RANDN_OPTIONS);
  const rng = rngOption('randn', options.rng);
  const mu = options.mean ?? 0;
  const sd = options.std ?? 1;
  if (!Number.isFinite(mu)) throw new RangeError(`randn: mean must be a finite number, got ${mu}`);
  if (!(sd >= 0 && sd < Infinity)) throw new RangeError(`randn: std must be a finite non-negative number, got ${sd}`);
  const buf = allocData(checkDtype(options.dtype, 'randn'), sizeOf(shape));
  for (let i = 0; i < buf.length; i++) buf[i] = mu + sd * rng.normal();
  return new Tensor(buf, [...shape], options.requiresGrad ?? false);
}

/** Uniform draws in [low, high) (defaults 0 and 1). */
export function rand(shape: readonly number[], options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkShape(shape, 'rand');
  checkOptions(options, 'rand', RAND_OPTIONS);
  const rng = rngOption('rand', options.rng);
  const low = options.low ?? 0;
  const high = options.high ?? 1;
  if (!Number.isFinite(low) || !Number.isFinite(high) || !(high >= low)) throw new RangeError(`rand: low and high must be finite with high ≥ low, got ${low} and ${high}`);
  const buf = allocData(checkDtype(options.dtype, 'rand'), sizeOf(shape));
  for (let i = 0; i < buf.length; i++) buf[i] = rng.uniformIn(low, high);
  return new Tensor(buf, [...shape], options.requiresGrad ?? false);
}
