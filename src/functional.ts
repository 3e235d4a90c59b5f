/**
 * Differentiation as transformations of functions (JAX style). Each takes a function of a list
 * of tensors. Inputs that do not already require gradients are wrapped as fresh leaves sharing
 * their data, so the caller's tensors are never modified; inputs that do (for example the
 * parameters of a MAML inner loop) are differentiated through, keeping the graph behind them.
 *
 * How each is computed:
 * - `valueAndGrad`: one forward pass, one reverse sweep.
 * - `vjp`: one forward pass; each call of the returned function is one reverse sweep.
 * - `jvp`: forward mode: one pass of `f` in which each op also computes its output's tangent by
 *   its tangent rule (written in ops, beside its derivative rule). The double-vjp trick (two
 *   reverse sweeps) remains as `method: 'double-vjp'`.
 * - `hvp`: forward-over-reverse: ∇f is computed (with `createGraph`, so its ops run as recorded
 *   ops) while every op carries tangents along v, and ∇f's tangent is H·v. Reverse-over-reverse
 *   (differentiating ∇f·v again) remains as `method: 'reverse-over-reverse'`. Neither forms H.
 */
import { enableGrad, grad, withTangents } from './autograd.js';
import { checkOptionsObject, describeValue } from './checks.js';
import { fmt, shapesEqual } from './shape.js';
import { Tensor } from './tensor.js';
import { add, mul } from './ops/binary.js';
import { sum } from './ops/reduce.js';
import { zerosLike } from './creation.js';

/** A function of a list of tensors returning one tensor. */
export type TensorFn = (xs: Tensor[]) => Tensor;

/** Throws unless `f` is a function (a tensor or a list where `f` goes would fail as 'f is not a function'). */
function checkFn(f: unknown, op: string): void {
  if (typeof f !== 'function') throw new TypeError(`${op}: f must be a function of a list of Tensors, got ${describeValue(f)}`);
}

function asInputs(xs: readonly Tensor[], op: string): Tensor[] {
  if (!Array.isArray(xs)) throw new TypeError(`${op}: inputs must be an array of Tensors`);
  return xs.map((x, i) => {
    if (!(x instanceof Tensor)) throw new TypeError(`${op}: input ${i} is not a Tensor`);
    return x.requiresGrad ? x : new Tensor(x.data, x.shape, true);
  });
}

function checkTensor(value: unknown, op: string): asserts value is Tensor {
  if (!(value instanceof Tensor)) throw new TypeError(`${op}: f must return a Tensor, got ${describeValue(value)}`);
}

function checkScalar(value: unknown, op: string): asserts value is Tensor {
  if (!(value instanceof Tensor) || value.size !== 1) {
    throw new RangeError(`${op}: f must return a scalar tensor, got ${value instanceof Tensor ? `shape ${fmt(value.shape)}` : describeValue(value)}`);
  }
}

function checkLike(vs: readonly Tensor[], xs: readonly Tensor[], op: string, what: string): void {
  if (!Array.isArray(vs) || vs.length !== xs.length) throw new RangeError(`${op}: expected ${xs.length} ${what}, got ${Array.isArray(vs) ? vs.length : typeof vs}`);
  vs.forEach((v, i) => {
    if (!(v instanceof Tensor) || !shapesEqual(v.shape, xs[i]!.shape) || v.dtype !== xs[i]!.dtype) {
      throw new RangeError(`${op}: ${what} ${i} must be a ${xs[i]!.dtype} tensor of shape ${fmt(xs[i]!.shape)}${v instanceof Tensor ? `, got ${v.dtype} ${fmt(v.shape)}` : ''}`);
    }
  });
}

function dot(as: readonly Tensor[], bs: readonly Tensor[]): Tensor {
  let s = sum(mul(as[0]!, bs[0]!));
  for (let i = 1; i < as.length; i++) s = add(s, sum(mul(as[i]!, bs[i]!)));
  return s;
}

/**
 * `valueAndGrad(f)(xs)` returns `[f(xs), ∇f(xs)]` for a scalar-valued `f`. With
 * `createGraph`, the gradients stay on the tape (for MAML's inner loop).
 */
export function valueAndGrad(f: TensorFn, options: { createGraph?: boolean; allowUnused?: boolean } = {}): (xs: Tensor[]) => [Tensor, Tensor[]] {
  checkFn(f, 'valueAndGrad');
  checkOptionsObject('valueAndGrad', options, { createGraph: 'flag', allowUnused: 'flag' }, '{ createGraph: true }');
  return (xs) => {
    const inputs = asInputs(xs, 'valueAndGrad');
    const value = f(inputs);
    checkScalar(value, 'valueAndGrad');
    return [value, grad(value, inputs, { createGraph: options.createGraph ?? false, allowUnused: options.allowUnused ?? false })];
  };
}

/**
 * `vjp(f, xs)` returns `[f(xs), pullback]` where `pullback(u)` is `uᵀ·∂f/∂xs` for a cotangent
 * `u` shaped like the output. The pullback can be called many times.
 */
export function vjp(f: TensorFn, xs: Tensor[], options: { createGraph?: boolean } = {}): [Tensor, (u: Tensor) => Tensor[]] {
  checkFn(f, 'vjp');
  checkOptionsObject('vjp', options, { createGraph: 'flag' }, '{ createGraph: true }');
  const inputs = asInputs(xs, 'vjp');
  const out = f(inputs);
  checkTensor(out, 'vjp');
  const pullback = (u: Tensor): Tensor[] => {
    checkLike([u], [out], 'vjp', 'cotangent');
    return grad(out, inputs, { gradOutput: u, retainGraph: true, createGraph: options.createGraph ?? false, allowUnused: true });
  };
  return [out, pullback];
}

