/**
 * Shape arithmetic shared by ops and kernels: sizes, strides, axis normalisation and NumPy
 * broadcasting. Pure functions on `number[]`; errors name the op and the shapes involved.
 */
import { showValue } from './checks.js';

/** A tensor shape: the length of each axis, outermost first. */
export type Shape = readonly number[];

/** Number of elements of a tensor with this shape (1 for a scalar `[]`). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

/** Row-major (C order) strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `[2,3]` → `"[2,3]"`, for error messages. */
export function fmt(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** Checks that every entry is a non-negative integer; `op` names the caller in the error. */
export function checkShape(shape: Shape, op: string): void {
  if (!Array.isArray(shape)) throw new TypeError(`${op}: shape must be an array of integers, got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${op}: invalid shape ${fmt(shape)}: every axis length must be a non-negative integer`);
  }
  checkElementCount(op, sizeOf(shape), `shape ${fmt(shape)}`);
}

/** The most elements a tensor may hold (2³¹ − 1: 8 GiB of float32), so an oversized request fails at once, naming the op. */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** Throws a RangeError naming `op` and `what` unless `n` elements fit one tensor ({@link MAX_ELEMENTS}). */
export function checkElementCount(op: string, n: number, what: string): void {
  if (!(n <= MAX_ELEMENTS)) throw new RangeError(`${op}: ${what} needs ${n} elements, more than a tensor may hold (${MAX_ELEMENTS})`);
}

/** How deep {@link flattenNested} follows nested arrays (far beyond any real tensor's rank). */
const MAX_NESTING = 64;

/** Maps a possibly negative axis into `[0, ndim)`, or throws naming the op. */
export function normAxis(axis: number, ndim: number, op: string): number {
  if (!Number.isInteger(axis)) throw new TypeError(`${op}: axis must be an integer, got ${showValue(axis)}`);
  const a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim) throw new RangeError(`${op}: axis ${axis} is out of range for a tensor with ${ndim} dimension(s)`);
  return a;
}

/** Normalises `axis` (one, several, or undefined = all) to a sorted list of distinct axes. */
export function normAxes(axis: number | readonly number[] | undefined, ndim: number, op: string): number[] {
  if (axis === undefined) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof axis !== 'number' && !Array.isArray(axis)) throw new TypeError(`${op}: axes must be an integer or a list of integers, got ${JSON.stringify(axis) ?? String(axis)}`);
  const list = typeof axis === 'number' ? [axis] : axis;
  const out = list.map((a) => normAxis(a, ndim, op)).sort((x, y) => x - y);
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) throw new RangeError(`${op}: axis ${out[i]} is repeated in ${JSON.stringify(axis)}`);
  }
  return out;
}

/** The NumPy broadcast of two shapes, or an error naming the op and both shapes. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else throw new RangeError(`${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together (axis ${i}: ${da} vs ${db})`);
  }
  return out;
}

/**
 * Strides for reading a tensor of shape `from` as if it had the (broadcast) shape `to`:
 * broadcast axes get stride 0. Throws if `from` does not broadcast to `to`.
 */
export function broadcastStrides(from: Shape, to: Shape, op: string): number[] {
  const off = to.length - from.length;
  if (off < 0) throw new RangeError(`${op}: cannot broadcast ${fmt(from)} to ${fmt(to)}`);
  const src = stridesOf(from);
  const s = new Array<number>(to.length).fill(0);
  for (let i = 0; i < from.length; i++) {
    const d = from[i]!;
    if (d === to[i + off]) s[i + off] = d === 1 ? 0 : src[i]!;
    else if (d === 1) s[i + off] = 0;
    else throw new RangeError(`${op}: cannot broadcast ${fmt(from)} to ${fmt(to)}`);
  }
  return s;
}

/** Numbers nested in arrays, e.g. `[[1, 2], [3, 4]]`. */
export type Nested = number | Nested[];

/**
 * Flattens rectangular nested arrays to row-major numbers and their shape; a ragged array is an
 * error naming the first offending element.
 */
export function flattenNested(data: Nested, op: string): { flat: number[]; shape: number[] } {
  const shape: number[] = [];
  let level: Nested = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (shape.length > MAX_NESTING) throw new RangeError(`${op}: the nested array is more than ${MAX_NESTING} levels deep`);
    level = level[0] as Nested;
  }
  checkElementCount(op, sizeOf(shape), `the nested array of shape ${fmt(shape)}`);
  const flat: number[] = [];
  const walk = (v: Nested, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new RangeError(`${op}: ragged nested array: element ${path} nests deeper than shape ${fmt(shape)}`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new RangeError(`${op}: ragged nested array: element ${path} should be an array of length ${shape[depth]} for shape ${fmt(shape)}`);
    }
    v.forEach((c, i) => walk(c, depth + 1, `${path}[${i}]`));
  };
  walk(data, 0, 'data');
  return { flat, shape };
}
