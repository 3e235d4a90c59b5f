/** fast-check generators for shapes, broadcasting pairs and tensor data. */
import fc from 'fast-check';
import { Rng, Tensor, type DType } from '../../src/index.js';

/** A shape with 0–3 axes of length 1–4 (so length-1 axes are common). */
export const shapeArb = (minDims = 0, maxDims = 3, maxLen = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxLen }), { minLength: minDims, maxLength: maxDims });

/** Two shapes that broadcast together: one full, the other with leading axes dropped and some axes set to 1. */
export const broadcastPairArb: fc.Arbitrary<[number[], number[]]> = fc
  .record({
    full: shapeArb(0, 3),
    drop: fc.nat(3),
    ones: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    swap: fc.boolean(),
  })
  .map(({ full, drop, ones, swap }) => {
    const other = full.slice(Math.min(drop, full.length)).map((d, i) => (ones[i] ? 1 : d));
    return swap ? [other, full] : [full, other];
  });

/** How values are drawn, to keep finite differences away from kinks and domain edges. */
export type Kind = 'any' | 'positive' | 'awayFromZero' | 'distinct';

/** A tensor of `shape` filled from `seed`. */
export function makeTensor(shape: readonly number[], seed: number, kind: Kind = 'any', dtype: DType = 'float64'): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  if (kind === 'distinct') {
    // A random permutation of well-separated values plus small noise: no near-ties.
    const perm = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    for (let i = 0; i < n; i++) data[i] = (perm[i]! - n / 2) * 0.3 + 0.05 * rng.uniform();
  } else {
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      data[i] = kind === 'positive' ? 0.5 + Math.abs(z) : kind === 'awayFromZero' ? Math.sign(z || 1) * (0.1 + Math.abs(z)) : z;
    }
  }
  return new Tensor(data, [...shape]);
}

export const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** Damage to a file: one to four bytes, each XORed with a non-zero value, and a cut. */
export const damageArb = fc.record({
  flips: fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }),
  cut: fc.nat(),
});

/** A damaged copy of `bytes`: cut short in one draw of three, then with the drawn bytes flipped. */
export function damage(bytes: Uint8Array, { flips, cut }: { flips: { at: number; xor: number }[]; cut: number }): Uint8Array {
  const bad = bytes.slice(0, bytes.length - (cut % 3 === 0 ? cut % Math.max(1, bytes.length) : 0));
  for (const { at, xor } of flips) if (bad.length > 0) bad[at % bad.length]! ^= xor;
  return bad;
}