/** Fresh leaves sharing the inputs' data, each carrying its tangent (forward mode). */
function dualInputs(xs: readonly Tensor[], ts: readonly Tensor[], op: string, what: string): Tensor[] {
  if (!Array.isArray(xs)) throw new TypeError(`${op}: inputs must be an array of Tensors`);
  const inputs = xs.map((x, i) => {
    if (!(x instanceof Tensor)) throw new TypeError(`${op}: input ${i} is not a Tensor`);
    return new Tensor(x.data, x.shape, true);
  });
  checkLike(ts, inputs, op, what);
  inputs.forEach((x, i) => (x.tangent = ts[i]!.detach()));
  return inputs;
}

/** How {@link jvp} computes: one forward pass carrying tangents (default), or two reverse sweeps. */
export type JvpMethod = 'forward' | 'double-vjp';
/** How {@link hvp} computes: the gradient's pass carrying tangents (default), or a second reverse sweep. */
export type HvpMethod = 'forward-over-reverse' | 'reverse-over-reverse';

/**
 * `jvp(f, xs, ts)` returns `[f(xs), J·ts]`: the directional derivative of `f` at `xs` along
 * the tangents `ts` (one per input, same shapes). By default in forward mode: one evaluation of
 * `f` in which every op also computes its output's tangent (its tangent rule). `f` must compute
 * with recording on (not under `noGrad`), as gradients do. `method: 'double-vjp'` takes two
 * reverse sweeps instead (with a dummy cotangent u, ∂/∂u (uᵀJ·t) = J·t).
 */
export function jvp(f: TensorFn, xs: Tensor[], ts: Tensor[], options: { method?: JvpMethod } = {}): [Tensor, Tensor] {
  checkFn(f, 'jvp');
  checkOptionsObject('jvp', options, { method: true }, "{ method: 'forward' }");
  const method = options.method ?? 'forward';
  if (method === 'double-vjp') return jvpByReverse(f, xs, ts);
  if (method !== 'forward') throw new RangeError(`jvp: method must be 'forward' or 'double-vjp', got ${JSON.stringify(method)}`);
  const inputs = dualInputs(xs, ts, 'jvp', 'tangents');
  const out = withTangents(() => enableGrad(() => f(inputs)));
  checkTensor(out, 'jvp');
  return [out.detach(), out.tangent ?? zerosLike(out)];
}

function jvpByReverse(f: TensorFn, xs: Tensor[], ts: Tensor[]): [Tensor, Tensor] {
  const inputs = asInputs(xs, 'jvp');
  checkLike(ts, inputs, 'jvp', 'tangents');
  const out = f(inputs);
  checkTensor(out, 'jvp');
  if (!out.requiresGrad) return [out, zerosLike(out)];
  const u = new Tensor(zerosLike(out).data, out.shape, true);
  const pulled = grad(out, inputs, { gradOutput: u, createGraph: true, allowUnused: true });
  const s = dot(pulled, ts);
  if (!s.requiresGrad) return [out.detach(), zerosLike(out)];
  return [out.detach(), grad(s, u, { allowUnused: true })];
}

/**
 * Hessian-vector product of a scalar function: `hvp(f, xs, vs)` returns `H·vs`, one tensor per
 * input, where H is the Hessian of `f` at `xs` (block (i,j) is ∂²f/∂xᵢ∂xⱼ). By default
 * forward-over-reverse: the gradient is taken with every op carrying tangents along `vs`, so
 * its tangent is H·vs; `method: 'reverse-over-reverse'` differentiates ∇f·vs in a second
 * reverse sweep instead. Neither forms H.
 */
export function hvp(f: TensorFn, xs: Tensor[], vs: Tensor[], options: { method?: HvpMethod } = {}): Tensor[] {
  checkFn(f, 'hvp');
  checkOptionsObject('hvp', options, { method: true }, "{ method: 'forward-over-reverse' }");
  const method = options.method ?? 'forward-over-reverse';
  if (method === 'reverse-over-reverse') return hvpByReverse(f, xs, vs);
  if (method !== 'forward-over-reverse') throw new RangeError(`hvp: method must be 'forward-over-reverse' or 'reverse-over-reverse', got ${JSON.stringify(method)}`);
  const inputs = dualInputs(xs, vs, 'hvp', 'vectors');
  return withTangents(() =>
    enableGrad(() => {
      const value = f(inputs);
      checkScalar(value, 'hvp');
      const g = grad(value, inputs, { createGraph: true, allowUnused: true });
      return g.map((gi, i) => (gi.tangent ?? zerosLike(inputs[i]!)).detach());
    }),
  );
}

function hvpByReverse(f: TensorFn, xs: Tensor[], vs: Tensor[]): Tensor[] {
  const inputs = asInputs(xs, 'hvp');
  checkLike(vs, inputs, 'hvp', 'vectors');
  const value = f(inputs);
  checkScalar(value, 'hvp');
  const g = grad(value, inputs, { createGraph: true, allowUnused: true });
  const s = dot(g, vs);
  if (!s.requiresGrad) return inputs.map((x) => zerosLike(x));
  return grad(s, inputs, { allowUnused: true });
}
