/**
 * Every op's first and second derivatives against finite differences, in float64, on random
 * shapes (broadcasting and length-1 axes included). The objective
 *   f(x) = Σ W⊙y + ½ Σ V⊙y⊙y,  y = op(x)
 * weights the output by random W and V, so the gradient flowing into the op is not constant and
 * the Hessian involves both the op's own second derivative and its rule's dependence on g.
 */
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { makeTensor } from './helpers/arbitraries.js';
import { checkGrad, checkHvp } from './helpers/fd.js';
import { objective, opCases } from './helpers/op-cases.js';

const runs = { numRuns: 25, seed: 20261122 };

describe.each(Object.entries(opCases))('%s', (name, arb) => {
  test('first derivative matches central differences (float64)', () => {
    fc.assert(
      fc.property(arb, fc.nat(1000), (c, seed) => {
        checkGrad(objective(c.run, c.inputs, seed), c.inputs, name);
      }),
      runs,
    );
  });

  test('second derivative (hvp) matches finite differences of gradients (float64)', () => {
    fc.assert(
      fc.property(arb, fc.nat(1000), (c, seed) => {
        const vs = c.inputs.map((x, i) => makeTensor(x.shape, seed + 31 * i + 5));
        checkHvp(objective(c.run, c.inputs, seed), c.inputs, vs, name);
      }),
      runs,
    );
  });
});
