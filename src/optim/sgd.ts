/**
 * SGD: p ← p − lr·g, or with momentum μ (as PyTorch's SGD, dampening 0): b ← μ·b + g (b = g at the
 * first step), p ← p − lr·b; with `nesterov`, p ← p − lr·(g + μ·b). Optimisers are functional:
 * `step(params, grads)` returns new parameter tensors and keeps only their own state, so the
 * caller decides what to keep.
 */
import { axpyInto } from '../kernels/elementwise.js';
import { allocOutput, Tensor, type TypedArray } from '../tensor.js';
import { checkNonNegative, checkOptionsObject, checkPositive, isRecord, type OptionKeys } from '../checks.js';
import { checkStep, type Optimizer } from './optimizer.js';

/** Options of {@link SGD}. */
export interface SgdOptions {
  /** Step size. */
  lr: number;
  /** Momentum μ ≥ 0. Default 0 (plain SGD, no state). */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0). Default false. */
  nesterov?: boolean;
}

const SGD_OPTIONS: OptionKeys<SgdOptions> = { lr: true, momentum: true, nesterov: 'flag' };

/** The state of an {@link SGD} with momentum: one velocity per parameter (none before the first step). */
export interface SgdState {
  buffers: TypedArray[];
}

/** Stochastic gradient descent, with optional (Nesterov) momentum; without momentum it has no state. */
export class SGD implements Optimizer {
  /** Step size; may be changed between steps. */
  lr: number;
  /** Momentum μ (0: plain SGD). */
  readonly momentum: number;
  /** Whether the momentum is Nesterov's. */
  readonly nesterov: boolean;
  private buffers: TypedArray[] = [];

  /** @param options `{ lr, momentum, nesterov }`, or the step size itself. */
  constructor(options: SgdOptions | number) {
    if (typeof options !== 'number') checkOptionsObject('SGD', options, SGD_OPTIONS, '{ lr: 0.1, momentum: 0.9 }');
    const o = typeof options === 'number' ? { lr: options } : options;
    checkPositive('SGD: lr', o.lr);
    this.lr = o.lr;
    this.momentum = o.momentum ?? 0;
    checkNonNegative('SGD: momentum', this.momentum);
    this.nesterov = o.nesterov ?? false;
    if (this.nesterov && this.momentum === 0) throw new RangeError('SGD: nesterov needs a momentum above 0');
  }

  step(params: readonly Tensor[], grads: readonly Tensor[]): Tensor[] {
    checkStep(params, grads, 'SGD');
    if (this.momentum === 0) {
      return params.map((p, i) => {
        const out = allocOutput(p.dtype, p.size); // axpyInto writes every element
        axpyInto(p.data, -this.lr, grads[i]!.data, out);
        return new Tensor(out, p.shape);
      });
    }
    const first = this.buffers.length === 0;
    if (!first && (this.buffers.length !== params.length || this.buffers.some((b, i) => b.length !== params[i]!.size))) {
      throw new RangeError('SGD.step: the parameters changed shape or number since the first step; use a new SGD');
    }
    // The velocities live as long as the optimiser: its own arrays, never the pool's.
    if (first) this.buffers = params.map((p, i) => (p.dtype === 'float64' ? Float64Array.from(grads[i]!.data) : Float32Array.from(grads[i]!.data)));
    else {
      this.buffers.forEach((b, i) => {
        const g = grads[i]!.data;
        for (let j = 0; j < b.length; j++) b[j] = this.momentum * b[j]! + g[j]!;
      });
    }
    return params.map((p, i) => {
      const b = this.buffers[i]!, g = grads[i]!.data, pd = p.data;
      const out = allocOutput(p.dtype, p.size);
      for (let j = 0; j < out.length; j++) out[j] = pd[j]! - this.lr * (this.nesterov ? g[j]! + this.momentum * b[j]! : b[j]!);
      return new Tensor(out, p.shape);
    });
  }

  /** A copy of the velocities (null without momentum: there is no state). */
  getState(): SgdState | null {
    return this.momentum === 0 ? null : { buffers: this.buffers.map((b) => b.slice()) };
  }

  /** Restores a state from {@link getState}. */
  setState(state: unknown): void {
    if (this.momentum === 0) return;
    if (!isRecord(state) || !Array.isArray(state.buffers) || !state.buffers.every((b) => b instanceof Float32Array || b instanceof Float64Array)) {
      throw new TypeError('SGD.setState: expected a state from SGD.getState() ({ buffers })');
    }
    this.buffers = (state.buffers as TypedArray[]).map((b) => b.slice());
  }
}
