/** Float32 results (values and gradients) agree with float64 within float32 tolerance, for every op. */
import fc from 'fast-check';
import { describe, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectClose } from './helpers/fd.js';
import { objective, opCases } from './helpers/op-cases.js';

const to32 = (x: Tensor) => new mg.Tensor(Float32Array.from(x.data), x.shape);

describe.each(Object.entries(opCases))('%s', (name, arb) => {
  test('float32 value and gradient agree with float64', () => {
    fc.assert(
      fc.property(arb, fc.nat(1000), (c, seed) => {
        const run = (xs: Tensor[]) => {
          const leaves = xs.map((x) => new mg.Tensor(x.data, x.shape, true));
          const f = objective(c.run, leaves, seed);
          const v = f(leaves);
          return [v, ...mg.grad(v, leaves, { allowUnused: true })];
        };
        const r64 = run(c.inputs);
        const r32 = run(c.inputs.map(to32));
        r32.forEach((t, i) => {
          if (t.dtype !== 'float32') throw new Error(`${name}: result ${i} is ${t.dtype}`);
          expectClose(t.data, r64[i]!.data, 1e-4, `${name} float32 result ${i}`);
        });
      }),
      { numRuns: 15, seed: 4242 },
    );
  });
});
