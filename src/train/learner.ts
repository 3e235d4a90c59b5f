/**
 * The training step around any meta-learning algorithm: it holds the meta-parameters and the
 * outer optimiser, recycles each step's temporaries (`tidy`), leaves everything as it was when a
 * step fails, spreads independent tasks over other threads, and saves and restores its whole
 * state for exact resume.
 */
import { checkModel, type Model } from '../nn/model.js';
import { restoringOnThrow, type Optimizer } from '../optim/optimizer.js';
import { Tensor } from '../tensor.js';
import type { TypedArray } from '../dtype.js';
import { tidy } from '../tidy.js';
import { describeValue, isRecord } from '../checks.js';
import { Rng } from '../random.js';
import { meanGradient, type MetaAlgorithm, type MetaContext, type WorkerAlgorithm } from '../meta/algorithm.js';
import { recyclable } from '../meta/adapt.js';
import { checkParams, type MetaGradient } from '../meta/inner.js';
import { isTask, type Task } from '../meta/task.js';
import { stackedData, type StackedData } from '../meta/losses.js';
import { concat } from '../ops/layout.js';
import { sum } from '../ops/reduce.js';

/** A meta-batch: a Task, a list of Tasks, or stacked regression data (`[T, n, d]` tensors). */
export type MetaBatch = Task | readonly Task[] | StackedData;

/**
 * Somewhere else to compute task meta-gradients (other threads: `TaskWorkers`). With `claim`, the
 * calling thread and the others take the tasks one at a time, each the next one nobody has
 * taken, so a slower thread takes fewer; without it (or when it returns null), `share(n)` says
 * how many of a meta-batch of `n` tasks to hand over and `compute` resolves to their
 * meta-gradients in the order given.
 */
export interface MetaGradientOffload {
  /** How many of a meta-batch of `metaBatch` tasks to hand over (the last ones). */
  share(metaBatch: number): number;
  /** Threads the offload computes on: a stacked meta-batch's share is handed over in this many parts. Default 1. */
  readonly size?: number;
  /** Called when this thread has done its share: a chance to take the others' results without waiting for the event loop. */
  settle?(): void;
  /** The meta-gradients of `tasks` at `params`, in order, computed elsewhere. */
  compute(params: readonly Tensor[], tasks: readonly Task[], settings: WorkerAlgorithm, context: MetaContext): Promise<MetaGradient[]>;
  /** Hands over the whole meta-batch for its tasks to be claimed one at a time, or null where that cannot be done. */
  claim?(params: readonly Tensor[], tasks: readonly Task[], settings: WorkerAlgorithm, context: MetaContext): ClaimedBatch | null;
}

/** A meta-batch whose tasks threads claim one at a time ({@link MetaGradientOffload.claim}). */
export interface ClaimedBatch {
  /** The index of the next task nobody has taken (the caller's from now on); ≥ the task count when none is left. */
  next(): number;
  /** The meta-gradients the other threads computed, by task index. */
  results: Promise<ReadonlyMap<number, MetaGradient>>;
}

/** A learner's whole state as tensors and string metadata (a safetensors file's contents). */
export interface LearnerState {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** Options of {@link MetaLearner}. */
export interface MetaLearnerOptions {
  /** The outer learning rate at each iteration (set on the optimiser before its step). */
  schedule?: (iteration: number) => number;
  /** Turns a meta-batch argument that is not a Task or a list of them into Tasks (or throws, naming the problem). Default: stacked regression data. */
  toTasks?: (batch: unknown) => Task[];
}

/** An Adam-like optimiser state: a step count and per-parameter moments. */
interface MomentState {
  t: number;
  m: TypedArray[];
  v: TypedArray[];
}

function isMomentState(s: unknown): s is MomentState {
  return isRecord(s) && typeof s.t === 'number' && Array.isArray(s.m) && Array.isArray(s.v);
}

/**
 * Meta-trains `params` of `model` with `algorithm` and an outer `optimizer`:
 *
 * ```ts
 * const learner = new mg.MetaLearner(model, model.init({ rng }), mg.maml({ innerLr: 0.4, innerSteps: 1, firstOrder: false, tail: 'separate' }), new mg.Adam());
 * learner.step(tasks); // one meta-iteration on a list of Tasks; returns the meta-loss
 * ```
 */
export class MetaLearner {
  /** The current meta-parameters φ (replaced, not mutated, by each step). */
  params: Tensor[];
  /** Meta-iterations taken (a refused step does not count). */
  iteration = 0;
  private readonly schedule: ((iteration: number) => number) | undefined;
  private readonly toTasks: ((batch: unknown) => Task[]) | undefined;

