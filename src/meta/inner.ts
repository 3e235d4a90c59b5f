/**
 * The primitives of the algorithm boxes, on one task given as a sequence of losses L₁ … L_k
 * (functions of the parameters; for example the loss on k mini-batches). Notation as in
 * docs/theory.md: φ₁ = φ, gᵢ = Lᵢ'(φᵢ), φᵢ₊₁ = φᵢ − α gᵢ.
 *
 *   g_MAML    = ∂/∂φ₁ L_outer(φ_k+1)   (exact: differentiates through the inner steps)
 *   g_FOMAML  = L_outer'(φ_k+1)        (the inner loop's Jacobian replaced by I)
 *   g_Reptile = (φ₁ − φ_k+1) / α = Σ gᵢ
 *
 * A meta-batch of T tasks runs as one task: `tileParams` stacks φ along a new leading task axis,
 * a loss that sums the tasks' own losses then has per-task gradients, and the meta-gradient
 * w.r.t. the untiled φ is the sum over tasks (the callers divide by T for the mean).
 */
import type { MomentRecord } from '../nn/step-stats.js';
import { grad, noGrad } from '../autograd.js';
import { add, mul, sub } from '../ops/binary.js';
import { broadcastTo, unsqueeze } from '../ops/layout.js';
import { mean, sum } from '../ops/reduce.js';
import { scale } from '../ops/unary.js';
import { Tensor } from '../tensor.js';
import { checkOptionsObject, describeValue, type OptionTable } from '../checks.js';
import { fmt } from '../shape.js';

/** A scalar loss as a function of the parameters. */
export type LossFn = (params: Tensor[]) => Tensor;

/** How the inner loop is recorded. */
export type InnerMode =
  /** On the tape with its gradients (createGraph): exact MAML. */
  | 'second-order'
  /** Gradients are constants but φ_k+1 = φ₁ − α Σ gᵢ stays on the tape: FOMAML. */
  | 'first-order'
  /** Nothing recorded: Reptile, evaluation, fine-tuning. */
  | 'detached';

/** The parameters, each repeated `tasks` times along a new leading axis (differentiably). */
export function tileParams(params: readonly Tensor[], tasks: number): Tensor[] {
  if (!Number.isInteger(tasks) || tasks < 1) throw new RangeError(`tileParams: tasks must be a positive integer, got ${tasks}`);
  return params.map((p) => broadcastTo(unsqueeze(p, 0), [tasks, ...p.shape]));
}

function checkAlpha(alpha: number, op: string): void {
  if (typeof alpha !== 'number' || !(alpha > 0) || !Number.isFinite(alpha)) throw new RangeError(`${op}: step size alpha must be a positive number, got ${alpha}`);
}

/** The options of mamlGradient and of the inner-loop functions, built once rather than on every call of these per-task, per-step functions. */
const MAML_GRADIENT_OPTIONS: OptionTable = { firstOrder: 'flag', tasks: true, recompute: true, perTask: 'flag' };
const TASKS_OPTIONS: OptionTable = { tasks: true };

