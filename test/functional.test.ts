/** Function transforms (valueAndGrad, vjp, jvp, hvp) and third-order derivatives against closed forms. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { makeTensor, seedArb } from './helpers/arbitraries.js';
import { expectClose, numericGrad, numericHvp } from './helpers/fd.js';

const f64 = { dtype: 'float64' as const };

/** A small tanh MLP loss of (W1, b1, W2) on fixed data: a realistic non-quadratic function. */
function mlpLoss(seed: number): (ps: Tensor[]) => Tensor {
  const x = makeTensor([6, 3], seed);
  const y = makeTensor([6, 2], seed + 1);
  return ([w1, b1, w2]) => mg.mse(mg.matmul(mg.tanh(mg.add(mg.matmul(x, w1!), b1!)), w2!), y);
}
const mlpParams = (seed: number) => [makeTensor([3, 4], seed + 2), makeTensor([4], seed + 3), makeTensor([4, 2], seed + 4)];

describe('function transforms', () => {
  test('valueAndGrad matches finite differences and leaves the inputs untouched', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const f = mlpLoss(seed);
        const ps = mlpParams(seed);
        const [value, grads] = mg.valueAndGrad(f)(ps);
        expect(value.item()).toBeCloseTo(mg.noGrad(() => f(ps)).item(), 12);
        numericGrad(f, ps).forEach((n, i) => expectClose(grads[i]!.data, n, 1e-6, `param ${i}`));
        expect(ps.every((p) => !p.requiresGrad && p.grad === null)).toBe(true);
      }),
      { numRuns: 15 },
    );
  });

  test('hvp matches finite differences of gradients on an MLP loss', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const f = mlpLoss(seed);
        const ps = mlpParams(seed);
        const vs = ps.map((p, i) => makeTensor(p.shape, seed + 50 + i));
        const h = mg.hvp(f, ps, vs);
        numericHvp(f, ps, vs).forEach((n, i) => expectClose(h[i]!.data, n, 1e-6, `(Hv) ${i}`));
      }),
      { numRuns: 15 },
    );
  });

  test('jvp matches a central difference along the tangent', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const x = makeTensor([4, 3], seed);
        const f = ([a, b]: Tensor[]) => mg.softmax(mg.matmul(mg.tanh(a!), b!), 1);
        const xs = [x, makeTensor([3, 5], seed + 1)];
        const ts = xs.map((p, i) => makeTensor(p.shape, seed + 9 + i));
        const [out, tangentOut] = mg.jvp(f, xs, ts);
        const h = 1e-6;
        const at = (s: number) => mg.noGrad(() => f(xs.map((p, i) => mg.add(p, mg.scale(ts[i]!, s)))));
        const fd = Float64Array.from(at(h).data, (v, j) => (v - at(-h).data[j]!) / (2 * h));
        expect(out.shape).toEqual([4, 5]);
        expectClose(tangentOut.data, fd, 1e-6, 'jvp');
      }),
      { numRuns: 15 },
    );
  });

  test('vjp pullback equals uᵀJ and can be called repeatedly', () => {
    const xs = [mg.tensor([[1, 2], [3, 4]], f64)];
    const [out, pull] = mg.vjp(([a]) => mg.square(a!), xs);
    expect(out.toArray()).toEqual([[1, 4], [9, 16]]);
    expect(pull(mg.tensor([[1, 0], [0, 1]], f64))[0]!.toArray()).toEqual([[2, 0], [0, 8]]);
    expect(pull(mg.ones([2, 2], f64))[0]!.toArray()).toEqual([[2, 4], [6, 8]]);
    expect(() => pull(mg.ones([3], f64))).toThrow(/cotangent 0 must be a float64 tensor of shape \[2,2\]/);
  });

  test('argument errors', () => {
    const xs = [mg.zeros([2], f64)];
    expect(() => mg.hvp(([a]) => mg.sum(a!), xs, [mg.zeros([3], f64)])).toThrow(/hvp: vectors 0 must be a float64 tensor of shape \[2\]/);
    expect(() => mg.hvp(([a]) => mg.sum(a!), xs, [])).toThrow(/hvp: expected 1 vectors, got 0/);
    expect(() => mg.valueAndGrad(([a]) => mg.square(a!))(xs)).toThrow(/valueAndGrad: f must return a scalar tensor, got shape \[2\]/);
    expect(() => mg.jvp(([a]) => a!, xs, [mg.zeros([2])])).toThrow(/jvp: tangents 0 must be a float64 tensor/);
    // f returning something other than a tensor is named in every transform.
    expect(() => mg.jvp(() => 1 as never, xs, [mg.zeros([2], f64)])).toThrow(/jvp: f must return a Tensor, got number/);
    expect(() => mg.vjp(() => [mg.sum(xs[0]!)] as never, xs)).toThrow(/vjp: f must return a Tensor, got an array/);
    expect(() => mg.hvp(() => undefined as never, xs, [mg.zeros([2], f64)])).toThrow(/hvp: f must return a scalar tensor, got undefined/);
    expect(() => mg.valueAndGrad(() => null as never)(xs)).toThrow(/valueAndGrad: f must return a scalar tensor, got null/);
    // ... and so is an f that is not a function (arguments in another library's order, say).
    expect(() => mg.hvp(xs as never, xs, [mg.zeros([2], f64)])).toThrow(/hvp: f must be a function of a list of Tensors, got an array/);
    expect(() => mg.jvp(3 as never, xs, [mg.zeros([2], f64)])).toThrow(/jvp: f must be a function of a list of Tensors, got number/);
    expect(() => mg.vjp(null as never, xs)).toThrow(/vjp: f must be a function of a list of Tensors, got null/);
    expect(() => mg.valueAndGrad(xs[0] as never)).toThrow(/valueAndGrad: f must be a function of a list of Tensors, got object/);
    expect(() => mg.noGrad(3 as never)).toThrow(/noGrad: expected a function, got number/);
  });
});

