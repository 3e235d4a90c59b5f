/**
 * The Reptile paper's Taylor-expansion identities (docs/theory.md), checked on the
 * library's own MAML, FOMAML and Reptile updates, in float64, on random small tanh MLPs with
 * k = 2, 3, 4 losses on random mini-batches.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { LossFn, Tensor } from '../src/index.js';
import { makeTensor, seedArb } from './helpers/arbitraries.js';

const model = mg.mlp([2, 4, 1], { activation: 'tanh' });
const f64 = { dtype: 'float64' as const };

function params(seed: number): Tensor[] {
  return model.init({ rng: new mg.Rng(seed), ...f64 });
}
/** The MSE of the model on a random mini-batch of 5 points. */
function batchLoss(seed: number): LossFn {
  const x = makeTensor([5, 2], seed);
  const y = makeTensor([5, 1], seed + 1);
  return (ps) => mg.mse(model.forward(ps, x), y);
}

type Vec = Tensor[];
const axpy = (a: Vec, s: number, b: Vec): Vec => a.map((t, i) => mg.add(t, mg.scale(b[i]!, s)));
const zeros = (a: Vec): Vec => a.map((t) => mg.zerosLike(t));
const sumVecs = (vs: Vec[], like: Vec): Vec => vs.reduce((acc, v) => axpy(acc, 1, v), zeros(like));
const norm = (a: Vec): number => {
  let s = 0;
  for (const t of a) for (let i = 0; i < t.size; i++) s += t.data[i]! ** 2;
  return Math.sqrt(s);
};
const diff = (a: Vec, b: Vec): number => norm(axpy(a, -1, b));

const gbar = (L: LossFn, phi: Vec): Vec => mg.valueAndGrad(L)(phi)[1];
const H = (L: LossFn, phi: Vec, v: Vec): Vec => mg.hvp(L, phi, v);

/** Leading-order expansions of the three updates (theory.md, general k). */
function expansions(phi: Vec, Ls: LossFn[], alpha: number) {
  const k = Ls.length;
  const g = Ls.map((L) => gbar(L, phi));
  const before = (i: number) => sumVecs(g.slice(0, i), phi); // Σ_{j<i} ḡ_j
  const fomaml = axpy(g[k - 1]!, -alpha, H(Ls[k - 1]!, phi, before(k - 1)));
  const maml = axpy(fomaml, -alpha, sumVecs(Ls.slice(0, k - 1).map((L) => H(L, phi, g[k - 1]!)), phi));
  const reptileLead = sumVecs(g, phi);
  const reptile = axpy(reptileLead, -alpha, sumVecs(Ls.map((L, i) => (i === 0 ? zeros(phi) : H(L, phi, before(i)))), phi));
  return { maml, fomaml, reptile, mamlLead: g[k - 1]!, reptileLead };
}

/** The library's updates for the same losses. */
function updates(phi: Vec, Ls: LossFn[], alpha: number) {
  const k = Ls.length;
  return {
    maml: mg.mamlGradient(phi, Ls.slice(0, k - 1), Ls[k - 1]!, alpha).grads,
    fomaml: mg.mamlGradient(phi, Ls.slice(0, k - 1), Ls[k - 1]!, alpha, { firstOrder: true }).grads,
    reptile: mg.reptileGradient(phi, Ls, alpha),
  };
}

describe('leading-order expansions (eqs. 25–27, 36–40)', () => {
  test('MAML, FOMAML and Reptile match their expansions with an O(α²) remainder', () => {
    fc.assert(
      fc.property(seedArb, fc.constantFrom(2, 3, 4), (seed, k) => {
        const phi = params(seed);
        const Ls = Array.from({ length: k }, (_, i) => batchLoss(seed + 10 * (i + 1)));
        const errs = [0.02, 0.01].map((alpha) => {
          const u = updates(phi, Ls, alpha);
          const e = expansions(phi, Ls, alpha);
          return {
            maml: diff(u.maml, e.maml),
            fomaml: diff(u.fomaml, e.fomaml),
            reptile: diff(u.reptile, e.reptile),
            mamlZeroth: diff(u.maml, e.mamlLead),
            reptileZeroth: diff(u.reptile, e.reptileLead),
          };
        });
        const [big, small] = errs as [(typeof errs)[0], (typeof errs)[0]];
        for (const name of ['maml', 'fomaml', 'reptile'] as const) {
          const ratio = big[name] / small[name];
          // halving α cuts the error of the first-order expansion about 4×
          expect(ratio, `${name} k=${k}: ${big[name]} → ${small[name]}`).toBeGreaterThan(3.2);
          expect(ratio, `${name} k=${k}`).toBeLessThan(4.8);
        }
        // while the zeroth-order approximation only improves about 2×
        for (const name of ['mamlZeroth', 'reptileZeroth'] as const) {
          const ratio = big[name] / small[name];
          expect(ratio, `${name} k=${k}`).toBeGreaterThan(1.6);
          expect(ratio, `${name} k=${k}`).toBeLessThan(2.5);
        }
      }),
      { numRuns: 12, seed: 3 },
    );
  });
});

