/**
 * LEO, latent embedding optimisation (Rusu et al. 2019), over classification Tasks on fixed
 * features (embeddings). A task's classifier is a weight matrix W `[N, E]` (logits x·Wᵀ) that a
 * decoder generates from per-class latent codes z `[N, L]`, L ≪ N·E; the inner loop runs in z:
 *
 *   codes  = encoder(x_s)                        relation net over all pairs of support codes
 *   μ, σ   = the codes' mean over each class      z ~ N(μ, σ²)            (reparameterised)
 *   repeat k times:  W ~ decoder(z);  z ← z − α ⊙ ∇_z L_support(W)
 *   W ~ decoder(z_k), then repeat f times:  W ← W − η ⊙ ∇_W L_support(W)   (fine-tuning)
 *   loss = L_query(W) + β KL(N(μ, σ²) ‖ N(0, I)) + γ ‖z₀ − stop(z_k)‖²
 *          + λ₁ Σ ‖weights‖²/2 + λ₂ ‖corr(decoder) − I‖²
 *
 * and the outer optimiser steps the encoder, relation net, decoder, α and η along the mean
 * over tasks of ∂loss/∂·, second order through both loops. As in the authors' code: the KL is
 * the single-sample estimate mean(log q(z) − log p(z)); standard deviations are
 * max(exp(u) − 1 + offset, 1e-10) of the unnormalised half u of a code (offset √(2/(N + E)) for
 * the weights, Glorot's scale); the encoder penalty and orthogonality term are means of squares;
 * the meta-gradient is clipped elementwise, then by its global norm, and where it is not finite
 * (a latent loop that diverged) it is replaced by that of a weight decay alone. Each decode draws new
 * weights; adapting to a new task uses the means throughout (no noise, no dropout).
 *
 * Simplifications: one weight draw per class per decode (the authors draw one per support
 * example and average the logits), and one dropout mask per task and meta-iteration.
 */
