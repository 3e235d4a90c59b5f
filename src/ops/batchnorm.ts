/**
 * Batch normalisation over every axis but the last (channels). With batch statistics it is one
 * fused op: a kernel forward, and a derivative written in ops while recording (so higher orders
 * work) or computed by a kernel from the saved x̂ and 1/σ when nothing is recorded. With given
 * statistics (evaluation with running averages) it is composed of ops.
 */
import { isGradEnabled, record, tangentRule, tracksAny } from '../autograd.js';
import { batchNormBackward, batchNormForward } from '../kernels/dispatch.js';
import { checkOptionsObject, type OptionKeys } from '../checks.js';
import { fmt } from '../shape.js';
import { expectTensor, allocOutput, Tensor, type TypedArray, type VjpRule } from '../tensor.js';
import { add, div, mul, sub } from './binary.js';
import { broadcastTo, reshape } from './layout.js';
import { mean, sum } from './reduce.js';
import { square, sqrt } from './unary.js';

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Use these statistics (shape [C] or broadcastable) instead of the batch's: evaluation with running statistics. */
  stats?: { mean: Tensor; variance: Tensor };
  /**
   * With batch statistics: called with the batch's per-channel mean and (biased) variance `[C]`,
   * off the tape and read from the forward kernel (for running statistics, at no extra pass).
   */
  observe?: (moments: { mean: Tensor; variance: Tensor }) => void;
}

const BATCH_NORM_OPTIONS: OptionKeys<BatchNormOptions> = { eps: true, stats: true, observe: true };

/**
 * Batch normalisation over every axis but the last (channels): `γ·(x − μ)/√(σ² + ε) + β` with
 * the batch's mean and (biased) variance, or given `stats`. Composed of differentiable ops.
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, options: BatchNormOptions = {}): Tensor {
  expectTensor(x, 'batchNorm', 'x');
  expectTensor(gamma, 'batchNorm', 'gamma');
  expectTensor(beta, 'batchNorm', 'beta');
  checkOptionsObject('batchNorm', options, BATCH_NORM_OPTIONS, '{ eps: 1e-3 }');
  const eps = options.eps ?? 1e-5;
  if (!(eps > 0)) throw new RangeError(`batchNorm: eps must be positive, got ${eps}`);
  const c = x.shape[x.ndim - 1]!;
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t.size !== c) throw new RangeError(`batchNorm: ${name} has shape ${fmt(t.shape)}, expected ${c} channels`);
    if (t.dtype !== x.dtype) throw new TypeError(`batchNorm: ${name} is ${t.dtype} but the input is ${x.dtype}`);
  }
  if (options.observe !== undefined && typeof options.observe !== 'function') throw new TypeError(`batchNorm: observe must be a function of { mean, variance }, got ${typeof options.observe}`);
  if (options.observe !== undefined && options.stats) throw new RangeError('batchNorm: observe reports the batch statistics, and with stats given none are computed');
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  if (options.stats) {
    // Given statistics (evaluation with running statistics): composed of ops.
    const xhat = div(sub(x, options.stats.mean), sqrt(add(options.stats.variance, eps)));
    return add(mul(xhat, reshape(gamma, [c])), reshape(beta, [c]));
  }
  const tracked = tracksAny([x, gamma, beta]);
  // The kernels write every element of their outputs.
  const out = allocOutput(x.dtype, x.size);
  // x̂ is kept only for the derivative; otherwise the kernel may use `out` as its scratch
  // (it writes x̂[i] and then overwrites it with γ·x̂[i] + β).
  const xhat = tracked ? allocOutput(x.dtype, x.size) : out;
  const invStd = allocOutput(x.dtype, c);
  const mu = options.observe === undefined ? null : allocOutput(x.dtype, c);
  batchNormForward(x.data, gamma.data, beta.data, eps, c, out, xhat, invStd, mu);
  if (mu !== null) {
    // The kernel keeps 1/√(σ² + ε), so σ² = 1/(1/σ)² − ε.
    const variance = allocOutput(x.dtype, c);
    for (let j = 0; j < c; j++) variance[j] = Math.max(0, 1 / (invStd[j]! * invStd[j]!) - eps);
    options.observe!({ mean: new Tensor(mu, [c]), variance: new Tensor(variance, [c]) });
  }
  const t = new Tensor(out, x.shape);
  if (!tracked) return t;
  return record(t, 'batchNorm', [x, gamma, beta], batchNormVjp, { eps, axes, xhat, invStd }, { inputs: [true, true, false], output: false });
}

/**
 * The derivative of batch normalisation with batch statistics. While recording (higher order),
 * it is written in ops, recomputing x̂ from x so its dependence on x is on the tape; otherwise a
 * kernel computes the same numbers from the saved x̂ and 1/σ.
 */
const batchNormVjp: VjpRule = (g, _o, node, needs) => {
  const [x, gamma] = node.values as [Tensor, Tensor];
  const beta = node.inputs[2]!;
  const { eps, axes, xhat, invStd } = node.saved as { eps: number; axes: number[]; xhat: TypedArray; invStd: TypedArray };
  const c = gamma.size;
  if (!isGradEnabled()) {
    const dx = allocOutput(x.dtype, x.size), dg = allocOutput(x.dtype, c), db = allocOutput(x.dtype, c);
    batchNormBackward(g.data, xhat, invStd, gamma.data, c, dx, dg, db);
    return [needs[0] ? new Tensor(dx, x.shape) : null, needs[1] ? new Tensor(dg, gamma.shape) : null, needs[2] ? new Tensor(db, beta.shape) : null];
  }
  const xc = sub(x, mean(x, axes, true));
  const inv = div(1, sqrt(add(mean(square(xc), axes, true), eps)));
  const xh = mul(xc, inv);
  const gx = mul(g, reshape(gamma, [c]));
  const dx = needs[0] ? mul(inv, sub(sub(gx, mean(gx, axes, true)), mul(xh, mean(mul(gx, xh), axes, true)))) : null;
  return [dx, needs[1] ? reshape(sum(mul(g, xh), axes), gamma.shape) : null, needs[2] ? reshape(sum(g, axes), beta.shape) : null];
};

/** Per-channel mean and biased variance of `x` over every axis but the last (detach them to keep running averages). */
export function batchMoments(x: Tensor): { mean: Tensor; variance: Tensor } {
  expectTensor(x, 'batchMoments');
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const mu = mean(x, axes);
  return { mean: mu, variance: mean(square(sub(x, mu)), axes) };
}

// Tangent rule (forward mode), batch statistics: dx̂ = (dx − mean(dx) − x̂·mean(x̂·dx)) / σ and
// dy = dγ·x̂ + γ·dx̂ + dβ.
tangentRule('batchNorm', ([tx, tg, tb], _out, [x, gamma], node) => {
  const { axes, xhat, invStd } = node.saved as { axes: number[]; xhat: TypedArray; invStd: TypedArray };
  const c = gamma!.size;
  const xh = new Tensor(xhat, x!.shape);
  const terms: Tensor[] = [];
  if (tx !== null) {
    const dxh = mul(new Tensor(invStd, [c]), sub(sub(tx, mean(tx, axes, true)), mul(xh, mean(mul(xh, tx), axes, true))));
    terms.push(mul(dxh, reshape(gamma!, [c])));
  }
  if (tg !== null) terms.push(mul(xh, reshape(tg, [c])));
  if (tb !== null) terms.push(broadcastTo(reshape(tb, [c]), x!.shape));
  return terms.reduce((s, t) => add(s, t));
});
