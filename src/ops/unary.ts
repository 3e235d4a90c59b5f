/**
 * Elementwise math of one tensor. Each op is its kernel call plus its derivative rule, written
 * with differentiable ops (often reusing the output, as `exp` and `tanh` do). The masks in the
 * rules of piecewise-linear ops (relu, abs, leaky relu) are constants: their second derivative
 * is zero almost everywhere, as it should be.
 */
import { KEEP_NOTHING, KEEP_OUTPUT, record, tangentRule, tracks1, type TangentRule } from '../autograd.js';
import { stepMulInto, unaryInto } from '../kernels/dispatch.js';
import * as K from '../kernels/elementwise.js';
import { expectTensor, allocData, allocOutput, Tensor, type TypedArray, type VjpRule } from '../tensor.js';
import { div, mul, neg, sub } from './binary.js';
import { showValue } from '../checks.js';

function map(x: Tensor, op: string, kernel: (x: TypedArray, out: TypedArray) => void): Tensor {
  expectTensor(x, op);
  const out = allocOutput(x.dtype, x.size);
  kernel(x.data, out);
  return new Tensor(out, x.shape);
}

function checkNumber(v: number, op: string, what: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${op}: ${what} must be a finite number, got ${showValue(v)}`);
}


/** `s * x` for a constant number `s`. */
export function scale(x: Tensor, s: number): Tensor {
  expectTensor(x, 'scale');
  checkNumber(s, 'scale', 'the factor');
  const out = allocOutput(x.dtype, x.size);
  unaryInto('scale', x.data, s, out);
  const t = new Tensor(out, x.shape);
  return tracks1(x) ? record(t, 'scale', [x], scaleVjp, s, KEEP_NOTHING) : t;
}
const scaleVjp: VjpRule = (g, _o, node) => [scale(g, node.saved as number)];

/** `x ** p` for a constant exponent `p` (NaN for negative `x` and non-integer `p`, as in IEEE pow). */
export function pow(x: Tensor, p: number): Tensor {
  expectTensor(x, 'pow');
  checkNumber(p, 'pow', 'the exponent');
  const out = allocData(x.dtype, x.size);
  K.powInto(x.data, p, out);
  const t = new Tensor(out, x.shape);
  return tracks1(x) ? record(t, 'pow', [x], powVjp, p) : t;
}
const powVjp: VjpRule = (g, _o, node) => {
  const p = node.saved as number;
  const x = node.values[0]!;
  return [p === 0 ? scale(g, 0) : p === 1 ? g : mul(g, scale(pow(x, p - 1), p))];
};

/** `x * x`. */
export function square(x: Tensor): Tensor {
  const out = map(x, 'square', (d, o) => unaryInto('square', d, 0, o));
  return tracks1(x) ? record(out, 'square', [x], squareVjp) : out;
}
const squareVjp: VjpRule = (g, _o, node) => [mul(g, scale(node.values[0]!, 2))];

/** `√x`. */
export function sqrt(x: Tensor): Tensor {
  const out = map(x, 'sqrt', (d, o) => unaryInto('sqrt', d, 0, o));
  return tracks1(x) ? record(out, 'sqrt', [x], sqrtVjp, null, KEEP_OUTPUT) : out;
}
const sqrtVjp: VjpRule = (g, out) => [div(g, scale(out, 2))];

/** `eˣ`. */
export function exp(x: Tensor): Tensor {
  const out = map(x, 'exp', K.expInto);
  return tracks1(x) ? record(out, 'exp', [x], expVjp, null, KEEP_OUTPUT) : out;
}
const expVjp: VjpRule = (g, out) => [mul(g, out)];

/** Natural logarithm. */
export function log(x: Tensor): Tensor {
  const out = map(x, 'log', K.logInto);
  return tracks1(x) ? record(out, 'log', [x], logVjp) : out;
}
const logVjp: VjpRule = (g, _o, node) => [div(g, node.values[0]!)];

/** `|x|` (derivative sign(x), taken as 0 at 0). */
export function abs(x: Tensor): Tensor {
  const out = map(x, 'abs', K.absInto);
  return tracks1(x) ? record(out, 'abs', [x], absVjp) : out;
}
const absVjp: VjpRule = (g, _o, node) => [mul(g, sign(node.values[0]!))];

/** Sign of each element (-1, 0 or 1): a constant, not differentiated through. */
export function sign(x: Tensor): Tensor {
  return map(x, 'sign', K.signInto);
}

/** Sine. */
export function sin(x: Tensor): Tensor {
  const out = map(x, 'sin', K.sinInto);
  return tracks1(x) ? record(out, 'sin', [x], sinVjp) : out;
}
const sinVjp: VjpRule = (g, _o, node) => [mul(g, cos(node.values[0]!))];

/** Cosine. */
export function cos(x: Tensor): Tensor {
  const out = map(x, 'cos', K.cosInto);
  return tracks1(x) ? record(out, 'cos', [x], cosVjp) : out;
}
const cosVjp: VjpRule = (g, _o, node) => [neg(mul(g, sin(node.values[0]!)))];

/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  const out = map(x, 'tanh', K.tanhInto);
  return tracks1(x) ? record(out, 'tanh', [x], tanhVjp, null, KEEP_OUTPUT) : out;
}
const tanhVjp: VjpRule = (g, out) => [mul(g, sub(1, mul(out, out)))];

/** Logistic sigmoid `1 / (1 + e⁻ˣ)`, computed stably for large |x|. */
export function sigmoid(x: Tensor): Tensor {
  const out = map(x, 'sigmoid', K.sigmoidInto);
  return tracks1(x) ? record(out, 'sigmoid', [x], sigmoidVjp, null, KEEP_OUTPUT) : out;
}
const sigmoidVjp: VjpRule = (g, out) => [mul(g, mul(out, sub(1, out)))];

/** `log(1 + eˣ)`, computed stably; its derivative is `sigmoid(x)`. */
export function softplus(x: Tensor): Tensor {
  const out = map(x, 'softplus', K.softplusInto);
  return tracks1(x) ? record(out, 'softplus', [x], softplusVjp) : out;
}
const softplusVjp: VjpRule = (g, _o, node) => [mul(g, sigmoid(node.values[0]!))];

/** `max(x, 0)` (derivative taken as 0 at 0). */
export function relu(x: Tensor): Tensor {
  const out = map(x, 'relu', (d, o) => unaryInto('relu', d, 0, o));
  return tracks1(x) ? record(out, 'relu', [x], reluVjp, null, KEEP_OUTPUT) : out;
}
// The output is positive exactly where the input is, and later ops hold it anyway.
const reluVjp: VjpRule = (g, out) => [stepGrad(g, out, 0)];

/** `x` where positive, `slope * x` elsewhere. */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  expectTensor(x, 'leakyRelu');
  checkNumber(slope, 'leakyRelu', 'slope');
  const out = allocData(x.dtype, x.size);
  K.leakyReluInto(x.data, slope, out);
  const t = new Tensor(out, x.shape);
  return tracks1(x) ? record(t, 'leakyRelu', [x], leakyReluVjp, slope) : t;
}
const leakyReluVjp: VjpRule = (g, _o, node) => [stepGrad(g, node.values[0]!, node.saved as number)];

/**
 * `g · (x > 0 ? 1 : low)`, the rule of relu and leaky relu: one kernel pass, no mask array. It is
 * linear in `g` and its own rule, so it differentiates further; `x` is a constant to it (the
 * step's derivative is zero almost everywhere), held by reference: relu's output and leaky relu's
 * input, which their nodes keep anyway.
 */
function stepGrad(g: Tensor, x: Tensor, low: number): Tensor {
  const out = allocOutput(g.dtype, g.size);
  stepMulInto(g.data, x.data, low, out);
  const t = new Tensor(out, g.shape);
  return tracks1(g) ? record(t, 'stepGrad', [g], stepGradVjp, { x, low }, KEEP_NOTHING) : t;
}
const stepGradVjp: VjpRule = (g, _o, node) => {
  const { x, low } = node.saved as { x: Tensor; low: number };
  return [stepGrad(g, x, low)];
};

// Tangent rules (forward mode): an elementwise op's Jacobian is diagonal, so the tangent is its
// derivative rule applied to the input's tangent.
const diagonal = (vjp: VjpRule): TangentRule => ([t], out, _inputs, node) => vjp(t!, out, node, [true])[0]!;
tangentRule('scale', diagonal(scaleVjp));
tangentRule('pow', diagonal(powVjp));
tangentRule('square', diagonal(squareVjp));
tangentRule('sqrt', diagonal(sqrtVjp));
tangentRule('exp', diagonal(expVjp));
tangentRule('log', diagonal(logVjp));
tangentRule('abs', diagonal(absVjp));
tangentRule('sin', diagonal(sinVjp));
tangentRule('cos', diagonal(cosVjp));
tangentRule('tanh', diagonal(tanhVjp));
tangentRule('sigmoid', diagonal(sigmoidVjp));
tangentRule('softplus', diagonal(softplusVjp));
tangentRule('relu', diagonal(reluVjp));
tangentRule('leakyRelu', diagonal(leakyReluVjp));
tangentRule('stepGrad', diagonal(stepGradVjp));