import { enableGrad, grad, noGrad } from '../autograd.js';
import { full, randn, rand } from '../creation.js';
import type { DType } from '../dtype.js';
import type { Model } from '../nn/model.js';
import { glorotUniform } from '../nn/init.js';
import { add, div, mul, sub } from '../ops/binary.js';
import { broadcastTo, concat, reshape, slice } from '../ops/layout.js';
import { matmul } from '../ops/matmul.js';
import { mean, sum } from '../ops/reduce.js';
import { greater, where } from '../ops/select.js';
import { exp, log, relu, scale, sqrt, square } from '../ops/unary.js';
import { iterationRng, Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { checkInteger, checkNonNegative, checkOptionsObject, checkPositive, describeValue, type OptionKeys } from '../checks.js';
import { fmt } from '../shape.js';
import { meanGradient, type MetaAlgorithm, type MetaContext } from './algorithm.js';
import type { MetaGradient } from './inner.js';
import { supervisedTask, SupervisedTask, type Task } from './task.js';

/** The settings of {@link leo}; defaults are the authors' published flags. */
export interface LeoSettings {
  /** Classes per task, N. */
  ways: number;
  /** The embedding size, E. */
  features: number;
  /** The latent size per class, L. Default 64. */
  latent?: number;
  /** Inner steps in latent space, k. Default 5. */
  innerSteps?: number;
  /** Fine-tuning steps on the decoded weights, f. Default 5 (0: none, an ablation). */
  finetuneSteps?: number;
  /** Initial latent step size α (learned, one per latent unit). Default 1. */
  innerLr?: number;
  /** Initial fine-tuning step size η (learned, one per feature). Default 0.001. */
  finetuneLr?: number;
  /** β, the weight of the KL term. Default 0.001. */
  klWeight?: number;
  /** γ, the weight of the encoder penalty. Default 1e-9. */
  encoderPenalty?: number;
  /** λ₁, weight decay of the encoder, relation net and decoder. Default 1e-8. */
  weightDecay?: number;
  /** λ₂, the weight of the decoder's orthogonality term. Default 0.001. */
  orthogonality?: number;
  /** Dropout rate on the features during meta-training. Default 0. */
  dropout?: number;
  /** Use the relation net (true), or the encoder's codes directly (false, an ablation). Default true. */
  relationNet?: boolean;
  /** Where the inner loop runs: 'latent' (LEO), or 'weights' (an ablation: k + f steps on W with η, none on z). Default 'latent'. */
  space?: 'latent' | 'weights';
  /** Elementwise clip of the meta-gradient. Default 0.1; Infinity: none. */
  clipValue?: number;
  /** Global-norm clip of the meta-gradient, after the elementwise one. Default 0.1; Infinity: none. */
  clipNorm?: number;
  /** Seed of the training noise (meta-iteration i draws from a generator seeded with (seed, i)). Default 0. */
  seed?: number;
}

const LEO_SETTINGS: OptionKeys<LeoSettings> = {
  ways: true, features: true, latent: true, innerSteps: true, finetuneSteps: true, innerLr: true, finetuneLr: true, klWeight: true,
  encoderPenalty: true, weightDecay: true, orthogonality: true, dropout: true, relationNet: 'flag', space: true, clipValue: true, clipNorm: true, seed: true,
};

/** LEO's meta-parameters, named (views into the learner's parameter list). */
export interface LeoParams {
  /** `[E, L]` (`[E, 2L]` without the relation net). */
  encoder: Tensor;
  /** The relation net's three `[2L, 2L]` layers (none without it). */
  relation: Tensor[];
  /** `[L, 2E]`: a code's weight means and unnormalised standard deviations. */
  decoder: Tensor;
  /** α `[1, L]`. */
  innerLr: Tensor;
  /** η `[1, E]`. */
  finetuneLr: Tensor;
}

/** The random draws of one task's training objective (tests give their own). */
export interface LeoNoise {
  /** ε of the latent draw, `[N, L]`. */
  latent: Tensor;
  /** ε of each decode, `[N, E]`: k + 1 of them (1 with `space: 'weights'`). */
  weights: Tensor[];
  /** Dropout masks (already scaled by 1/(1 − rate)) of the support and query features. */
  dropout?: { support: Tensor; query: Tensor };
}

/** What {@link LeoAlgorithm.objective} computes for one task. */
export interface LeoObjective {
  loss: Tensor;
  weights: Tensor;
  latents: { initial: Tensor; adapted: Tensor };
}

/** The LEO algorithm: a {@link MetaAlgorithm} that also adapts to a new task. */
export interface LeoAlgorithm extends MetaAlgorithm {
  readonly settings: Readonly<Required<Omit<LeoSettings, 'seed'>>> & { seed: number };
  /** The classifier the decoder generates weights for: logits `x · Wᵀ` (parameters `[W]`). */
  readonly classifier: Model;
  /** Fresh meta-parameters: Glorot-uniform weights (no biases), α and η at their initial values. */
  init(options?: { rng?: Rng; dtype?: DType }): Tensor[];
  /** The parameter list, named. */
  split(params: readonly Tensor[]): LeoParams;
  /**
   * One task's objective, its adapted weights and its latent codes before and after the inner
   * loop (z₀, z_k; both z₀ with `space: 'weights'`), on the tape; `noise: null` evaluates (means,
   * no dropout, no penalties).
   */
  objective(model: Model, params: readonly Tensor[], task: Task, noise: LeoNoise | null): LeoObjective;
  /** The classifier weights `[N, E]` adapted to `task` (deterministic), off the tape. */
  adapt(model: Model, params: readonly Tensor[], task: Task): Tensor;
  /** Draws one task's training noise. */
  noise(task: Task, rng: Rng, dtype?: DType): LeoNoise;
}

/** logits = x · Wᵀ for W `[N, E]`: the linear classifier LEO decodes. */
export const linearClassifier: Model = {
  init() {
    throw new RangeError('linearClassifier: its weights are generated per task (LEO\'s decoder), not initialised');
  },
  forward(params, x) {
    if (params.length !== 1) throw new RangeError(`linearClassifier: expected one weight matrix [N, E], got ${params.length} tensors`);
    return matmul(x, params[0]!, false, true);
  },
};

/**
 * λ‖C − I‖² averaged over entries, C the rows' cosine-similarity matrix of `w` (LEO's
 * orthogonality regulariser of the decoder, without λ).
 */
export function orthogonalityPenalty(w: Tensor): Tensor {
  if (w.ndim !== 2) throw new RangeError(`orthogonalityPenalty: expected a matrix, got shape ${fmt(w.shape)}`);
  const norms = sqrt(sum(square(w), 1, true)); // [r, 1]
  const corr = div(matmul(w, w, false, true), matmul(norms, norms, false, true));
  const r = w.shape[0]!;
  const eye = noGrad(() => {
    const t = full([r, r], 0, { dtype: w.dtype });
    for (let i = 0; i < r; i++) t.data[i * r + i] = 1;
    return t;
  });
  return mean(square(sub(corr, eye)));
}

/** Whether a meta-gradient's loss and every element are finite. */
function finite(g: MetaGradient): boolean {
  return Number.isFinite(g.loss) && g.grads.every((t) => t.data.every((v) => v - v === 0));
}

/** max(exp(u) − 1 + offset, 1e-10): the authors' standard deviation from an unnormalised one. */
function stddev(u: Tensor, offset: number): Tensor {
  const s = sub(exp(u), 1 - offset);
  return where(greater(s, 1e-10), s, 1e-10);
}

/** The N × n averaging matrix of a support set's labels (row c: 1/K_c at class c's examples). */
function classMeans(labels: ArrayLike<number>, ways: number, dtype: DType, owner: string): Tensor {
  const n = labels.length;
  const counts = new Array<number>(ways).fill(0);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= ways) throw new RangeError(`${owner}: support label ${String(c)} at ${i} is not a class of a ${ways}-way task (0 … ${ways - 1})`);
    counts[c]!++;
  }
  const empty = counts.findIndex((k) => k === 0);
  if (empty >= 0) throw new RangeError(`${owner}: class ${empty} has no support example (every one of the ${ways} classes needs one to be encoded)`);
  const a = full([ways, n], 0, { dtype });
  for (let i = 0; i < n; i++) a.data[labels[i]! * n + i] = 1 / counts[labels[i]!]!;
  return a;
}

