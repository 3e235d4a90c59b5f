/**
 * Arithmetic: add, sub, mul, div with NumPy broadcasting, and negation (which sub's and div's
 * rules need). Each derivative reduces the
 * broadcast gradient back to its input's shape with `sumTo`, itself a differentiable op.
 * A plain number operand is a constant of the other operand's dtype.
 */
import { keepCrossed, KEEP_NOTHING, record, tangentRule, tracks1, tracks2 } from '../autograd.js';
import { addRun, binaryBroadcast, divRun, mulRun, subRun, type BinaryRun } from '../kernels/elementwise.js';
import { binaryInto, isArithmetic, unaryInto, WASM_MIN_ELEMENTS } from '../kernels/dispatch.js';
import { broadcastInto } from '../kernels/layout.js';
import { broadcastShapes, broadcastStrides, shapesEqual, sizeOf } from '../shape.js';
import { describeValue } from '../checks.js';
import { allocData, allocOutput, expectTensor, Tensor, type TypedArray, type VjpRule } from '../tensor.js';
import { broadcastTo, sumTo } from './layout.js';

/** A tensor, or a number standing for a constant scalar of the other operand's dtype. */
export type TensorLike = Tensor | number;

/** A number as a 0-d constant of `like`'s dtype; tensors pass through. */
function lift(x: TensorLike, like: Tensor, op: string): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== 'number') throw new TypeError(`${op}: expected a Tensor or a number, got ${describeValue(x)}`);
  const d = allocData(like.dtype, 1);
  d[0] = x;
  return new Tensor(d, []);
}

/** @internal Resolves two operands (at least one a tensor) and checks their dtypes agree. */
export function operands(a: TensorLike, b: TensorLike, op: string): [Tensor, Tensor] {
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) throw new TypeError(`${op}: at least one operand must be a Tensor`);
  const ta = a instanceof Tensor ? a : lift(a, b as Tensor, op);
  const tb = b instanceof Tensor ? b : lift(b, ta, op);
  if (ta.dtype !== tb.dtype) throw new TypeError(`${op}: dtype mismatch: ${ta.dtype} and ${tb.dtype} (convert one with astype)`);
  return [ta, tb];
}

/** @internal `x`'s data laid out in the (broadcast) shape `shape` of `size` elements. */
export function expandData(x: Tensor, shape: readonly number[], size: number): TypedArray {
  if (x.size === size) return x.data;
  const out = allocData(x.dtype, size);
  broadcastInto(x.data, x.shape, shape, out);
  return out;
}

/**
 * @internal Runs a binary kernel with NumPy broadcasting; no operand is materialised. The
 * arithmetic ops go through the kernel dispatch (WASM SIMD for large float32 tensors).
 */
export function binary(a: Tensor, b: Tensor, op: string, run: BinaryRun): Tensor {
  const same = shapesEqual(a.shape, b.shape);
  const shape = same ? a.shape : broadcastShapes(a.shape, b.shape, op);
  const out = allocOutput(a.dtype, same ? a.size : sizeOf(shape));
  if (isArithmetic(op) && out.length >= WASM_MIN_ELEMENTS) {
    const flat = [out.length];
    if (same) binaryInto(op, a.data, [1], b.data, [1], flat, out);
    else binaryInto(op, a.data, broadcastStrides(a.shape, shape, op), b.data, broadcastStrides(b.shape, shape, op), shape, out);
  } else if (same) run(a.data, 0, 1, b.data, 0, 1, out, 0, out.length);
  else if (b.size === 1) run(a.data, 0, a.size === 1 ? 0 : 1, b.data, 0, 0, out, 0, out.length);
  else if (a.size === 1) run(a.data, 0, 0, b.data, 0, 1, out, 0, out.length);
  else binaryBroadcast(run, a.data, broadcastStrides(a.shape, shape, op), b.data, broadcastStrides(b.shape, shape, op), shape, out);
  return new Tensor(out, same ? a.shape : shape);
}

/** Elementwise `a + b` with broadcasting. */
export function add(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands(a, b, 'add');
  const out = binary(x, y, 'add', addRun);
  return tracks2(x, y) ? record(out, 'add', [x, y], addVjp, null, KEEP_NOTHING) : out;
}
const addVjp: VjpRule = (g, _out, node, needs) => {
  const [a, b] = node.inputs;
  return [needs[0] ? sumTo(g, a.shape) : null, needs[1] ? sumTo(g, b.shape) : null];
};

/** Elementwise `a - b` with broadcasting. */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands(a, b, 'sub');
  const out = binary(x, y, 'sub', subRun);
  return tracks2(x, y) ? record(out, 'sub', [x, y], subVjp, null, KEEP_NOTHING) : out;
}
const subVjp: VjpRule = (g, _out, node, needs) => {
  const [a, b] = node.inputs;
  return [needs[0] ? sumTo(g, a.shape) : null, needs[1] ? sumTo(neg(g), b.shape) : null];
};

/** Elementwise `a * b` with broadcasting. */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands(a, b, 'mul');
  const out = binary(x, y, 'mul', mulRun);
  return tracks2(x, y) ? record(out, 'mul', [x, y], mulVjp, null, keepCrossed(x, y)) : out;
}
const mulVjp: VjpRule = (g, _out, node, needs) => {
  const [a, b] = node.values;
  return [needs[0] ? sumTo(mul(g, b!), node.inputs[0]!.shape) : null, needs[1] ? sumTo(mul(g, a!), node.inputs[1]!.shape) : null];
};

/** Elementwise `a / b` with broadcasting. */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands(a, b, 'div');
  const out = binary(x, y, 'div', divRun);
  return tracks2(x, y) ? record(out, 'div', [x, y], divVjp, null, { inputs: [false, true], output: y.requiresGrad }) : out;
}
// d(a/b)/da = 1/b;  d(a/b)/db = -a/b² = -out/b
const divVjp: VjpRule = (g, out, node, needs) => {
  const b = node.values[1]!;
  return [needs[0] ? sumTo(div(g, b), node.inputs[0]!.shape) : null, needs[1] ? sumTo(neg(mul(g, div(out, b))), b.shape) : null];
};

/** `-x`. */
export function neg(x: Tensor): Tensor {
  expectTensor(x, 'neg');
  const out = allocOutput(x.dtype, x.size);
  unaryInto('neg', x.data, 0, out);
  const t = new Tensor(out, x.shape);
  return tracks1(x) ? record(t, 'neg', [x], negVjp, null, KEEP_NOTHING) : t;
}
const negVjp: VjpRule = (g) => [neg(g)];

// Tangent rules (forward mode): each output tangent is the op's differential applied to the
// inputs' tangents (null: zero), broadcast to the output's shape.
const plus = (a: Tensor | null, b: Tensor | null): Tensor => (a === null ? b! : b === null ? a : add(a, b));
tangentRule('add', ([ta, tb], out) => broadcastTo(plus(ta!, tb!), out.shape));
tangentRule('sub', ([ta, tb], out) => broadcastTo(ta === null ? neg(tb!) : tb === null ? ta : sub(ta, tb), out.shape));
tangentRule('mul', ([ta, tb], out, [a, b]) => broadcastTo(plus(ta === null ? null : mul(ta, b!), tb === null ? null : mul(a!, tb)), out.shape));
// d(a / b) = (da − out·db) / b
tangentRule('div', ([ta, tb], out, [, b]) => broadcastTo(div(tb === null ? ta! : ta === null ? neg(mul(out, tb)) : sub(ta, mul(out, tb)), b!), out.shape));
tangentRule('neg', ([t]) => neg(t!));
