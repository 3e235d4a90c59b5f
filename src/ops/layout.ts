/**
 * Shape and layout ops. They come in pairs whose derivatives are each other:
 * broadcastTo ↔ sumTo, slice ↔ pad, permute ↔ its inverse, reshape ↔ reshape, concat → slices.
 * `reshape` shares its input's data (tensors are immutable, so sharing is safe).
 */
import { KEEP_NOTHING, record, tangentRule, tracks1, tracksAny } from '../autograd.js';
import { broadcastInto, copySlabs, permuteInto, splitAt } from '../kernels/layout.js';
import { sumAxes } from '../kernels/dispatch.js';
import { broadcastShapes, checkElementCount, checkShape, fmt, normAxis, shapesEqual, sizeOf, type Shape } from '../shape.js';
import { expectTensor, allocData, allocOutput, Tensor, type DType, type VjpRule } from '../tensor.js';
import { showValue } from '../checks.js';

/** New shape for the same elements; one axis may be -1 (inferred). Shares the data. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  expectTensor(x, 'reshape');
  const s = inferShape(shape, x.size, x.shape);
  if (shapesEqual(s, x.shape)) return x;
  const out = new Tensor(x.data, s);
  return tracks1(x) ? record(out, 'reshape', [x], reshapeVjp, null, KEEP_NOTHING) : out;
}
const reshapeVjp: VjpRule = (g, _o, node) => [reshape(g, node.inputs[0]!.shape)];

function inferShape(shape: readonly number[], size: number, from: Shape): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`reshape: shape must be an array, got ${String(shape)}`);
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free !== -1) {
    if (s.indexOf(-1, free + 1) !== -1) throw new RangeError(`reshape: only one axis may be -1, got ${fmt(shape)}`);
    s[free] = 1;
    checkShape(s, 'reshape');
    const rest = sizeOf(s);
    if (rest === 0 || size % rest !== 0) throw new RangeError(`reshape: cannot reshape ${fmt(from)} (${size} elements) to ${fmt(shape)}`);
    s[free] = size / rest;
  }
  checkShape(s, 'reshape');
  if (sizeOf(s) !== size) throw new RangeError(`reshape: cannot reshape ${fmt(from)} (${size} elements) to ${fmt(shape)} (${sizeOf(s)} elements)`);
  return s;
}

/** Inserts a length-1 axis at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  expectTensor(x, 'unsqueeze');
  const a = normAxis(axis, x.ndim + 1, 'unsqueeze');
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

/** Removes length-1 axes (all of them, or just `axis`). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  expectTensor(x, 'squeeze');
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normAxis(axis, x.ndim, 'squeeze');
  if (x.shape[a] !== 1) throw new RangeError(`squeeze: axis ${axis} of shape ${fmt(x.shape)} has length ${x.shape[a]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

/** Reorders axes: output axis i is input axis `perm[i]`. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  expectTensor(x, 'permute');
  const nd = x.ndim;
  if (!Array.isArray(perm) || perm.length !== nd) throw new RangeError(`permute: perm ${JSON.stringify(perm)} must list each of the ${nd} axes of ${fmt(x.shape)} once`);
  const p = perm.map((a) => normAxis(a, nd, 'permute'));
  if (new Set(p).size !== nd) throw new RangeError(`permute: perm ${JSON.stringify(perm)} repeats an axis`);
  if (p.every((a, i) => a === i)) return x;
  const shape = p.map((a) => x.shape[a]!);
  const out = allocData(x.dtype, x.size);
  permuteInto(x.data, x.shape, p, out);
  const t = new Tensor(out, shape);
  return tracks1(x) ? record(t, 'permute', [x], permuteVjp, p, KEEP_NOTHING) : t;
}
const permuteVjp: VjpRule = (g, _o, node) => {
  const p = node.saved as number[];
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return [permute(g, inv)];
};

/** Swaps two axes (by default the last two: the matrix transpose). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  expectTensor(x, 'transpose');
  if (Array.isArray(axis0)) throw new TypeError(`transpose: axis must be an integer, got ${showValue(axis0)} (use permute(x, perm) for a permutation of the axes)`);
  if (x.ndim < 2) throw new RangeError(`transpose: needs at least 2 dimensions, got shape ${fmt(x.shape)}`);
  const a = normAxis(axis0, x.ndim, 'transpose');
  const b = normAxis(axis1, x.ndim, 'transpose');
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Repeats `x` along broadcast axes to `shape` (NumPy rules). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  expectTensor(x, 'broadcastTo');
  checkShape(shape, 'broadcastTo');
  if (shapesEqual(x.shape, shape)) return x;
  const target = broadcastShapes(x.shape, shape, 'broadcastTo');
  if (!shapesEqual(target, shape)) throw new RangeError(`broadcastTo: cannot broadcast ${fmt(x.shape)} to ${fmt(shape)}`);
  const out = allocOutput(x.dtype, sizeOf(shape));
  broadcastInto(x.data, x.shape, shape, out);
  const t = new Tensor(out, [...shape]);
  return tracks1(x) ? record(t, 'broadcastTo', [x], broadcastToVjp, stacksMatrices(x.shape, shape) ? x : null, KEEP_NOTHING) : t;
}
const broadcastToVjp: VjpRule = (g, _o, node) => [sumTo(g, node.inputs[0]!.shape)];

/** Whether broadcasting `from` to `to` repeats whole matrices (the last two axes unchanged). */
function stacksMatrices(from: Shape, to: readonly number[]): boolean {
  const n = from.length, m = to.length;
  return n >= 2 && from[n - 1] === to[m - 1] && from[n - 2] === to[m - 2];
}

