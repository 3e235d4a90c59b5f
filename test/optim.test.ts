/**
 * The optimisers against reference values computed here, independently, from the textbook
 * formulas in float64 (Kingma & Ba 2015, Algorithm 1; PyTorch's SGD with momentum, dampening 0):
 * a wrong bias correction, momentum or step direction changes every training run, and finite
 * differences cannot see it.
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';

const f64 = { dtype: 'float64' as const };
const P0 = [[0.5, -1.25, 2], [3, -0.75]];
const G = [
  [[0.1, -0.4, 1.5], [-2, 0.25]],
  [[0.3, 0.2, -0.5], [-1, 0.5]],
  [[-0.2, 0.1, 0.25], [0.5, -0.125]],
  [[0.05, -0.3, 0.75], [-0.25, 1]],
];
const tensors = (xs: number[][]): mg.Tensor[] => xs.map((x) => mg.tensor(x, f64));

/** Runs `opt` over the gradients G from P0; returns the parameters after each step. */
function run(opt: mg.Optimizer): number[][][] {
  let p = tensors(P0);
  return G.map((g) => {
    p = opt.step(p, tensors(g));
    return p.map((t) => Array.from(t.data));
  });
}

function expectNear(got: number[][][], want: number[][][], tol: number): void {
  got.forEach((step, s) => step.forEach((p, i) => p.forEach((v, j) => expect(Math.abs(v - want[s]![i]![j]!), `step ${s + 1}, param ${i}[${j}]: ${v} vs ${want[s]![i]![j]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[s]![i]![j]!))))));
}

describe('Adam', () => {
  /** Adam as Kingma & Ba write it: bias-corrected moments, then the step. */
  function reference(lr: number, b1: number, b2: number, eps: number): number[][][] {
    const p = P0.map((x) => [...x]);
    const m = P0.map((x) => x.map(() => 0));
    const v = P0.map((x) => x.map(() => 0));
    return G.map((g, s) => {
      const t = s + 1;
      return p.map((pi, i) =>
        pi.map((_, j) => {
          m[i]![j] = b1 * m[i]![j]! + (1 - b1) * g[i]![j]!;
          v[i]![j] = b2 * v[i]![j]! + (1 - b2) * g[i]![j]! ** 2;
          const mHat = m[i]![j]! / (1 - b1 ** t);
          const vHat = v[i]![j]! / (1 - b2 ** t);
          pi[j] = pi[j]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
          return pi[j]!;
        }),
      );
    });
  }

  test.each([
    [0.1, 0.9, 0.999, 1e-8],
    [0.01, 0, 0.999, 1e-8],
    [0.05, 0.5, 0.9, 1e-3],
  ])('lr %f, β1 %f, β2 %f, ε %f: four steps equal the textbook formulas', (lr, beta1, beta2, eps) => {
    expectNear(run(new mg.Adam({ lr, beta1, beta2, eps })), reference(lr, beta1, beta2, eps), 1e-14);
  });

  test('the bias correction shows at the first step: each parameter moves by lr · g / (|g| + ε), whatever β1 and β2', () => {
    for (const beta1 of [0, 0.9]) {
      const [after] = run(new mg.Adam({ lr: 0.1, beta1 }));
      after!.forEach((p, i) => p.forEach((v, j) => {
        const g = G[0]![i]![j]!;
        expect(v).toBeCloseTo(P0[i]![j]! - (0.1 * g) / (Math.abs(g) + 1e-8), 14);
      }));
    }
  });

  test('in float32 the same steps agree with the float64 reference to float32 rounding', () => {
    let p = P0.map((x) => mg.tensor(x));
    const opt = new mg.Adam({ lr: 0.1 });
    const got = G.map((g) => (p = opt.step(p, g.map((x) => mg.tensor(x)))).map((t) => Array.from(t.data)));
    expectNear(got, reference(0.1, 0.9, 0.999, 1e-8), 1e-6);
  });
});

describe('SGD', () => {
  /** PyTorch's SGD: b = g at the first step, then b = μ b + g; p −= lr · (nesterov ? g + μ b : b). */
  function reference(lr: number, mu: number, nesterov: boolean): number[][][] {
    const p = P0.map((x) => [...x]);
    const b = P0.map((x) => x.map(() => 0));
    return G.map((g, s) =>
      p.map((pi, i) =>
        pi.map((_, j) => {
          const gij = g[i]![j]!;
          b[i]![j] = s === 0 ? gij : mu * b[i]![j]! + gij;
          pi[j] = pi[j]! - lr * (mu === 0 ? gij : nesterov ? gij + mu * b[i]![j]! : b[i]![j]!);
          return pi[j]!;
        }),
      ),
    );
  }

  test('without momentum: p − lr · g, exactly', () => {
    expectNear(run(new mg.SGD(0.3)), reference(0.3, 0, false), 0);
    expect(new mg.SGD(0.3).getState()).toBeNull();
  });

  test.each([
    [0.9, false],
    [0.5, true],
  ])('momentum %f (nesterov %s): four steps equal the recurrence', (momentum, nesterov) => {
    expectNear(run(new mg.SGD({ lr: 0.2, momentum, nesterov })), reference(0.2, momentum, nesterov), 1e-15);
  });

  test('the velocities are saved and restored; bad options are named', () => {
    const a = new mg.SGD({ lr: 0.2, momentum: 0.9 });
    let p = tensors(P0);
    p = a.step(p, tensors(G[0]!));
    const b = new mg.SGD({ lr: 0.2, momentum: 0.9 });
    b.setState(a.getState());
    const pa = a.step(p, tensors(G[1]!)), pb = b.step(p, tensors(G[1]!));
    pa.forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(pb[i]!.data)));
    expect(() => new mg.SGD({ lr: 0.1, momentum: -1 })).toThrow(/SGD: momentum must be a non-negative number, got -1/);
    expect(() => new mg.SGD({ lr: 0.1, nesterov: true })).toThrow(/SGD: nesterov needs a momentum above 0/);
    expect(() => b.setState({ nope: 1 })).toThrow(/SGD\.setState: expected a state from SGD\.getState\(\)/);
    expect(() => b.step(tensors([[1]]), tensors([[1]]))).toThrow(/SGD\.step: the parameters changed shape or number/);
    expect(() => b.step(tensors(P0.map((x) => [...x, 0])), tensors(P0.map((x) => [...x, 0])))).toThrow(/SGD\.step: the parameters changed shape or number/);
    // Only the last one resized, or one more than before.
    const resized = [P0[0]!, [...P0[1]!, 0]];
    expect(() => b.step(tensors(resized), tensors(resized))).toThrow(/SGD\.step: the parameters changed shape or number/);
    expect(() => b.step(tensors([...P0, [1]]), tensors([...P0, [1]]))).toThrow(/SGD\.step: the parameters changed shape or number/);
    // float32 parameters keep float32 velocities (the same rounding as the step's own arithmetic).
    const f32 = new mg.SGD({ lr: 0.1, momentum: 0.9 });
    f32.step([mg.tensor([1, 2])], [mg.tensor([0.1, 0.2])]);
    expect(f32.getState()!.buffers[0]).toBeInstanceOf(Float32Array);
    expect(() => new mg.SGD({ lr: 0.1, momentun: 0.9 } as never)).toThrow(/SGD: unknown option 'momentun'/);
    expect(() => new mg.SGD('fast' as never)).toThrow(/SGD: options must be an object such as \{ lr: 0\.1, momentum: 0\.9 \}/);
    expect(() => new mg.SGD(0)).toThrow(/SGD: lr must be a positive number, got 0/);
    // A float32 and a float64 velocity are both states; anything else is not.
    expect(() => b.setState({ buffers: [new Float32Array(2), [1, 2]] })).toThrow(/SGD\.setState: expected a state/);
  });

  test('states are copies both ways; plain SGD has none to restore', () => {
    const a = new mg.SGD({ lr: 0.2, momentum: 0.9 });
    const p = a.step(tensors(P0), tensors(G[0]!));
    const saved = a.getState()!;
    const before = saved.buffers.map((x) => Array.from(x));
    a.getState()!.buffers[0]![0] = 1e9;
    expect(a.getState()!.buffers.map((x) => Array.from(x))).toEqual(before);
    const b = new mg.SGD({ lr: 0.2, momentum: 0.9 });
    b.setState(saved);
    saved.buffers[0]![0] = 1e9;
    const pa = a.step(p, tensors(G[1]!)), pb = b.step(p, tensors(G[1]!));
    pa.forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(pb[i]!.data)));
    const plain = new mg.SGD(0.1);
    plain.setState(null);
    expect(plain.getState()).toBeNull();
  });

  test('a step is checked before anything changes: gradient count, shapes, dtypes and finiteness, each named', () => {
    const opt = new mg.SGD({ lr: 0.1, momentum: 0.5 });
    const p = tensors(P0);
    const cases: [mg.Tensor[], RegExp][] = [
      [tensors(G[0]!).slice(1), new RegExp(`SGD\\.step: ${P0.length} parameters but ${P0.length - 1} gradients`)],
      [[mg.zeros([7]), ...tensors(G[0]!).slice(1)], /SGD\.step: gradient 0 is float32 \[7\] but the parameter is float64 \[\d+\]/],
      [[mg.zeros([P0[0]!.length]), ...tensors(G[0]!).slice(1)], /SGD\.step: gradient 0 is float32 \[\d+\] but the parameter is float64/],
      [[...tensors(G[0]!).slice(0, -1), new mg.Tensor(Float64Array.from(G[0]!.at(-1)!, (x, j) => (j === 1 ? NaN : x)), [G[0]!.at(-1)!.length])], new RegExp(`SGD\\.step: gradient ${P0.length - 1} \\[\\d+\\] holds NaN at element 1 \\(the loss diverged, or the data hold NaN or Infinity\\); the step is refused and nothing was changed`)],
      [[new mg.Tensor(Float64Array.from(G[0]![0]!, (x, j) => (j === 0 ? -Infinity : x)), [G[0]![0]!.length]), ...tensors(G[0]!).slice(1)], /gradient 0 \[\d+\] holds -Infinity at element 0/],
    ];
    for (const [grads, message] of cases) {
      expect(() => opt.step(p, grads)).toThrow(message);
      expect(opt.getState()!.buffers).toEqual([]);
    }
  });
});
