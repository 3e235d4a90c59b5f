/**
 * Trust-region policy optimisation's step (Schulman et al. 2015), as the MAML paper's
 * meta-optimiser: the search direction solves F d = −g by conjugate gradient, with F v the
 * Hessian-vector product of the mean KL (exact, from the tape; at the old policy its Hessian is
 * the Fisher matrix), scaled to the KL bound and shrunk by backtracking until the objective
 * improves within the bound.
 */
import { grad } from '../autograd.js';
import { valueAndGrad } from '../functional.js';
import { add, mul } from '../ops/binary.js';
import { sum } from '../ops/reduce.js';
import { Tensor } from '../tensor.js';
import { checkInteger, checkPositive } from '../checks.js';

/** Solves A x = b for symmetric positive definite A given as x ↦ A x, by `iterations` conjugate-gradient steps (fewer once the residual is below `tolerance`). */
export function conjugateGradient(A: (x: Float64Array) => Float64Array, b: Float64Array, iterations: number, tolerance = 1e-10): Float64Array {
  checkInteger('conjugateGradient: iterations', iterations);
  const x = new Float64Array(b.length);
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  let rr = r.reduce((s, v) => s + v * v, 0);
  for (let k = 0; k < iterations && rr > tolerance; k++) {
    const Ap = A(p);
    const pAp = p.reduce((s, v, i) => s + v * Ap[i]!, 0);
    if (!(pAp > 0)) throw new RangeError(`conjugateGradient: the matrix is not positive definite along the search direction (pᵀAp = ${pAp})`);
    const alpha = rr / pAp;
    for (let i = 0; i < x.length; i++) {
      x[i] = x[i]! + alpha * p[i]!;
      r[i] = r[i]! - alpha * Ap[i]!;
    }
    const next = r.reduce((s, v) => s + v * v, 0);
    for (let i = 0; i < p.length; i++) p[i] = r[i]! + (next / rr) * p[i]!;
    rr = next;
  }
  return x;
}

/** Settings of {@link trpoStep}; the defaults are rllab's, which the MAML paper used. */
export interface TrpoSettings {
  /** The bound δ on the mean KL between the old and new policies. Default 0.01. */
  maxKl?: number;
  /** Conjugate-gradient iterations. Default 10. */
  cgIterations?: number;
  /** Added to F's diagonal (damping). Default 1e-5. */
  damping?: number;
  /** Each backtrack multiplies the step by this. Default 0.8. */
  backtrackRatio?: number;
  /** Backtracks at most. Default 15. */
  maxBacktracks?: number;
}

/** What a TRPO step did. */
export interface TrpoResult {
  /** The new parameters (the old ones when no step was accepted). */
  params: Tensor[];
  /** Whether a step was taken (false: no step length met both conditions; the parameters are unchanged). */
  accepted: boolean;
  /** The objective before the step. */
  before: number;
  /** The objective after it. */
  after: number;
  /** The mean KL of the step taken. */
  kl: number;
  /** How many times the step was shrunk. */
  backtracks: number;
}

const flatten = (ts: readonly Tensor[]): Float64Array => Float64Array.from(ts.flatMap((t) => Array.from(t.data)));
function unflatten(v: Float64Array, like: readonly Tensor[]): Tensor[] {
  let o = 0;
  return like.map((t) => {
    const part = v.subarray(o, o + t.size);
    const out = new Tensor(t.dtype === 'float64' ? Float64Array.from(part) : Float32Array.from(part), t.shape);
    o += t.size;
    return out;
  });
}

/**
 * v ↦ (H + damping·I) v for H the Hessian of `kl` at `params` (flat float64 vectors in the
 * parameters' order): one graph of ∇KL, differentiated again for every product. At the policy
 * the KL is measured from, H is the Fisher information matrix of the policy.
 */
export function klCurvature(params: readonly Tensor[], kl: (p: Tensor[]) => Tensor, damping = 0): (v: Float64Array) => Float64Array {
  const at = params.map((p) => new Tensor(p.data, p.shape, true));
  const gradKl = grad(kl(at), at, { createGraph: true, allowUnused: true });
  return (v) => {
    const vs = unflatten(v, at);
    const dot = gradKl.reduce<Tensor | null>((s, gi, i) => (s === null ? sum(mul(gi, vs[i]!)) : add(s, sum(mul(gi, vs[i]!)))), null)!;
    const Fv = dot.requiresGrad ? flatten(grad(dot, at, { retainGraph: true, allowUnused: true })) : new Float64Array(v.length);
    for (let i = 0; i < Fv.length; i++) Fv[i] = Fv[i]! + damping * v[i]!;
    return Fv;
  };
}

/**
 * One TRPO step on `params`, minimising `objective` subject to `kl(params) ≤ maxKl`, where
 * `kl(p)` is the mean KL from the policy at `params` (held fixed) to the one at `p`.
 */
export function trpoStep(params: readonly Tensor[], objective: (p: Tensor[]) => Tensor, kl: (p: Tensor[]) => Tensor, settings: TrpoSettings = {}): TrpoResult {
  const maxKl = settings.maxKl ?? 0.01;
  const iterations = settings.cgIterations ?? 10;
  const damping = settings.damping ?? 1e-5;
  const ratio = settings.backtrackRatio ?? 0.8;
  const maxBacktracks = settings.maxBacktracks ?? 15;
  checkPositive('trpoStep: maxKl', maxKl);
  checkInteger('trpoStep: cgIterations', iterations);
  if (!(ratio > 0 && ratio < 1)) throw new RangeError(`trpoStep: backtrackRatio must be in (0, 1), got ${ratio}`);
  const [f0, g] = valueAndGrad(objective)([...params]);
  const before = f0.item();
  const fisher = klCurvature(params, kl, damping);
  const minusG = flatten(g).map((v) => -v);
  const d = conjugateGradient(fisher, minusG, iterations);
  const Fd = fisher(d);
  const dFd = d.reduce((s, v, i) => s + v * Fd[i]!, 0);
  const full = Math.sqrt((2 * maxKl) / Math.max(dFd, 1e-20));
  const start = flatten(params);
  for (let k = 0; k <= maxBacktracks; k++) {
    const step = full * ratio ** k;
    const candidate = unflatten(start.map((v, i) => v + step * d[i]!), params);
    // Not under noGrad: an objective may itself take gradients (MAML's inner step).
    const [f, divergence] = [objective(candidate).item(), kl(candidate).item()];
    if (f < before && divergence <= maxKl) return { params: candidate, accepted: true, before, after: f, kl: divergence, backtracks: k };
  }
  return { params: [...params], accepted: false, before, after: before, kl: 0, backtracks: maxBacktracks };
}