/** Throws unless `params` is a list of Tensors; `op` names the caller. */
export function checkParams(op: string, params: unknown): void {
  if (!Array.isArray(params)) throw new TypeError(`${op}: params must be a list of Tensors, got ${describeValue(params)}`);
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${op}: params[${i}] is ${describeValue(p)}, not a Tensor`);
  });
}

function checkLosses(op: string, losses: unknown): void {
  if (!Array.isArray(losses)) throw new TypeError(`${op}: the inner losses must be a list of functions of the parameters, got ${describeValue(losses)}`);
  losses.forEach((L, i) => {
    if (typeof L !== 'function') throw new TypeError(`${op}: inner loss ${i} is ${describeValue(L)}, not a function of the parameters`);
  });
}

/** A loss function's result, which must be a scalar Tensor (`what` names the loss). */
function scalarLoss(op: string, what: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) throw new TypeError(`${op}: ${what} returned ${describeValue(v)}, not a scalar Tensor`);
  if (v.size !== 1) throw new RangeError(`${op}: ${what} returned a Tensor of shape ${fmt(v.shape)}, not a scalar`);
  return v;
}

function asLeaves(params: readonly Tensor[]): Tensor[] {
  return params.map((p) => (p.requiresGrad ? p : new Tensor(p.data, p.shape, true)));
}

/** Result of an inner loop. */
export interface InnerResult {
  /** φ_k+1. */
  params: Tensor[];
  /** g₁ … g_k (one list of per-parameter gradients per step). */
  grads: Tensor[][];
  /** L₁(φ₁) … L_k(φ_k), the inner losses seen. */
  losses: number[];
}

/** k steps of gradient descent, one per loss: φᵢ₊₁ = φᵢ − α ∇Lᵢ(φᵢ). */
export function sgdInnerLoop(params: readonly Tensor[], losses: readonly LossFn[], alpha: number, mode: InnerMode = 'detached'): InnerResult {
  return innerLoop('sgdInnerLoop', params, losses, alpha, mode);
}

/** {@link sgdInnerLoop}, its arguments checked in the name of `op`, the public function called. */
function innerLoop(op: string, params: readonly Tensor[], losses: readonly LossFn[], alpha: number, mode: InnerMode): InnerResult {
  checkAlpha(alpha, op);
  checkParams(op, params);
  checkLosses(op, losses);
  if (mode !== 'second-order' && mode !== 'first-order' && mode !== 'detached') throw new RangeError(`${op}: unknown mode '${String(mode)}'`);
  const start = asLeaves(params);
  let phi = start;
  const grads: Tensor[][] = [];
  const seen: number[] = [];
  for (const [i, L] of losses.entries()) {
    const loss = scalarLoss(op, `inner loss ${i}`, L(phi));
    seen.push(loss.item());
    const g = grad(loss, phi, { createGraph: mode === 'second-order', allowUnused: true });
    grads.push(g);
    // φ + (−α)·g rather than φ − α·g: the same numbers, but the reverse pass through it is one
    // scaled copy of the upstream gradient instead of a negation and then a scaling.
    if (mode === 'second-order') phi = phi.map((p, j) => add(p, scale(g[j]!, -alpha)));
    else phi = noGrad(() => phi.map((p, j) => new Tensor(sub(p, scale(g[j]!, alpha)).data, p.shape, true)));
  }
  if (mode === 'first-order') {
    // φ_k+1 = φ₁ + Δ with Δ = −α Σ gᵢ a constant: the identity Jacobian FOMAML wants, with one
    // recorded op per parameter, so memory does not grow with the number of inner steps.
    phi = phi.map((p, j) => add(start[j]!, noGrad(() => sub(p, start[j]!))));
  }
  return { params: phi, grads, losses: seen };
}

/** A meta-gradient and the outer loss it was taken from. */
export interface MetaGradient {
  grads: Tensor[];
  loss: number;
  /** The batch moments the task's forward passes saw, when they were recorded (`recordingMoments`). */
  moments?: MomentRecord[];
}

/**
 * The MAML meta-gradient ∂/∂φ L_outer(φ_k+1) where φ_k+1 comes from one inner SGD step per
 * inner loss. `firstOrder` gives FOMAML. With `tasks` = T, the losses are over a meta-batch
 * laid out along a leading task axis (see `tileParams`): each inner loss must sum the tasks'
 * own losses and the outer loss average them.
 *
 * `recompute` trades compute for memory in second-order MAML: instead of keeping every inner
 * step's graph (memory growing with k times the activations), the inner loop runs off the tape,
 * keeping only the k parameter vectors φᵢ, and the reverse sweep applies each step's Jacobian
 * I − α Lᵢ''(φᵢ) as a Hessian-vector product recomputed at φᵢ:
 *
 *   u ← ∂L_outer/∂φ_k+1;   for i = k … 1:  u ← u − α Lᵢ''(φᵢ) u;   g_MAML = u
 *
 * At most one step's graph is alive at a time; each step costs one more forward and backward
 * pass than on the tape. With `recompute: { every: s }` only every s-th φᵢ is kept, and the
 * reverse sweep recomputes each segment's from its checkpoint (one more inner gradient per step):
 * s = ⌈√k⌉ holds about 2√k parameter vectors instead of k. The result is the same meta-gradient
 * up to rounding, and bit for bit the same for every s.
 *
 * With `tasks` and `perTask`, each gradient keeps the task axis: row t is task t's part of the
 * sum (its own gradient times the outer loss's weight on it). Summing the rows over that axis
 * gives the summed result bit for bit, also when the rows come from parts of the meta-batch
 * computed apart (`Task.part`): this is how a stacked meta-batch is shared between threads.
 */
export function mamlGradient(
  params: readonly Tensor[],
  inner: readonly LossFn[],
  outer: LossFn,
  alpha: number,
  options: { firstOrder?: boolean; tasks?: number; recompute?: Recompute; perTask?: boolean } = {},
): MetaGradient {
  checkAlpha(alpha, 'mamlGradient');
  checkOptionsObject('mamlGradient', options, MAML_GRADIENT_OPTIONS, '{ tasks: 25 }');
  checkParams('mamlGradient', params);
  checkLosses('mamlGradient', inner);
  if (typeof outer !== 'function') throw new TypeError(`mamlGradient: the outer loss is ${describeValue(outer)}, not a function of the parameters`);
  const every = recomputeEvery('mamlGradient', options.recompute);
  const perTask = options.perTask === true;
  if (perTask && options.tasks === undefined) throw new RangeError('mamlGradient: perTask needs tasks (the number of stacked tasks)');
  if (every !== null && options.firstOrder !== true) return recomputedMamlGradient(params, inner, outer, alpha, options.tasks, every, perTask);
  const phi = params.map((p) => new Tensor(p.data, p.shape, true));
  const start = options.tasks === undefined ? phi : tileParams(phi, options.tasks);
  const adapted = innerLoop('mamlGradient', start, inner, alpha, options.firstOrder ? 'first-order' : 'second-order').params;
  const L = scalarLoss('mamlGradient', 'the outer loss', outer(adapted));
  // The tiled start's gradient is the rows; the leaf's, their sum over the task axis (the same kernel).
  return { grads: grad(L, perTask ? start : phi, { allowUnused: true }), loss: L.item() };
}

/**
 * How second-order MAML holds its inner loop (see {@link mamlGradient}): `false` keeps every
 * step's graph; `true` keeps one step's graph and all k parameter vectors; `{ every: s }` keeps
 * one step's graph, every s-th parameter vector and, during the reverse sweep, one segment of s.
 */
export type Recompute = boolean | { every: number };

/** The checkpoint interval `recompute` asks for (null: keep the graph); throws on a bad value, naming `op`. */
export function recomputeEvery(op: string, recompute: Recompute | undefined): number | null {
  if (recompute === undefined || recompute === false) return null;
  if (recompute === true) return 1;
  if (typeof recompute === 'object' && recompute !== null && Number.isInteger(recompute.every) && recompute.every >= 1) return recompute.every;
  throw new RangeError(`${op}: recompute must be true, false or { every: s } with s a positive integer (⌈√k⌉ keeps memory ∝ √k), got ${JSON.stringify(recompute)}`);
}

/** {@link mamlGradient} with `recompute`: the reverse sweep as Hessian-vector products at recomputed φᵢ. */
function recomputedMamlGradient(params: readonly Tensor[], inner: readonly LossFn[], outer: LossFn, alpha: number, tasks: number | undefined, every: number, perTask: boolean): MetaGradient {
  const op = 'mamlGradient';
  const first = tasks === undefined ? params.map((p) => new Tensor(p.data, p.shape, true)) : noGrad(() => tileParams(params, tasks)).map((p) => new Tensor(p.data, p.shape, true));
  // One inner step off the tape: φᵢ₊₁ from φᵢ.
  const step = (phi: Tensor[], i: number): Tensor[] => {
    const g = grad(scalarLoss(op, `inner loss ${i}`, inner[i]!(phi)), phi, { allowUnused: true });
    return noGrad(() => phi.map((p, j) => new Tensor(sub(p, scale(g[j]!, alpha)).data, p.shape, true)));
  };
  // Forward, keeping φ at the start of every segment of `every` steps.
  const k = inner.length;
  const checkpoints: Tensor[][] = [];
  let phi = first;
  for (let i = 0; i < k; i++) {
    if (i % every === 0) checkpoints.push(phi);
    phi = step(phi, i);
  }
  const Lout = scalarLoss(op, 'the outer loss', outer(phi));
  let u = grad(Lout, phi, { allowUnused: true });
  // Reverse, segment by segment from the last: recompute the segment's φᵢ from its checkpoint,
  // then u ← (I − α Lᵢ''(φᵢ)) u for its steps, one step's graph at a time.
  for (let c = checkpoints.length - 1; c >= 0; c--) {
    const start = c * every;
    const phis = [checkpoints.pop()!];
    for (let i = start; i < Math.min(start + every, k) - 1; i++) phis.push(step(phis[phis.length - 1]!, i));
    for (let i = start + phis.length - 1; i >= start; i--) {
      const at = phis[i - start]!;
      const g = grad(scalarLoss(op, `inner loss ${i}`, inner[i]!(at)), at, { createGraph: true, allowUnused: true });
      const dot = g.reduce<Tensor | null>((acc, gj, j) => {
        const term = sum(mul(gj, u[j]!));
        return acc === null ? term : add(acc, term);
      }, null);
      const hu = dot !== null && dot.requiresGrad ? grad(dot, at, { allowUnused: true }) : at.map((p) => noGrad(() => scale(p, 0)));
      const prev = u;
      u = noGrad(() => prev.map((uj, j) => sub(uj, scale(hu[j]!, alpha))));
    }
  }
  // The tiled parameters' gradient summed over the task axis is the untiled one's.
  const grads = tasks === undefined || perTask ? u : noGrad(() => u.map((t) => sum(t, 0)));
  return { grads, loss: Lout.item() };
}

/**
 * Runs the inner loop without recording and returns g₁ … g_k and φ_k+1. With `tasks` = T the
 * gradients and final parameters carry the leading task axis.
 */
export function innerGradients(params: readonly Tensor[], losses: readonly LossFn[], alpha: number, options: { tasks?: number } = {}): InnerResult {
  return innerGradientsAs('innerGradients', params, losses, alpha, options);
}

function innerGradientsAs(op: string, params: readonly Tensor[], losses: readonly LossFn[], alpha: number, options: { tasks?: number }): InnerResult {
  checkParams(op, params);
  checkOptionsObject(op, options, TASKS_OPTIONS, '{ tasks: 25 }');
  const start = options.tasks === undefined ? params.map((p) => new Tensor(p.data, p.shape, true)) : noGrad(() => tileParams(params, options.tasks!)).map((p) => new Tensor(p.data, p.shape, true));
  return innerLoop(op, start, losses, alpha, 'detached');
}

/** Averages over the leading task axis when `tasks` is set. */
function taskMean(ts: Tensor[], tasks: number | undefined): Tensor[] {
  return tasks === undefined ? ts : noGrad(() => ts.map((t) => mean(t, 0)));
}

/** The Reptile gradient (φ − φ̃)/α with φ̃ from k inner SGD steps (averaged over tasks). */
export function reptileGradient(params: readonly Tensor[], losses: readonly LossFn[], alpha: number, options: { tasks?: number } = {}): Tensor[] {
  return reptileFromInner(params, innerGradientsAs('reptileGradient', params, losses, alpha, options), alpha, options.tasks);
}

/** (φ − φ̃)/α from an inner loop's result (φ̃ averaged over the task axis when `tasks` is set). */
export function reptileFromInner(params: readonly Tensor[], inner: InnerResult, alpha: number, tasks?: number): Tensor[] {
  const final = taskMean(inner.params, tasks);
  return noGrad(() => params.map((p, j) => scale(sub(p, final[j]!), 1 / alpha)));
}

/**
 * The inner-gradient family (Reptile paper §6.2): the outer update direction Σᵢ cᵢ gᵢ for
 * given coefficients. [0,…,0,1] is FOMAML (the last gradient), [1,…,1] is Reptile (their sum),
 * [1/k,…,1/k] their mean, [1,0,…] joint training.
 */
export function combineInnerGradients(params: readonly Tensor[], losses: readonly LossFn[], alpha: number, coefficients: readonly number[], options: { tasks?: number } = {}): Tensor[] {
  if (!Array.isArray(coefficients) || !coefficients.every((c) => Number.isFinite(c))) throw new TypeError(`combineInnerGradients: coefficients must be a list of finite numbers, got ${String(coefficients)}`);
  if (losses.length === 0) throw new RangeError('combineInnerGradients: give at least one inner loss');
  if (coefficients.length !== losses.length) throw new RangeError(`combineInnerGradients: ${coefficients.length} coefficients for ${losses.length} inner losses`);
  const { grads } = innerGradientsAs('combineInnerGradients', params, losses, alpha, options);
  const combined = noGrad(() =>
    params.map((_, j) => {
      let acc: Tensor | null = null;
      coefficients.forEach((c, i) => {
        if (c === 0) return;
        const term = scale(grads[i]![j]!, c);
        acc = acc === null ? term : add(acc, term);
      });
      return acc ?? scale(grads[0]![j]!, 0);
    }),
  );
  return taskMean(combined, options.tasks);
}
