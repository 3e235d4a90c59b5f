/**
 * Stein variational gradient descent (Liu and Wang 2016) over M particles, each a full set of
 * model parameters, held stacked: every parameter tensor has a leading particle axis `[M, …]`.
 *
 *   θᵢ ← θᵢ + ε φ(θᵢ),   φ(θᵢ) = (1/M) Σⱼ [ k(θⱼ, θᵢ) ∇log p(θⱼ) + ∇_θⱼ k(θⱼ, θᵢ) ]
 *   k(a, b) = exp(−‖a − b‖² / h),   h = median_{i<j} ‖θᵢ − θⱼ‖² / log M
 *
 * The first term drives the particles up the log-density, the second (the repulsive term) keeps
 * them apart. It is exact: ∇_θⱼ k(θⱼ, θᵢ) = (2/h) k(θⱼ, θᵢ) (θᵢ − θⱼ), so the term is
 * (2/h) (θᵢ Σⱼ kᵢⱼ − Σⱼ kᵢⱼ θⱼ). Everything is written in differentiable ops, so a meta-gradient
 * can run through SVGD steps (BMAML); the bandwidth h, a median, is held constant, as in the
 * BMAML authors' code. With one particle the kernel is 1, the repulsive term exactly zero, and a
 * step is exactly a gradient-descent step on −log p.
 */
import { grad, noGrad } from '../autograd.js';
import { add, mul, sub } from '../ops/binary.js';
import { reshape, transpose } from '../ops/layout.js';
import { matmul } from '../ops/matmul.js';
import { sum } from '../ops/reduce.js';
import { exp, scale, square } from '../ops/unary.js';
import { allocData, Tensor } from '../tensor.js';
import { checkPositive } from '../checks.js';
import { fmt } from '../shape.js';

