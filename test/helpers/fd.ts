/**
 * Finite-difference references, in float64. They use only forward evaluation, so they do not
 * depend on any derivative rule they are compared against.
 */
import { expect } from 'vitest';
import { grad, hvp, jvp, noGrad, Tensor, type HvpMethod, type TensorFn } from '../../src/index.js';

/** Copies a tensor's data into a fresh float64 leaf (not requiring grad). */
export function clone64(x: Tensor): Tensor {
  return new Tensor(Float64Array.from(x.data), x.shape);
}

/** Central-difference gradient of a scalar function at `xs`. */
export function numericGrad(f: TensorFn, xs: Tensor[], h = 1e-5): Float64Array[] {
  return xs.map((x, i) =>
    Float64Array.from({ length: x.size }, (_, j) => {
      const eval_ = (delta: number): number => {
        const ys = xs.map(clone64);
        ys[i]!.data[j] = x.data[j]! + delta;
        return noGrad(() => f(ys)).item();
      };
      return (eval_(h) - eval_(-h)) / (2 * h);
    }),
  );
}

/** The library's gradient of a scalar function at `xs`. */
export function analyticGrad(f: TensorFn, xs: Tensor[], createGraph = false): Tensor[] {
  const leaves = xs.map((x) => new Tensor(Float64Array.from(x.data), x.shape, true));
  return grad(f(leaves), leaves, { allowUnused: true, createGraph });
}

/** Finite-difference Hessian-vector product: (∇f(x + hv) − ∇f(x − hv)) / 2h. */
export function numericHvp(f: TensorFn, xs: Tensor[], vs: Tensor[], h = 1e-5): Float64Array[] {
  const at = (s: number): Tensor[] => analyticGrad(f, xs.map((x, i) => shifted(x, vs[i]!, s)));
  const plus = at(h);
  const minus = at(-h);
  return plus.map((p, i) => Float64Array.from(p.data, (v, j) => (v - minus[i]!.data[j]!) / (2 * h)));
}

function shifted(x: Tensor, v: Tensor, s: number): Tensor {
  return new Tensor(Float64Array.from(x.data, (a, j) => a + s * v.data[j]!), x.shape);
}

/**
 * Asserts `actual ≈ expected` elementwise: |a − e| ≤ tol · max(1, max|e|), with a message that
 * names the case and the worst element.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  if (!(worst <= tol * scale)) {
    throw new Error(`${label}: element ${at} is ${actual[at]} but expected ${expected[at]} (|diff| ${worst} > ${tol} × ${scale})`);
  }
}

/** First derivative against central differences. */
export function checkGrad(f: TensorFn, xs: Tensor[], label: string, tol = 1e-6): void {
  const a = analyticGrad(f, xs);
  const n = numericGrad(f, xs);
  a.forEach((g, i) => expectClose(g.data, n[i]!, tol, `${label}: d/dx${i}`));
}

/** Second derivative (hvp, computed by `method`) against finite differences of gradients. */
export function checkHvp(f: TensorFn, xs: Tensor[], vs: Tensor[], label: string, tol = 1e-6, method: HvpMethod = 'forward-over-reverse'): void {
  const leaves = xs.map(clone64);
  const a = hvp(f, leaves, vs, { method });
  const n = numericHvp(f, xs, vs);
  a.forEach((h, i) => expectClose(h.data, n[i]!, tol, `${label}: (H·v)${i}, ${method}`));
}

/** The tangent rules (forward-mode jvp) against central differences of `f` along `ts`. */
export function checkJvp(f: TensorFn, xs: Tensor[], ts: Tensor[], label: string, tol = 1e-6, h = 1e-6): void {
  const [, a] = jvp(f, xs.map(clone64), ts);
  const plus = noGrad(() => f(xs.map((x, i) => shifted(x, ts[i]!, h))));
  const minus = noGrad(() => f(xs.map((x, i) => shifted(x, ts[i]!, -h))));
  expectClose(a.data, Float64Array.from(plus.data, (v, j) => (v - minus.data[j]!) / (2 * h)), tol, `${label}: J·t`);
}
