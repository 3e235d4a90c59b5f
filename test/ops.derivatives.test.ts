/**
 * Every op's first and second derivatives against finite differences, in float64, on random
 * shapes (broadcasting and length-1 axes included): the derivative rule (reverse mode), the
 * tangent rule (forward mode), and Hessian-vector products both forward-over-reverse and
 * reverse-over-reverse. The objective
 *   f(x) = Σ W⊙y + ½ Σ V⊙y⊙y,  y = op(x)
 * weights the output by random W and V, so the gradient flowing into the op is not constant and
 * the Hessian involves both the op's own second derivative and its rule's dependence on g.
 */
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { makeTensor } from './helpers/arbitraries.js';
import { checkGrad, checkHvp, checkJvp } from './helpers/fd.js';
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

  test.each(['forward-over-reverse', 'reverse-over-reverse'] as const)('second derivative (hvp, %s) matches finite differences of gradients (float64)', (method) => {
    fc.assert(
      fc.property(arb, fc.nat(1000), (c, seed) => {
        const vs = c.inputs.map((x, i) => makeTensor(x.shape, seed + 31 * i + 5));
        checkHvp(objective(c.run, c.inputs, seed), c.inputs, vs, name, 1e-6, method);
      }),
      runs,
    );
  });

  test('tangent rule (forward-mode jvp) matches central differences along a random direction (float64)', () => {
    fc.assert(
      fc.property(arb, fc.nat(1000), (c, seed) => {
        const ts = c.inputs.map((x, i) => makeTensor(x.shape, seed + 17 * i + 3));
        checkJvp(c.run, c.inputs, ts, name);
      }),
      runs,
    );
  });
});