  /**
   * @param model the network, a function of (parameters, inputs)
   * @param params initial meta-parameters φ, e.g. `model.init({ rng })`
   * @param algorithm what direction to step along (`maml`, `reptile`, …)
   * @param optimizer the outer optimiser
   */
  constructor(
    readonly model: Model,
    params: Tensor[],
    readonly algorithm: MetaAlgorithm,
    readonly optimizer: Optimizer,
    options: MetaLearnerOptions = {},
  ) {
    checkModel(algorithm.name, model);
    checkParams(algorithm.name, params);
    this.params = params;
    this.schedule = options.schedule;
    this.toTasks = options.toTasks;
  }

  /** A meta-batch as a list of Tasks: one Task, a list of them, or what `toTasks` accepts. */
  protected taskList(batch: unknown): Task[] {
    if (isTask(batch)) return [batch];
    if (Array.isArray(batch) && batch.length > 0 && batch.every(isTask)) return batch;
    return this.toTasks !== undefined ? this.toTasks(batch) : [stackedData(this.algorithm.name, batch)];
  }

  /** The meta-gradient of a meta-batch at the current parameters (mean over tasks) and the loss, without stepping. */
  metaGradient(tasks: MetaBatch): MetaGradient {
    return this.gradientOf(this.taskList(tasks));
  }

  private gradientOf(list: readonly Task[]): MetaGradient {
    const a = this.algorithm;
    // Independent tasks: each task's temporaries go back to the pool once its gradient is taken.
    const context = { iteration: this.iteration };
    if (a.taskGradient !== undefined && list.length > 1) return meanGradient(list.map((t) => tidy(() => a.taskGradient!(this.model, this.params, t, context))));
    return a.metaGradient(this.model, this.params, list, context);
  }

  /** Checks a meta-gradient before the outer step (a hook for algorithms whose update checks nothing). */
  protected checkGradient(_grads: readonly Tensor[]): void {}

  /**
   * One meta-iteration; returns the meta-loss. A step that throws (a gradient that is NaN or
   * infinite, which the optimisers refuse) leaves the learner as it was, inner optimiser included.
   */
  step(tasks: MetaBatch): number {
    const list = this.taskList(tasks);
    const inner = this.algorithm.innerOptimizer;
    return restoringOnThrow(inner, () => {
      // The meta-gradient's temporaries go back to the pool; a user's own optimiser may keep
      // tensors it makes, so its calls stay outside tidy.
      const { grads, loss } = recyclable(inner) ? tidy(() => this.gradientOf(list)) : this.gradientOf(list);
      this.update(grads);
      return loss;
    });
  }

  private update(grads: readonly Tensor[]): void {
    this.checkGradient(grads);
    if (this.schedule !== undefined) this.optimizer.lr = this.schedule(this.iteration);
    this.params = this.optimizer.step(this.params, grads);
    this.iteration++;
  }

  /**
   * {@link step} with the tasks' meta-gradients shared between this thread and `offload`: each
   * thread takes the next task nobody has taken until none is left (or, when the offload cannot
   * share a counter, the last `offload.share(n)` tasks go there while this thread works through
   * the first ones). The gradients are summed in task order, so the new weights are
   * bit-identical to {@link step}. One stacked task (a sine batch) is cut in parts instead (see
   * `stepByParts`). Algorithms whose tasks are not independent (Reptile with its inner Adam), or
   * that workers cannot rebuild (no `workerSettings`), take {@link step}.
   */
  async stepAsync(tasks: MetaBatch, offload: MetaGradientOffload | undefined): Promise<number> {
    const a = this.algorithm;
    const list = this.taskList(tasks);
    const settings = a.workerSettings;
    if (offload === undefined || a.taskGradient === undefined || settings === undefined) return this.step(list);
    const n = list.length;
    const context = { iteration: this.iteration };
    const one = list[0]!;
    if (n === 1 && (one.stacked ?? 1) > 1 && one.part !== undefined && a.taskRows !== undefined && (settings.kind === undefined || settings.kind === 'maml')) {
      return this.stepByParts(one, offload, { ...settings, perTask: true }, context);
    }
    const here = (t: Task) => tidy(() => a.taskGradient!(this.model, this.params, t, context));
    let results: MetaGradient[];
    const claimed = offload.claim?.(this.params, list, settings, context) ?? null;
    if (claimed !== null) {
      // If this thread's tasks throw, the others' results must not be left to reject unheard.
      claimed.results.catch(() => undefined);
      const mine = new Map<number, MetaGradient>();
      for (let i = claimed.next(); i < n; i = claimed.next()) mine.set(i, here(list[i]!));
      offload.settle?.();
      const theirs = await claimed.results;
      results = list.map((_, i) => {
        const r = mine.get(i) ?? theirs.get(i);
        if (r === undefined) throw new Error(`${a.name}.stepAsync: no thread returned the meta-gradient of task ${i}`);
        return r;
      });
    } else {
      const away = offload.share(n);
      if (!Number.isInteger(away) || away < 0 || away > n) throw new RangeError(`${a.name}.stepAsync: offload.share(${n}) must be an integer in [0, ${n}], got ${away}`);
      const remote = away > 0 ? offload.compute(this.params, list.slice(n - away), settings, context) : Promise.resolve([]);
      remote.catch(() => undefined);
      const local = list.slice(0, n - away).map(here);
      results = [...local, ...(await remote)];
      if (results.length !== n) throw new Error(`${a.name}.stepAsync: offload returned ${results.length - local.length} meta-gradients for ${away} tasks`);
    }
    const { grads, loss } = tidy(() => meanGradient(results));
    this.update(grads);
    return loss;
  }

