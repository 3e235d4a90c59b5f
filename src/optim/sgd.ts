/**
 * Plain SGD: p ← p − lr·g. Optimisers are functional: `step(params, grads)` returns new
 * parameter tensors and keeps only their own state, so the caller decides what to keep.
 */
import { axpyInto } from '../kernels/elementwise.js';
import { allocOutput, Tensor } from '../tensor.js';
import { checkOptionsObject, checkPositive } from '../checks.js';
import { checkStep, type Optimizer } from './optimizer.js';

/** Plain stochastic gradient descent, p ← p − lr·g; it has no state. */
export class SGD implements Optimizer {
  /** Step size; may be changed between steps. */
  lr: number;

  /** @param options `{ lr }` as for Adam, or the step size itself. */
  constructor(options: { lr: number } | number) {
    if (typeof options !== 'number') checkOptionsObject('SGD', options, { lr: true }, '{ lr: 0.1 }');
    const lr = typeof options === 'number' ? options : options.lr;
    checkPositive('SGD: lr', lr);
    this.lr = lr;
  }

  step(params: readonly Tensor[], grads: readonly Tensor[]): Tensor[] {
    checkStep(params, grads, 'SGD');
    return params.map((p, i) => {
      const out = allocOutput(p.dtype, p.size); // axpyInto writes every element
      axpyInto(p.data, -this.lr, grads[i]!.data, out);
      return new Tensor(out, p.shape);
    });
  }

  getState(): unknown {
    return null;
  }

  setState(): void {}
}