describe('expectations over tasks and mini-batches (eqs. 33–41), by enumeration', () => {
  // 3 tasks × 3 mini-batches each; L_i draws a mini-batch of its task uniformly (with replacement).
  const phi = params(77);
  const tasks = [0, 1, 2].map((t) => [0, 1, 2].map((b) => batchLoss(1000 + 100 * t + 10 * b)));
  const tuples = (k: number): number[][] => (k === 0 ? [[]] : tuples(k - 1).flatMap((tu) => [0, 1, 2].map((b) => [...tu, b])));
  const average = (vs: Vec[]): Vec => sumVecs(vs, phi).map((t) => mg.scale(t, 1 / vs.length));

  const avgGrad = average(tasks.flatMap((bs) => bs.map((L) => gbar(L, phi))));
  const avgGradInner = average(tasks.flatMap((bs) => tuples(2).map(([i, j]) => H(bs[j!]!, phi, gbar(bs[i!]!, phi)))));

  test('AvgGradInner = E[H̄₂ḡ₁] = E[H̄₁ḡ₂] = ½ E[∂/∂φ (ḡ₁·ḡ₂)]', () => {
    const swapped = average(tasks.flatMap((bs) => tuples(2).map(([i, j]) => H(bs[i!]!, phi, gbar(bs[j!]!, phi)))));
    const viaDot = average(
      tasks.flatMap((bs) =>
        tuples(2).map(([i, j]) =>
          mg.valueAndGrad((ps) => {
            const g1 = mg.grad(bs[i!]!(ps), ps, { createGraph: true });
            const g2 = mg.grad(bs[j!]!(ps), ps, { createGraph: true });
            return mg.scale(g1.reduce((s, t, n) => mg.add(s, mg.sum(mg.mul(t, g2[n]!))), mg.zeros([], f64)), 0.5);
          })(phi)[1],
        ),
      ),
    );
    expect(diff(swapped, avgGradInner)).toBeLessThan(1e-12 * Math.max(1, norm(avgGradInner)));
    expect(diff(viaDot, avgGradInner)).toBeLessThan(1e-12 * Math.max(1, norm(avgGradInner)));
  });

  test.each([2, 3])('E[g] = c₁·AvgGrad − c₂·α·AvgGradInner + O(α²) for MAML, FOMAML, Reptile (k = %i)', (k) => {
    const coeffs = { maml: [1, 2 * (k - 1)], fomaml: [1, k - 1], reptile: [k, (k * (k - 1)) / 2] } as const;
    const errAt = (alpha: number) => {
      const sums = { maml: [] as Vec[], fomaml: [] as Vec[], reptile: [] as Vec[] };
      for (const bs of tasks) {
        for (const tu of tuples(k)) {
          const u = updates(phi, tu.map((b) => bs[b]!), alpha);
          sums.maml.push(u.maml);
          sums.fomaml.push(u.fomaml);
          sums.reptile.push(u.reptile);
        }
      }
      return Object.fromEntries(
        (['maml', 'fomaml', 'reptile'] as const).map((name) => {
          const [c1, c2] = coeffs[name];
          const predicted = axpy(avgGrad.map((t) => mg.scale(t, c1)), -c2 * alpha, avgGradInner);
          return [name, diff(average(sums[name]), predicted)];
        }),
      ) as Record<'maml' | 'fomaml' | 'reptile', number>;
    };
    const big = errAt(0.02);
    const small = errAt(0.01);
    for (const name of ['maml', 'fomaml', 'reptile'] as const) {
      const ratio = big[name] / small[name];
      expect(ratio, `${name}: ${big[name]} → ${small[name]}`).toBeGreaterThan(3.2);
      expect(ratio, name).toBeLessThan(4.8);
    }
  });

  test('Reptile with k = 1 is SGD on the expected loss: its update is exactly AvgGrad', () => {
    for (const alpha of [0.5, 0.01]) {
      const g = average(tasks.flatMap((bs) => bs.map((L) => mg.reptileGradient(phi, [L], alpha))));
      expect(diff(g, avgGrad)).toBeLessThan(1e-12 * Math.max(1, norm(avgGrad)) / alpha);
    }
  });
});

describe('the MAML meta-gradient', () => {
  test('equals central finite differences of the meta-loss (relative error ≤ 1e-6)', () => {
    fc.assert(
      fc.property(seedArb, fc.constantFrom(2, 3, 4), (seed, k) => {
        const phi = params(seed);
        const Ls = Array.from({ length: k }, (_, i) => batchLoss(seed + 7 * (i + 1)));
        const alpha = 0.1;
        const metaLoss = (ps: Vec) => Ls[k - 1]!(mg.sgdInnerLoop(ps, Ls.slice(0, k - 1), alpha, 'detached').params).item();
        const g = mg.mamlGradient(phi, Ls.slice(0, k - 1), Ls[k - 1]!, alpha).grads;
        const h = 1e-5;
        let num2 = 0, err2 = 0;
        phi.forEach((p, i) => {
          for (let j = 0; j < p.size; j++) {
            const at = (d: number) => metaLoss(phi.map((q, n) => (n === i ? new mg.Tensor(Float64Array.from(q.data, (v, m) => (m === j ? v + d : v)), q.shape) : q)));
            const fd = (at(h) - at(-h)) / (2 * h);
            num2 += fd * fd;
            err2 += (fd - g[i]!.data[j]!) ** 2;
          }
        });
        expect(Math.sqrt(err2 / num2)).toBeLessThan(1e-6);
      }),
      { numRuns: 10, seed: 5 },
    );
  });
});