  /**
   * {@link stepAsync} on one stacked task: the offload takes the last `share(T)` of its tasks in
   * `size` parts, this thread the first ones, each part's gradients keep the task axis
   * (`taskRows`), and their sum over it in task order is {@link step}'s gradient bit for bit.
   */
  private async stepByParts(task: Task, offload: MetaGradientOffload, settings: WorkerAlgorithm, context: MetaContext): Promise<number> {
    const a = this.algorithm;
    const T = task.stacked!;
    const away = offload.share(T);
    if (!Number.isInteger(away) || away < 0 || away > T) throw new RangeError(`${a.name}.stepAsync: offload.share(${T}) must be an integer in [0, ${T}], got ${away}`);
    const mine = T - away;
    const cuts = Math.min(away, Math.max(1, offload.size ?? 1));
    const parts = Array.from({ length: cuts }, (_, i) => task.part!(mine + Math.floor((i * away) / cuts), mine + Math.floor(((i + 1) * away) / cuts)));
    const remote = cuts > 0 ? offload.compute(this.params, parts, settings, context) : Promise.resolve([]);
    remote.catch(() => undefined);
    const local = mine > 0 ? [tidy(() => a.taskRows!(this.model, this.params, task.part!(0, mine), context))] : [];
    offload.settle?.();
    const theirs = await remote;
    if (theirs.length !== cuts) throw new Error(`${a.name}.stepAsync: offload returned ${theirs.length} meta-gradients for ${cuts} parts of the meta-batch`);
    const rows = [...local, ...theirs];
    const grads = tidy(() => this.params.map((_, j) => sum(concat(rows.map((r) => r.grads[j]!), 0), 0)));
    this.update(grads);
    return rows.reduce((l, r) => l + r.loss, 0);
  }

  /** The optimisers whose state a checkpoint holds, by name: the outer one and the algorithm's inner one. */
  private stateful(): [string, Optimizer][] {
    const out: [string, Optimizer][] = [];
    for (const [name, opt] of [['outer', this.optimizer], ['inner', this.algorithm.innerOptimizer]] as const) {
      if (opt !== undefined && opt.getState() !== null) out.push([name, opt]);
    }
    return out;
  }

  /**
   * Everything needed to resume: tensors (`params.i`, and the optimisers' moments `outer.m.i`,
   * `outer.v.i`, `inner.m.i`, …) and one JSON metadata entry, `metagrad`, holding the iteration,
   * the optimisers' step counts and whatever `extra` the caller adds (a sampler state, a
   * configuration).
   */
  getState(extra: Record<string, unknown> = {}): LearnerState {
    const tensors: Record<string, Tensor> = {};
    this.params.forEach((p, i) => (tensors[`params.${i}`] = p));
    const meta: Record<string, unknown> = { iteration: this.iteration, ...extra };
    for (const [name, opt] of this.stateful()) {
      const s = opt.getState();
      if (!isMomentState(s)) throw new TypeError(`${this.algorithm.name}.getState: the ${name} optimiser's state is not { t, m, v } as Adam's is, so it cannot be saved as tensors`);
      meta[`${name}.t`] = s.t;
      s.m.forEach((m, i) => (tensors[`${name}.m.${i}`] = new Tensor(m, this.params[i]!.shape)));
      s.v.forEach((v, i) => (tensors[`${name}.v.${i}`] = new Tensor(v, this.params[i]!.shape)));
    }
    return { tensors, metadata: { metagrad: JSON.stringify(meta) } };
  }