/**
 * LEO for N-way tasks on E-dimensional features: `new MetaLearner(algorithm.classifier,
 * algorithm.init({ rng }), algorithm, new Adam({ lr }))`. Tasks are `supervisedTask`s with
 * cross-entropy on `[n, E]` features, one per task.
 */
export function leo(settings: LeoSettings, owner = 'LEO'): LeoAlgorithm {
  checkOptionsObject(owner, settings, LEO_SETTINGS, '{ ways: 5, features: 64 }');
  const s = Object.freeze({
    latent: 64, innerSteps: 5, finetuneSteps: 5, innerLr: 1, finetuneLr: 0.001, klWeight: 1e-3, encoderPenalty: 1e-9, weightDecay: 1e-8,
    orthogonality: 1e-3, dropout: 0, relationNet: true, space: 'latent' as const, clipValue: 0.1, clipNorm: 0.1, seed: 0, ...settings,
  });
  for (const k of ['ways', 'features', 'latent', 'innerSteps'] as const) checkInteger(`${owner}: ${k}`, s[k]);
  checkInteger(`${owner}: finetuneSteps`, s.finetuneSteps, 0);
  for (const k of ['innerLr', 'finetuneLr'] as const) checkPositive(`${owner}: ${k}`, s[k]);
  for (const k of ['clipValue', 'clipNorm'] as const) if (!(typeof s[k] === 'number' && s[k] > 0)) throw new RangeError(`${owner}: ${k} must be a positive number or Infinity, got ${String(s[k])}`);
  for (const k of ['klWeight', 'encoderPenalty', 'weightDecay', 'orthogonality'] as const) checkNonNegative(`${owner}: ${k}`, s[k]);
  if (!(s.dropout >= 0 && s.dropout < 1)) throw new RangeError(`${owner}: dropout must be in [0, 1), got ${String(s.dropout)}`);
  if (s.space !== 'latent' && s.space !== 'weights') throw new RangeError(`${owner}: space must be 'latent' or 'weights', got '${String(s.space)}'`);
  if (!Number.isSafeInteger(s.seed)) throw new RangeError(`${owner}: seed must be a safe integer, got ${String(s.seed)}`);
  const { ways: N, features: E, latent: L } = s;
  const count = s.relationNet ? 7 : 4;
  const weightOffset = Math.sqrt(2 / (N + E));

  const split = (params: readonly Tensor[]): LeoParams => {
    if (!Array.isArray(params) || params.length !== count) {
      throw new RangeError(`${owner}: expected ${count} tensors (encoder, ${s.relationNet ? 'three relation layers, ' : ''}decoder, α, η), got ${Array.isArray(params) ? params.length : describeValue(params)}`);
    }
    const r = s.relationNet ? 3 : 0;
    const named = { encoder: params[0]!, relation: params.slice(1, 1 + r), decoder: params[1 + r]!, innerLr: params[2 + r]!, finetuneLr: params[3 + r]! };
    const expect: [string, Tensor, number[]][] = [
      ['encoder', named.encoder, [E, s.relationNet ? L : 2 * L]],
      ...named.relation.map((t, i): [string, Tensor, number[]] => [`relation layer ${i}`, t, [2 * L, 2 * L]]),
      ['decoder', named.decoder, [L, 2 * E]],
      ['α', named.innerLr, [1, L]],
      ['η', named.finetuneLr, [1, E]],
    ];
    for (const [name, t, shape] of expect) {
      if (!(t instanceof Tensor) || fmt(t.shape) !== fmt(shape)) throw new RangeError(`${owner}: the ${name} must be ${fmt(shape)}, got ${t instanceof Tensor ? fmt(t.shape) : describeValue(t)}`);
    }
    return named;
  };

  const episode = (task: Task): SupervisedTask => {
    // (A cross-entropy supervisedTask is never stacked and has integer labels.)
    if (!(task instanceof SupervisedTask) || task.loss !== 'cross-entropy') throw new TypeError(`${owner}: tasks must be supervisedTask(…, { loss: 'cross-entropy' }) on features, got ${describeValue(task)}`);
    if (task.xSupport.ndim !== 2 || task.xSupport.shape[1] !== E) throw new RangeError(`${owner}: support features must be [n, ${E}], got ${fmt(task.xSupport.shape)}`);
    return task;
  };

  /** The per-class latent distribution's mean and unnormalised deviation, `[N, L]` each. */
  const encode = (p: LeoParams, x: Tensor, labels: ArrayLike<number>): [Tensor, Tensor] => {
    let codes = matmul(x, p.encoder);
    if (s.relationNet) {
      const n = codes.shape[0]!;
      const left = broadcastTo(reshape(codes, [n, 1, L]), [n, n, L]);
      const right = broadcastTo(reshape(codes, [1, n, L]), [n, n, L]);
      let h = reshape(concat([left, right], 2), [n * n, 2 * L]);
      h = matmul(relu(matmul(relu(matmul(h, p.relation[0]!)), p.relation[1]!)), p.relation[2]!);
      codes = mean(reshape(h, [n, n, 2 * L]), 1);
    }
    const perClass = matmul(noGrad(() => classMeans(labels, N, x.dtype, owner)), codes);
    return [slice(perClass, 1, 0, L), slice(perClass, 1, L, 2 * L)];
  };

  /** Classifier weights from codes z: the means, or a draw with noise ε. */
  const decode = (p: LeoParams, z: Tensor, eps: Tensor | null): Tensor => {
    const out = matmul(z, p.decoder);
    const mu = slice(out, 1, 0, E);
    return eps === null ? mu : add(mu, mul(stddev(slice(out, 1, E, 2 * E), weightOffset), eps));
  };

  const objective = (model: Model, params: readonly Tensor[], task: Task, noise: LeoNoise | null): LeoObjective => {
    split(params);
    // The inner loops differentiate through the parameters, also when only the value is wanted.
    return enableGrad(() => objectiveOnTape(model, split(params.map((x) => (x.requiresGrad ? x : new Tensor(x.data, x.shape, true)))), task, noise));
  };

  const objectiveOnTape = (model: Model, p: LeoParams, task: Task, noise: LeoNoise | null): LeoObjective => {
    let t = episode(task);
    if (noise !== null && noise.dropout !== undefined) {
      t = supervisedTask({ xSupport: mul(t.xSupport, noise.dropout.support), ySupport: t.ySupport, xQuery: mul(t.xQuery, noise.dropout.query), yQuery: t.yQuery }, { loss: 'cross-entropy', metric: t.metric, transductive: t.transductive, ...(t.innerBatch === undefined ? {} : { innerBatch: t.innerBatch }), ...(t.order === undefined ? {} : { order: t.order }), ...(t.batches === undefined ? {} : { batches: t.batches }) });
    }
    const [mu, u] = encode(p, t.xSupport, t.ySupport as ArrayLike<number>);
    let z = mu;
    let kl: Tensor | null = null;
    if (noise !== null) {
      const sigma = stddev(u, 0);
      z = add(mu, mul(sigma, noise.latent));
      // log N(z; μ, σ²) − log N(z; 0, 1) with (z − μ)/σ = ε
      kl = mean(sub(scale(square(z), 0.5), add(log(sigma), scale(square(noise.latent), 0.5))));
    }
    const draw = (i: number): Tensor | null => (noise === null ? null : noise.weights[i]!);
    let w: Tensor;
    let penalty: Tensor | null = null;
    let steps = s.finetuneSteps;
    const z0 = z;
    if (s.space === 'latent') {
      for (let k = 0; k < s.innerSteps; k++) {
        const g = grad(t.supportLoss(model, [decode(p, z, draw(k))], k), [z], { createGraph: true })[0]!;
        z = sub(z, mul(p.innerLr, g));
      }
      if (noise !== null) penalty = mean(square(sub(z0, z.detach())));
      w = decode(p, z, draw(s.innerSteps));
    } else {
      w = decode(p, z, draw(0));
      steps += s.innerSteps;
    }
    for (let k = 0; k < steps; k++) {
      const g = grad(t.supportLoss(model, [w], k), [w], { createGraph: true })[0]!;
      w = sub(w, mul(p.finetuneLr, g));
    }
    let loss = t.queryLoss(model, [w], 'query', steps);
    if (noise !== null) {
      loss = add(loss, scale(kl!, s.klWeight));
      if (penalty !== null) loss = add(loss, scale(penalty, s.encoderPenalty));
      let l2 = sum(square(p.encoder));
      for (const r of [...p.relation, p.decoder]) l2 = add(l2, sum(square(r)));
      loss = add(add(loss, scale(l2, s.weightDecay / 2)), scale(orthogonalityPenalty(p.decoder), s.orthogonality));
    }
    return { loss, weights: w, latents: { initial: z0, adapted: z } };
  };

  const noise = (task: Task, rng: Rng, dtype: DType = 'float32'): LeoNoise => {
    const t = episode(task);
    const draws = s.space === 'latent' ? s.innerSteps + 1 : 1;
    const result: LeoNoise = { latent: randn([N, L], { rng, dtype }), weights: Array.from({ length: draws }, () => randn([N, E], { rng, dtype })) };
    if (s.dropout > 0) {
      const mask = (shape: readonly number[]): Tensor => {
        const m = rand(shape, { rng, dtype });
        for (let i = 0; i < m.size; i++) m.data[i] = m.data[i]! < s.dropout ? 0 : 1 / (1 - s.dropout);
        return m;
      };
      result.dropout = { support: mask(t.xSupport.shape), query: mask(t.xQuery.shape) };
    }
    return result;
  };

  const clip = (g: MetaGradient): MetaGradient =>
    noGrad(() => {
      const clipped = g.grads.map((x) => where(greater(x, s.clipValue), s.clipValue, where(greater(-s.clipValue, x), -s.clipValue, x)));
      let sq = 0;
      for (const x of clipped) for (let i = 0; i < x.size; i++) sq += x.data[i]! * x.data[i]!;
      const norm = Math.sqrt(sq);
      return { grads: norm > s.clipNorm ? clipped.map((x) => scale(x, s.clipNorm / norm)) : clipped, loss: g.loss };
    });

  /**
   * Where a meta-batch's loss or gradient is not finite (a latent loop that diverged), the
   * authors' code steps along the gradient of 1e-4·Σ‖weights‖²/2 alone, pulling the weights back
   * towards a region where the loops converge; so does this.
   */
  const pullBack = (params: readonly Tensor[], loss: number): MetaGradient =>
    noGrad(() => ({ grads: params.map((x, i) => scale(x, i < count - 2 ? 1e-4 : 0)), loss }));

  const taskGradient = (model: Model, params: readonly Tensor[], task: Task, rng: Rng): MetaGradient => {
    const leaves = params.map((x) => new Tensor(x.data, x.shape, true));
    const { loss } = objective(model, leaves, task, noise(task, rng, params[0]!.dtype));
    return { grads: grad(loss, leaves, { allowUnused: true }), loss: loss.item() };
  };

  return {
    name: owner,
    settings: s,
    classifier: linearClassifier,
    split,
    objective,
    noise,
    init(options = {}) {
      const o = { rng: options.rng, dtype: options.dtype };
      const twoL = 2 * L;
      const weights = [glorotUniform([E, s.relationNet ? L : twoL], E, s.relationNet ? L : twoL, o)];
      if (s.relationNet) for (let i = 0; i < 3; i++) weights.push(glorotUniform([twoL, twoL], twoL, twoL, o));
      weights.push(glorotUniform([L, 2 * E], L, 2 * E, o));
      return [...weights, full([1, L], s.innerLr, { dtype: options.dtype }), full([1, E], s.finetuneLr, { dtype: options.dtype })];
    },
    metaGradient(model, params, tasks, context?: MetaContext) {
      const rng = iterationRng(s.seed, context?.iteration ?? 0);
      const g = meanGradient(tasks.map((t) => tidy(() => taskGradient(model, params, t, rng))));
      return clip(finite(g) ? g : pullBack(params, g.loss));
    },
    adapt(model, params, task) {
      return tidy(() => objective(model, params, task, null).weights.detach());
    },
  };
}
