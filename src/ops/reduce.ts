/**
 * Reductions: sum and mean over any axes, max / min / logsumexp along one axis. Their
 * derivatives broadcast the output gradient back over the reduced axes; max and min route it to
 * the (first) extremum through a constant mask.
 */
import { KEEP_NOTHING, record, tangentRule, tracks1 } from '../autograd.js';
import { sumAxes } from '../kernels/dispatch.js';
import { extremumInto, logsumexpInto } from '../kernels/reduce.js';
import { splitAt } from '../kernels/layout.js';
import { fmt, normAxes, normAxis, sizeOf } from '../shape.js';
import { expectTensor, allocData, Tensor, type VjpRule } from '../tensor.js';
import { mul, sub } from './binary.js';
import { broadcastTo, reshape } from './layout.js';
import { exp, scale } from './unary.js';
import { showValue } from '../checks.js';

/** Axis selection of a reduction: one axis, several, or (undefined) all of them. */
export type Axes = number | readonly number[] | undefined;

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function outShape(shape: readonly number[], axes: readonly number[], keepdims: boolean): number[] {
  return keepdims ? keptShape(shape, axes) : shape.filter((_, i) => !axes.includes(i));
}

/** keepdims must be a boolean: an axis given there by a slip (`sum(x, 0, 1)`) would read as true. */
function checkKeepdims(op: string, keepdims: unknown): void {
  if (typeof keepdims !== 'boolean') throw new TypeError(`${op}: keepdims must be true or false, got ${showValue(keepdims)}`);
}

/** Sum over `axis` (all axes if omitted); `keepdims` keeps reduced axes with length 1. */
export function sum(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  expectTensor(x, 'sum');
  checkKeepdims('sum', keepdims);
  const axes = normAxes(axis, x.ndim, 'sum');
  const shape = outShape(x.shape, axes, keepdims);
  const out = allocData(x.dtype, sizeOf(shape));
  sumAxes(x.data, x.shape, axes, out);
  const t = new Tensor(out, shape);
  return tracks1(x) ? record(t, 'sum', [x], sumVjp, axes, KEEP_NOTHING) : t;
}
const sumVjp: VjpRule = (g, _o, node) => {
  const x = node.inputs[0]!;
  return [broadcastTo(reshape(g, keptShape(x.shape, node.saved as number[])), x.shape)];
};

/** Mean over `axis` (all axes if omitted). */
export function mean(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  expectTensor(x, 'mean');
  checkKeepdims('mean', keepdims);
  const axes = normAxes(axis, x.ndim, 'mean');
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  if (count === 0) throw new RangeError(`mean: reducing ${fmt(x.shape)} over axes ${JSON.stringify(axes)} averages over zero elements`);
  return scale(sum(x, axes, keepdims), 1 / count);
}

function extremum(x: Tensor, axis: number | undefined, keepdims: boolean, sign: 1 | -1, op: string): Tensor {
  if (axis === undefined) {
    // Over all elements; with keepdims, every axis stays with length 1, as in sum and mean.
    const all = extremum(reshape(x, [x.size]), 0, false, sign, op);
    return keepdims ? reshape(all, x.shape.map(() => 1)) : all;
  }
  const a = normAxis(axis, x.ndim, op);
  const [outer, n, inner] = splitAt(x.shape, a);
  if (n === 0) throw new RangeError(`${op}: axis ${axis} of shape ${fmt(x.shape)} is empty`);
  const out = allocData(x.dtype, outer * inner);
  const arg = new Int32Array(outer * inner);
  extremumInto(x.data, outer, n, inner, sign, out, arg);
  const t = new Tensor(out, outShape(x.shape, [a], keepdims));
  if (!tracks1(x)) return t;
  // The constant routing mask: 1 at the chosen element of each reduced fibre.
  const mask = allocData(x.dtype, x.size);
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) mask[(o * n + arg[o * inner + j]!) * inner + j] = 1;
  return record(t, op, [x], extremumVjp, { a, mask: new Tensor(mask, x.shape) }, KEEP_NOTHING);
}
const extremumVjp: VjpRule = (g, _o, node) => {
  const { a, mask } = node.saved as { a: number; mask: Tensor };
  return [mul(reshape(g, keptShape(mask.shape, [a])), mask)];
};

/** Maximum along `axis` (over all elements if omitted). Gradient goes to the first maximum. */
export function max(x: Tensor, axis?: number, keepdims = false): Tensor {
  expectTensor(x, 'max');
  checkKeepdims('max', keepdims);
  return extremum(x, axis, keepdims, 1, 'max');
}

/** Minimum along `axis` (over all elements if omitted). Gradient goes to the first minimum. */
export function min(x: Tensor, axis?: number, keepdims = false): Tensor {
  expectTensor(x, 'min');
  checkKeepdims('min', keepdims);
  return extremum(x, axis, keepdims, -1, 'min');
}

/** `log Σ exp(x)` along `axis` (default: last), computed without overflow. */
export function logsumexp(x: Tensor, axis = -1, keepdims = false): Tensor {
  expectTensor(x, 'logsumexp');
  checkKeepdims('logsumexp', keepdims);
  const a = normAxis(axis, x.ndim, 'logsumexp');
  const [outer, n, inner] = splitAt(x.shape, a);
  if (n === 0) throw new RangeError(`logsumexp: axis ${axis} of shape ${fmt(x.shape)} is empty`);
  const out = allocData(x.dtype, outer * inner);
  logsumexpInto(x.data, outer, n, inner, out);
  const t = new Tensor(out, outShape(x.shape, [a], keepdims));
  return tracks1(x) ? record(t, 'logsumexp', [x], logsumexpVjp, a, { inputs: true, output: true }) : t;
}
// d/dx logsumexp = softmax(x) = exp(x - out), broadcast along the reduced axis.
const logsumexpVjp: VjpRule = (g, out, node) => {
  const x = node.values[0]!;
  const kept = keptShape(x.shape, [node.saved as number]);
  return [mul(reshape(g, kept), exp(sub(x, reshape(out, kept))))];
};

// Tangent rules (forward mode).
tangentRule('sum', ([t], out, _inputs, node) => reshape(sum(t!, node.saved as number[]), out.shape));
for (const op of ['max', 'min']) {
  tangentRule(op, ([t], out, _inputs, node) => {
    const { a, mask } = node.saved as { a: number; mask: Tensor };
    return reshape(sum(mul(t!, mask), a), out.shape);
  });
}
// d logsumexp = Σ softmax(x)·dx along the axis.
tangentRule('logsumexp', ([t], out, [x], node) => {
  const a = node.saved as number;
  const p = exp(sub(x!, reshape(out, keptShape(x!.shape, [a]))));
  return reshape(sum(mul(p, t!), a), out.shape);
});