/** The third derivative of an elementwise f at x, by differentiating three times. */
function thirdDerivative(op: (x: Tensor) => Tensor, x: Tensor): Tensor {
  const xl = new mg.Tensor(x.data, x.shape, true);
  const d1 = mg.grad(mg.sum(op(xl)), xl, { createGraph: true });
  const d2 = mg.grad(mg.sum(d1), xl, { createGraph: true });
  return mg.grad(mg.sum(d2), xl);
}

describe('third-order derivatives against closed forms', () => {
  const xs = mg.tensor([-2.5, -1, -0.3, 0, 0.4, 1.2, 3], f64);
  test('tanh‴ = −2(1 − t²)(1 − 3t²)', () => {
    const t = xs.data.map(Math.tanh);
    expectClose(thirdDerivative(mg.tanh, xs).data, t.map((v) => -2 * (1 - v * v) * (1 - 3 * v * v)), 1e-12, 'tanh');
  });
  test('exp‴ = exp', () => {
    expectClose(thirdDerivative(mg.exp, xs).data, xs.data.map(Math.exp), 1e-12, 'exp');
  });
  test('softplus‴ = σ(1 − σ)(1 − 2σ)', () => {
    const s = xs.data.map((v) => 1 / (1 + Math.exp(-v)));
    expectClose(thirdDerivative(mg.softplus, xs).data, s.map((v) => v * (1 - v) * (1 - 2 * v)), 1e-12, 'softplus');
  });
  test('matmul chain: D³[(aᵀx)(xᵀBx)](u,v,w) = (aᵀu)(wᵀSv) + (aᵀv)(wᵀSu) + (aᵀw)(vᵀSu), S = B + Bᵀ', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 1, max: 6 }), (seed, n) => {
        const [a, B, x, u, v, w] = [[n, 1], [n, n], [n, 1], [n, 1], [n, 1], [n, 1]].map((s, i) => makeTensor(s, seed + i));
        const f = (z: Tensor) => mg.mul(mg.matmul(a!, z, true), mg.matmul(z, mg.matmul(B!, z), true));
        const xl = new mg.Tensor(x!.data, x!.shape, true);
        const dot = (p: Tensor, q: Tensor) => mg.sum(mg.mul(p, q));
        const g1 = mg.grad(mg.sum(f(xl)), xl, { createGraph: true });
        const g2 = mg.grad(dot(g1, u!), xl, { createGraph: true });
        const g3 = mg.grad(dot(g2, v!), xl);
        const got = mg.noGrad(() => dot(g3, w!)).item();
        const S = mg.add(B!, mg.transpose(B!));
        const q = (p: Tensor, M: Tensor, r: Tensor) => mg.matmul(mg.matmul(p, M, true), r).item();
        const at = (p: Tensor) => mg.matmul(a!, p, true).item();
        const want = at(u!) * q(w!, S, v!) + at(v!) * q(w!, S, u!) + at(w!) * q(v!, S, u!);
        expect(Math.abs(got - want)).toBeLessThan(1e-10 * Math.max(1, Math.abs(want)));
      }),
      { numRuns: 30 },
    );
  });
});