  /**
   * Restores a state from {@link getState}. `check(meta, fail)` may refuse the metadata (a
   * different configuration, say) before anything changes; `fail` throws with `owner` named.
   * Everything is checked before anything changes: a state that is refused leaves the learner
   * as it was. Returns the parsed metadata, for the caller's own entries.
   */
  setState(state: LearnerState, owner: string, check?: (meta: Record<string, unknown>, fail: (msg: string) => never) => void): Record<string, unknown> {
    const fail = (msg: string): never => {
      throw new Error(`${owner}.setState: ${msg}`);
    };
    if (!isRecord(state) || !isRecord(state.metadata) || !isRecord(state.tensors)) {
      throw new TypeError(`${owner}.setState: expected { tensors, metadata } as from getState() or loadSafetensors, got ${describeValue(state)}`);
    }
    const raw = state.metadata.metagrad;
    if (raw === undefined) return fail('not a metagrad checkpoint (no metagrad metadata)');
    let meta: unknown;
    try {
      meta = JSON.parse(raw);
    } catch {
      return fail("the 'metagrad' metadata is not valid JSON");
    }
    if (!isRecord(meta)) return fail("the 'metagrad' metadata is not a JSON object");
    check?.(meta, fail);
    const count = (key: string): number => {
      const v = meta[key];
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fail(`'${key}' is ${JSON.stringify(v)}, not a count`);
    };
    const iteration = count('iteration');
    // Same shape, not just the same size: a transposed weight of the same size would load
    // silently wrong. Every value finite, and second moments not negative: a damaged file.
    const take = (name: string, like: Tensor, nonNegative = false): Tensor => {
      const t = state.tensors[name];
      if (t === undefined) return fail(`checkpoint lacks tensor '${name}'`);
      if (!(t instanceof Tensor)) return fail(`'${name}' is ${describeValue(t)}, not a Tensor`);
      if (t.dtype !== like.dtype || t.shape.length !== like.shape.length || t.shape.some((d, i) => d !== like.shape[i])) {
        fail(`tensor '${name}' is ${t.dtype} [${t.shape.join(', ')}], where the model has ${like.dtype} [${like.shape.join(', ')}]`);
      }
      const bad = t.data.findIndex((x) => !Number.isFinite(x) || (nonNegative && x < 0));
      if (bad >= 0) fail(`tensor '${name}' holds ${t.data[bad]} at flat index ${bad}${nonNegative ? ' (second moments are finite and ≥ 0)' : ' (not finite)'}: the file is damaged`);
      return t;
    };
    const params = this.params.map((p, i) => new Tensor(take(`params.${i}`, p).data, p.shape));
    const moments: [Optimizer, MomentState][] = [];
    for (const [name, opt] of this.stateful()) {
      const t = count(`${name}.t`);
      // Before its first step an optimiser has no moments yet (a checkpoint written at iteration 0).
      if (t === 0 && !Object.keys(state.tensors).some((k) => k.startsWith(`${name}.`))) {
        moments.push([opt, { t, m: [], v: [] }]);
        continue;
      }
      const m = params.map((p, i) => take(`${name}.m.${i}`, p).data);
      const v = params.map((p, i) => take(`${name}.v.${i}`, p, true).data);
      moments.push([opt, { t, m, v }]);
    }
    this.params = params;
    for (const [opt, s] of moments) opt.setState(s);
    this.iteration = iteration;
    return meta;
  }
}

/**
 * A {@link MetaLearner.setState} check for trainers that save `{ rng, config }` beside the
 * learner's state: the checkpoint's configuration must be `current` field for field, and its
 * sampler state one a generator accepts.
 */
export function sameRun(current: object): (meta: Record<string, unknown>, fail: (msg: string) => never) => void {
  return (m, fail) => {
    if (!isRecord(m.config)) return fail("the 'metagrad' metadata holds no configuration");
    const saved = m.config;
    const here = current as Record<string, unknown>;
    const differ = [...new Set([...Object.keys(saved), ...Object.keys(here)])].filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(here[k]));
    if (differ.length > 0) {
      fail(`the checkpoint was made with a different configuration (${differ.map((k) => `${k}: ${JSON.stringify(saved[k])} there, ${JSON.stringify(here[k])} here`).join('; ')})`);
    }
    try {
      new Rng(0).setState(m.rng as number[]); // checked on a scratch generator, so a refusal changes nothing
    } catch (e) {
      fail(`the sampler state is damaged (${(e as Error).message})`);
    }
  };
}