/**
 * @internal The source of `t` when `t` is a recorded broadcast that only repeats matrices along
 * batch axes (a task-tiled weight, see `tileParams`), else null. A batched product can read the
 * source for every batch entry instead of the copies, which then need not be kept for any
 * derivative rule; the tape still routes gradients to `t` (see `record`'s keys).
 */
export function batchSource(t: Tensor): Tensor | null {
  const node = t.node;
  return node !== null && node.op === 'broadcastTo' && node.saved instanceof Tensor ? node.saved : null;
}

/**
 * Sums `x` down to `shape`, the inverse of broadcasting: `shape` must broadcast to `x.shape`.
 * This is how every broadcasting op's derivative returns to its input's shape.
 */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  expectTensor(x, 'sumTo');
  if (shapesEqual(x.shape, shape)) return x;
  const lead = x.ndim - shape.length;
  if (lead < 0) throw new RangeError(`sumTo: cannot reduce ${fmt(x.shape)} to ${fmt(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < x.ndim; i++) {
    const want = i < lead ? 1 : shape[i - lead]!;
    if (i < lead || (want === 1 && x.shape[i] !== 1)) axes.push(i);
    else if (want !== x.shape[i]) throw new RangeError(`sumTo: cannot reduce ${fmt(x.shape)} to ${fmt(shape)}`);
  }
  const out = allocData(x.dtype, sizeOf(shape));
  sumAxes(x.data, x.shape, axes, out);
  const t = new Tensor(out, [...shape]);
  return tracks1(x) ? record(t, 'sumTo', [x], sumToVjp, null, KEEP_NOTHING) : t;
}
const sumToVjp: VjpRule = (g, _o, node) => [broadcastTo(g, node.inputs[0]!.shape)];

/** Elements `start ≤ i < end` along `axis` (negative indices count from the end, as in Python). */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  expectTensor(x, 'slice');
  const a = normAxis(axis, x.ndim, 'slice');
  const n = x.shape[a]!;
  const s = clampIndex(start, n, 'start');
  const e = end === undefined ? n : clampIndex(end, n, 'end');
  if (e < s) throw new RangeError(`slice: empty range ${start}..${end} along axis ${axis} of ${fmt(x.shape)}`);
  if (s === 0 && e === n) return x;
  const [outer, , inner] = splitAt(x.shape, a);
  const shape = [...x.shape];
  shape[a] = e - s;
  const out = allocData(x.dtype, outer * (e - s) * inner);
  copySlabs(x.data, n, s, out, e - s, 0, e - s, outer, inner);
  const t = new Tensor(out, shape);
  return tracks1(x) ? record(t, 'slice', [x], sliceVjp, [a, s, e], KEEP_NOTHING) : t;
}
const sliceVjp: VjpRule = (g, _o, node) => {
  const [a, s, e] = node.saved as [number, number, number];
  return [pad(g, a, s, node.inputs[0]!.shape[a]! - e)];
};

function clampIndex(i: number, n: number, what: string): number {
  if (!Number.isInteger(i)) throw new TypeError(`slice: ${what} must be an integer, got ${showValue(i)}`);
  const j = i < 0 ? i + n : i;
  if (j < 0 || j > n) throw new RangeError(`slice: ${what} ${i} is out of range for an axis of length ${n}`);
  return j;
}

/** Zero-pads `x` along `axis` with `before` and `after` zeros. */
export function pad(x: Tensor, axis: number, before: number, after: number): Tensor {
  expectTensor(x, 'pad');
  const a = normAxis(axis, x.ndim, 'pad');
  if (!Number.isInteger(before) || !Number.isInteger(after) || before < 0 || after < 0) {
    throw new RangeError(`pad: before and after must be non-negative integers, got ${before} and ${after}`);
  }
  if (before === 0 && after === 0) return x;
  const [outer, n, inner] = splitAt(x.shape, a);
  const shape = [...x.shape];
  shape[a] = n + before + after;
  checkElementCount('pad', outer * shape[a]! * inner, `the padded shape ${fmt(shape)}`);
  const out = allocData(x.dtype, outer * shape[a]! * inner);
  copySlabs(x.data, n, 0, out, shape[a]!, before, n, outer, inner);
  const t = new Tensor(out, shape);
  return tracks1(x) ? record(t, 'pad', [x], padVjp, [a, before], KEEP_NOTHING) : t;
}
const padVjp: VjpRule = (g, _o, node) => {
  const [a, before] = node.saved as [number, number];
  return [slice(g, a, before, before + node.inputs[0]!.shape[a]!)];
};

/** The sub-tensor at position `i` along `axis` (that axis removed). */
export function index(x: Tensor, axis: number, i: number): Tensor {
  expectTensor(x, 'index');
  const a = normAxis(axis, x.ndim, 'index');
  const n = x.shape[a]!;
  if (!Number.isInteger(i) || i < -n || i >= n) throw new RangeError(`index: ${i} is out of range for axis ${axis} of length ${n}`);
  const j = i < 0 ? i + n : i;
  return reshape(slice(x, a, j, j + 1), x.shape.filter((_, d) => d !== a));
}

/** Joins tensors of equal shape (except along `axis`) along `axis`. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new RangeError('concat: needs at least one tensor');
  const first = xs[0]!;
  const a = normAxis(axis, first.ndim, 'concat');
  let total = 0;
  xs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new TypeError(`concat: element ${i} is not a Tensor`);
    if (x.dtype !== first.dtype) throw new TypeError(`concat: dtype mismatch: tensor 0 is ${first.dtype}, tensor ${i} is ${x.dtype}`);
    const ok = x.ndim === first.ndim && x.shape.every((d, k) => k === a || d === first.shape[k]);
    if (!ok) throw new RangeError(`concat: tensor ${i} has shape ${fmt(x.shape)}, incompatible with ${fmt(first.shape)} along axis ${axis}`);
    total += x.shape[a]!;
  });
  if (xs.length === 1) return first;
  const shape = [...first.shape];
  shape[a] = total;
  const [outer, , inner] = splitAt(first.shape, a);
  const out = allocData(first.dtype, outer * total * inner);
  let at = 0;
  for (const x of xs) {
    const n = x.shape[a]!;
    copySlabs(x.data, n, 0, out, total, at, n, outer, inner);
    at += n;
  }
  const t = new Tensor(out, shape);
  return tracksAny(xs) ? record(t, 'concat', [...xs], concatVjp, a, KEEP_NOTHING) : t;
}
const concatVjp: VjpRule = (g, _o, node, needs) => {
  const a = node.saved as number;
  let at = 0;
  return node.inputs.map((x, i) => {
    const n = x.shape[a]!;
    const gi = needs[i] ? slice(g, a, at, at + n) : null;
    at += n;
    return gi;
  });
};

/** Stacks tensors of one shape along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new RangeError('stack: needs at least one tensor');
  const s0 = xs[0]!.shape;
  xs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new TypeError(`stack: element ${i} is not a Tensor`);
    if (!shapesEqual(x.shape, s0)) throw new RangeError(`stack: tensor ${i} has shape ${fmt(x.shape)}, tensor 0 has ${fmt(s0)}`);
  });
  const a = normAxis(axis, s0.length + 1, 'stack');
  return concat(xs.map((x) => unsqueeze(x, a)), a);
}

/** Flattens all axes into one. */
export function flatten(x: Tensor): Tensor {
  expectTensor(x, 'flatten');
  return reshape(x, [x.size]);
}

/** Converts to another dtype (float32 ↔ float64); gradients convert back. */
export function astype(x: Tensor, dtype: DType): Tensor {
  expectTensor(x, 'astype');
  if (dtype !== 'float32' && dtype !== 'float64') throw new TypeError(`astype: unknown dtype '${String(dtype)}' (expected 'float32' or 'float64')`);
  if (x.dtype === dtype) return x;
  const out = allocData(dtype, x.size);
  out.set(x.data);
  const t = new Tensor(out, x.shape);
  return tracks1(x) ? record(t, 'astype', [x], astypeVjp, null, KEEP_NOTHING) : t;
}
const astypeVjp: VjpRule = (g, _o, node) => [astype(g, node.inputs[0]!.dtype)];

// Tangent rules (forward mode): these ops are linear, so the tangent is the op applied to the
// input's tangent (zeros for a concatenated input without one).
tangentRule('reshape', ([t], out) => reshape(t!, out.shape));
tangentRule('permute', ([t], _out, _inputs, node) => permute(t!, node.saved as number[]));
tangentRule('broadcastTo', ([t], out) => broadcastTo(t!, out.shape));
tangentRule('sumTo', ([t], out) => sumTo(t!, out.shape));
tangentRule('slice', ([t], _out, _inputs, node) => {
  const [a, s, e] = node.saved as [number, number, number];
  return slice(t!, a, s, e);
});
tangentRule('pad', ([t], out, [x], node) => {
  const [a, before] = node.saved as [number, number];
  return pad(t!, a, before, out.shape[a]! - x!.shape[a]! - before);
});
tangentRule('concat', (ts, _out, xs, node) => concat(ts.map((t, i) => t ?? new Tensor(allocData(xs[i]!.dtype, xs[i]!.size), xs[i]!.shape)), node.saved as number));
tangentRule('astype', ([t], out) => astype(t!, out.dtype));