/** The number of particles of stacked `particles` (their common leading axis), checked; `op` names the caller. */
export function particleCount(op: string, particles: readonly Tensor[]): number {
  if (!Array.isArray(particles) || particles.length === 0) throw new TypeError(`${op}: particles must be a non-empty list of Tensors with a leading particle axis`);
  const M = particles[0]!.shape[0];
  particles.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${op}: particles[${i}] is not a Tensor`);
    if (p.ndim < 1 || p.shape[0] !== M) throw new RangeError(`${op}: every particle tensor needs the same leading particle axis: particles[0] is ${fmt(particles[0]!.shape)}, particles[${i}] is ${fmt(p.shape)}`);
  });
  return M!;
}

/** Each parameter tensor as a matrix `[M, size/M]`, one row per particle. */
function rows(particles: readonly Tensor[], M: number): Tensor[] {
  return particles.map((p) => reshape(p, [M, p.size / M]));
}

/** The squared distances ‖θᵢ − θⱼ‖² between particles, `[M, M]` (differentiable; from the Gram matrix). */
export function particleDistances(particles: readonly Tensor[]): Tensor {
  const M = particleCount('particleDistances', particles);
  let d: Tensor | null = null;
  for (const X of rows(particles, M)) {
    const gram = matmul(X, transpose(X));
    const norms = sum(square(X), 1, true); // [M, 1]
    const term = sub(add(norms, transpose(norms)), scale(gram, 2));
    d = d === null ? term : add(d, term);
  }
  // The diagonal is exactly 0 (and so is its gradient): rounding in the Gram form would leave
  // kᵢᵢ a hair below 1, and one particle would no longer step exactly as gradient descent.
  const mask = allocData(d!.dtype, M * M);
  for (let i = 0; i < M * M; i++) mask[i] = i % (M + 1) === 0 ? 0 : 1;
  const offDiagonal = new Tensor(mask, [M, M]);
  return mul(d!, offDiagonal);
}

/** The median heuristic's bandwidth: the median of ‖θᵢ − θⱼ‖² over pairs i < j, over log M (1 when M = 1 or the particles coincide). */
export function medianBandwidth(distances: Tensor): number {
  const M = distances.shape[0]!;
  if (M < 2) return 1;
  const pairs: number[] = [];
  for (let i = 0; i < M; i++) for (let j = i + 1; j < M; j++) pairs.push(Math.max(0, distances.data[i * M + j]!));
  pairs.sort((a, b) => a - b);
  const n = pairs.length;
  const median = n % 2 === 1 ? pairs[(n - 1) / 2]! : 0.5 * (pairs[n / 2 - 1]! + pairs[n / 2]!);
  const h = median / Math.log(M);
  return h > 0 && Number.isFinite(h) ? h : 1;
}

/** The RBF kernel matrix kᵢⱼ = exp(−‖θᵢ − θⱼ‖² / h) `[M, M]` and its bandwidth (the median heuristic's unless given). */
export function rbfKernel(particles: readonly Tensor[], bandwidth?: number): { kernel: Tensor; bandwidth: number } {
  const d = particleDistances(particles);
  const h = bandwidth ?? medianBandwidth(d);
  checkPositive('rbfKernel: bandwidth', h);
  return { kernel: exp(scale(d, -1 / h)), bandwidth: h };
}

/**
 * The SVGD direction φ(θᵢ) for every particle, stacked like `particles`, from the scores
 * ∇log p(θⱼ) (stacked the same way).
 */
export function svgdDirection(particles: readonly Tensor[], scores: readonly Tensor[], options: { bandwidth?: number } = {}): Tensor[] {
  const M = particleCount('svgdDirection', particles);
  if (!Array.isArray(scores) || scores.length !== particles.length) throw new RangeError(`svgdDirection: ${particles.length} particle tensors but ${Array.isArray(scores) ? scores.length : 'no list of'} scores`);
  scores.forEach((s, i) => {
    if (!(s instanceof Tensor) || fmt(s.shape) !== fmt(particles[i]!.shape)) throw new RangeError(`svgdDirection: scores[${i}] must have the particles' shape ${fmt(particles[i]!.shape)}, got ${s instanceof Tensor ? fmt(s.shape) : typeof s}`);
  });
  const { kernel: K, bandwidth: h } = rbfKernel(particles, options.bandwidth);
  const kSum = sum(K, 1, true); // [M, 1]: Σⱼ kᵢⱼ
  const X = rows(particles, M);
  const S = rows(scores, M);
  return X.map((x, t) => {
    const drive = matmul(K, S[t]!);
    const repulse = scale(sub(mul(x, kSum), matmul(K, x)), 2 / h);
    return reshape(scale(add(drive, repulse), 1 / M), particles[t]!.shape);
  });
}

/**
 * One SVGD step of size `stepSize` on the log-density `logDensity` (its sum over the particles,
 * a scalar). With `createGraph` the step stays on the tape, so a loss of the result can be
 * differentiated through it (second order); otherwise the result is detached.
 */
export function svgdStep(particles: readonly Tensor[], logDensity: (particles: Tensor[]) => Tensor, stepSize: number, options: { createGraph?: boolean; bandwidth?: number } = {}): Tensor[] {
  checkPositive('svgdStep: stepSize', stepSize);
  const at = particles.map((p) => (options.createGraph === true && p.requiresGrad ? p : new Tensor(p.data, p.shape, true)));
  const logp = logDensity(at);
  if (!(logp instanceof Tensor) || logp.size !== 1) throw new TypeError(`svgdStep: logDensity must return a scalar Tensor (the sum of the particles' log-densities), got ${logp instanceof Tensor ? fmt(logp.shape) : typeof logp}`);
  const scores = grad(logp, at, { createGraph: options.createGraph === true, allowUnused: true });
  const move = (): Tensor[] => {
    const phi = svgdDirection(at, scores, { bandwidth: options.bandwidth });
    return at.map((p, t) => add(p, scale(phi[t]!, stepSize)));
  };
  return options.createGraph === true ? move() : noGrad(move);
}
