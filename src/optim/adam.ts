/**
 * Adam (Kingma & Ba), with β1 settable down to 0 as the Reptile paper uses in its inner loop.
 * State (first and second moments, step count) is kept per parameter index and can be saved
 * and restored: Reptile carries it across training tasks but restores it around each
 * evaluation task so no information leaks between test tasks.
 */
import { allocOutput, Tensor, type TypedArray } from '../tensor.js';
import { adamInto } from '../kernels/dispatch.js';
import { checkOptionsObject, checkPositive, type OptionKeys } from '../checks.js';
import { checkStep, type Optimizer } from './optimizer.js';

/** Options of {@link Adam}; each is checked when the optimiser is built. */
export interface AdamOptions {
  /** Step size. Default 1e-3. */
  lr?: number;
  /** Decay of the first moment, in [0, 1). Default 0.9 (the Reptile paper's inner loop uses 0). */
  beta1?: number;
  /** Decay of the second moment, in [0, 1). Default 0.999. */
  beta2?: number;
  /** Added to the root of the second moment. Default 1e-8. */
  eps?: number;
}

const ADAM_OPTIONS: OptionKeys<AdamOptions> = { lr: true, beta1: true, beta2: true, eps: true };

/** Adam's state: the step count and each parameter's first and second moments. */
export interface AdamState {
  t: number;
  m: TypedArray[];
  v: TypedArray[];
}

/** Adam with bias correction; its moments and step count can be saved and restored (`getState`/`setState`). */
export class Adam implements Optimizer {
  /** Step size; may be changed between steps. */
  lr: number;
  /** Decay of the first moment. */
  readonly beta1: number;
  /** Decay of the second moment. */
  readonly beta2: number;
  /** Added to the root of the second moment. */
  readonly eps: number;
  private t = 0;
  private m: TypedArray[] = [];
  private v: TypedArray[] = [];

  constructor(options: AdamOptions = {}) {
    checkOptionsObject('Adam', options, ADAM_OPTIONS, '{ lr: 1e-3, beta1: 0 }');
    this.lr = options.lr ?? 1e-3;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    checkPositive('Adam: lr', this.lr);
    if (!(this.beta1 >= 0 && this.beta1 < 1)) throw new RangeError(`Adam: beta1 must be in [0, 1), got ${this.beta1}`);
    if (!(this.beta2 >= 0 && this.beta2 < 1)) throw new RangeError(`Adam: beta2 must be in [0, 1), got ${this.beta2}`);
    checkPositive('Adam: eps', this.eps);
  }

  step(params: readonly Tensor[], grads: readonly Tensor[]): Tensor[] {
    checkStep(params, grads, 'Adam');
    if (this.m.length === 0) {
      // The moments live as long as the optimiser, so they are its own arrays, never the pool's
      // (a first step inside `tidy` must not hand them back).
      const fresh = (p: Tensor): TypedArray => (p.dtype === 'float64' ? new Float64Array(p.size) : new Float32Array(p.size));
      this.m = params.map(fresh);
      this.v = params.map(fresh);
    } else if (this.m.length !== params.length || this.m.some((m, i) => m.length !== params[i]!.size)) {
      throw new RangeError('Adam.step: the parameters changed shape or number since the first step; use a new Adam');
    } else if (this.m.some((m, i) => (m instanceof Float64Array) !== (params[i]!.dtype === 'float64'))) {
      throw new TypeError("Adam.step: the moments' dtypes differ from the parameters' (a state from other parameters?)");
    }
    this.t++;
    const { beta1: b1, beta2: b2, eps } = this;
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    const stepSize = (this.lr * Math.sqrt(c2)) / c1;
    const epsHat = eps * Math.sqrt(c2);
    return params.map((p, i) => {
      const g = grads[i]!.data;
      const m = this.m[i]!;
      const v = this.v[i]!;
      const pd = p.data;
      const out = allocOutput(p.dtype, p.size); // adamInto writes every element
      adamInto(pd, g, m, v, out, b1, b2, stepSize, epsHat);
      return new Tensor(out, p.shape);
    });
  }

  getState(): AdamState {
    return { t: this.t, m: this.m.map((a) => a.slice()), v: this.v.map((a) => a.slice()) };
  }

  setState(state: unknown): void {
    const s = state as AdamState;
    if (s === null || typeof s !== 'object' || !Array.isArray(s.m) || !Array.isArray(s.v) || typeof s.t !== 'number') {
      throw new TypeError('Adam.setState: expected a state from Adam.getState()');
    }
    if (!Number.isInteger(s.t) || s.t < 0) throw new RangeError(`Adam.setState: the step count must be an integer ≥ 0, got ${s.t}`);
    const floats = (a: unknown): boolean => a instanceof Float32Array || a instanceof Float64Array;
    if (s.m.length !== s.v.length || !s.m.every(floats) || !s.v.every(floats) || s.m.some((m, i) => m.length !== s.v[i]!.length || m.constructor !== s.v[i]!.constructor)) {
      throw new TypeError('Adam.setState: m and v must be matching lists of Float32Array or Float64Array, one pair per parameter');
    }
    this.t = s.t;
    this.m = s.m.map((a) => a.slice());
    this.v = s.v.map((a) => a.slice());
  }
}
