/**
 * A Task: what a meta-learner needs of a task to adapt to it and to judge the adaptation, for
 * any model and any loss. Every algorithm and the training loop take Tasks; sine batches,
 * Omniglot episodes and a user's own arrays are all Tasks (`supervisedTask`), and anything else
 * (a policy-gradient surrogate, say) implements the interface directly.
 */
import { noGrad } from '../autograd.js';
import { checkModel, forwardStacked, type Model } from '../nn/model.js';
import { sub } from '../ops/binary.js';
import { crossEntropy, mse } from '../ops/loss.js';
import { concat, slice } from '../ops/layout.js';
import { mean, sum } from '../ops/reduce.js';
import type { IndexLike } from '../ops/select.js';
import { scale, square } from '../ops/unary.js';
import { allocData, Tensor } from '../tensor.js';
import { checkInteger, checkOptionsObject, describeValue, isRecord, type OptionKeys } from '../checks.js';
import { fmt } from '../shape.js';

/**
 * One task, or T tasks whose data are stacked along a leading axis (`stacked: T`; the
 * parameters are then tiled to `[T, …]`, see {@link Model}).
 */
export interface Task {
  /** T when the data of T tasks are stacked along a leading axis; undefined for one task. */
  readonly stacked?: number;
  /**
   * The loss adaptation descends at inner step `step` (0, 1, …): the support set's, or its
   * mini-batch `step`. Summed over stacked tasks, so each task's slice of the gradient is that
   * task's own gradient.
   */
  supportLoss(model: Model, params: readonly Tensor[], step: number): Tensor;
  /**
   * The loss that judges adapted parameters, averaged over stacked tasks: on the query set, or
   * with `on: 'support'` on the support set the adaptation used (the Reptile paper's shared tail).
   * `step` says how many inner steps the parameters have taken (for models with per-step parts).
   */
  queryLoss(model: Model, params: readonly Tensor[], on?: 'query' | 'support', step?: number): Tensor;
  /** Evaluation figures of adapted parameters (after `step` inner steps), one per task: query loss, accuracy, … */
  score(model: Model, params: readonly Tensor[], step?: number): number[];
  /** The stacked tasks as separate Tasks, for algorithms that adapt to tasks one after another. */
  split?(): Task[];
  /**
   * Stacked tasks `start` … `end − 1` as a stacked Task whose `queryLoss` still averages over all
   * of this task's T (so its per-task gradients are the whole's, bit for bit): how a stacked
   * meta-batch is shared between threads.
   */
  part?(start: number, end: number): Task;
}

/** Whether `x` has the {@link Task} methods. */
export function isTask(x: unknown): x is Task {
  const t = x as Partial<Task> | null;
  return typeof t === 'object' && t !== null && typeof t.supportLoss === 'function' && typeof t.queryLoss === 'function' && typeof t.score === 'function';
}

/** The number of tasks `task` holds: its `stacked` count, or 1. */
export function taskCount(task: Task): number {
  return task.stacked ?? 1;
}

/** A task's targets: a tensor (regression), or integer class labels. */
export type Targets = Tensor | Int32Array | number[];

/**
 * A loss of predictions against targets: `'mse'`, `'cross-entropy'` (logits `[n, classes]`,
 * integer labels), or a function. For stacked tasks a function returns one loss per task (`[T]`).
 */
export type PredictionLoss = 'mse' | 'cross-entropy' | ((prediction: Tensor, targets: Targets) => Tensor);

/** The data of a supervised task: inputs and targets of its support and query sets. */
export interface SupervisedData {
  xSupport: Tensor;
  ySupport: Targets;
  xQuery: Tensor;
  yQuery: Targets;
}

/** Options of {@link supervisedTask}. */
export interface SupervisedOptions {
  /** The loss of predictions against targets. Default 'mse'. */
  loss?: PredictionLoss;
  /** The data hold T tasks stacked along a leading axis (`[T, n, …]`). Default false. */
  stacked?: boolean;
  /**
   * Adapt on mini-batches of this many support rows, cycling through `order` (step k takes rows
   * `order[k·b mod n]`, …). Default: the whole support set at every step.
   */
  innerBatch?: number;
  /** The support rows' order for `innerBatch` (a shuffle, drawn by the caller). Default 0 … n−1. */
  order?: readonly number[];
  /**
   * Instead of `innerBatch`: the support rows of each inner step's mini-batch, step k taking
   * `batches[k mod count]` (mini-batches drawn with replacement, or a last one from rows kept
   * apart: the Reptile paper's §6.3 schemes).
   */
  batches?: readonly (readonly number[])[];
  /** What `score` reports: the query loss, or the accuracy of the arg-max. Default: 'accuracy' with cross-entropy, 'loss' otherwise. */
  metric?: 'loss' | 'accuracy';
  /**
   * Accuracy only: classify all queries in one batch (true, the default), or each query alone
   * beside the support set (false; it matters for models whose batch norm uses batch statistics).
   */
  transductive?: boolean;
  /**
   * Stacked only: how many tasks `queryLoss` averages over. Default: the stacked count; a part
   * of a larger meta-batch (`part`) averages over the whole one's.
   */
  meanOver?: number;
}

const SUPERVISED_OPTIONS: OptionKeys<SupervisedOptions> = { loss: true, stacked: 'flag', innerBatch: true, order: true, batches: true, metric: true, transductive: 'flag', meanOver: true };

/** Rows `rows` of `x` along axis 0 (data plumbing, not differentiated). */
export function selectRows(x: Tensor, rows: readonly number[]): Tensor {
  const per = x.size / x.shape[0]!;
  const out = allocData(x.dtype, rows.length * per);
  rows.forEach((r, i) => out.set(x.data.subarray(r * per, (r + 1) * per), i * per));
  return new Tensor(out, [rows.length, ...x.shape.slice(1)]);
}

/** Row indices of mini-batch `step` of size `size`, cycling through `order`. */
export function cyclingBatch(order: readonly number[], step: number, size: number): number[] {
  return Array.from({ length: size }, (_, j) => order[(step * size + j) % order.length]!);
}

/** Mean squared error of each task: `[T]` from predictions and targets `[T, n, d]`. */
export function perTaskMse(pred: Tensor, target: Tensor): Tensor {
  return mean(square(sub(pred, target)), [1, 2]);
}

function rowsOf(y: Targets): number {
  return y instanceof Tensor ? (y.shape[0] ?? 1) : y.length;
}

function targetRows(y: Targets, rows: readonly number[]): Targets {
  return y instanceof Tensor ? selectRows(y, rows) : rows.map((r) => y[r]!);
}

/** The row with the largest entry in each row of `logits` `[n, k]`. */
function argmaxRows(logits: Tensor): number[] {
  const [n, k] = logits.shape as [number, number];
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits.data[i * k + j]! > logits.data[i * k + best]!) best = j;
    return best;
  });
}

/**
 * A {@link Task} from arrays: support and query inputs and targets, a loss, and how to adapt
 * (whole support set, or cycling mini-batches). `SineTasks` batches and Omniglot episodes are
 * made this way; so is a user's own task:
 *
 * ```ts
 * const task = mg.supervisedTask({ xSupport, ySupport: [0, 1, 1, 0], xQuery, yQuery: [1, 0] }, { loss: 'cross-entropy' });
 * ```
 */
export function supervisedTask(data: SupervisedData, options: SupervisedOptions = {}): SupervisedTask {
  return new SupervisedTask(data, options);
}

/** The {@link Task} that {@link supervisedTask} makes; its data stay readable as fields. */
export class SupervisedTask implements Task {
  /** Support inputs: `[n, …]`, or `[T, n, …]` when stacked. */
  readonly xSupport: Tensor;
  /** Support targets. */
  readonly ySupport: Targets;
  /** Query inputs. */
  readonly xQuery: Tensor;
  /** Query targets. */
  readonly yQuery: Targets;
  /** T when stacked (see {@link Task.stacked}). */
  readonly stacked: number | undefined;
  /** The loss (see {@link SupervisedOptions.loss}). */
  readonly loss: PredictionLoss;
  /** What {@link score} reports. */
  readonly metric: 'loss' | 'accuracy';
  /** Accuracy with all queries in one batch, or each alone beside the support set. */
  readonly transductive: boolean;
  /** Mini-batch size of the adaptation steps, if not the whole support set. */
  readonly innerBatch: number | undefined;
  /** The support rows' order the mini-batches cycle through. */
  readonly order: readonly number[] | undefined;
  /** Each inner step's mini-batch rows, if given (see {@link SupervisedOptions.batches}). */
  readonly batches: readonly (readonly number[])[] | undefined;
  /** Stacked only: how many tasks `queryLoss` averages over (see {@link SupervisedOptions.meanOver}). */
  readonly meanOver: number | undefined;

  /** See {@link supervisedTask}. */
  constructor(data: SupervisedData, options: SupervisedOptions = {}) {
    const op = 'supervisedTask';
    if (!isRecord(data)) throw new TypeError(`${op}: expected { xSupport, ySupport, xQuery, yQuery }, got ${describeValue(data)}`);
    checkOptionsObject(op, options, SUPERVISED_OPTIONS, "{ loss: 'cross-entropy' }");
    const { xSupport, ySupport, xQuery, yQuery } = data;
    for (const [name, x] of [['xSupport', xSupport], ['xQuery', xQuery]] as const) {
      if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor, got ${describeValue(x)}`);
    }
    for (const [name, y] of [['ySupport', ySupport], ['yQuery', yQuery]] as const) {
      if (!(y instanceof Tensor || y instanceof Int32Array || Array.isArray(y))) throw new TypeError(`${op}: ${name} must be a Tensor or a list of class labels, got ${describeValue(y)}`);
    }
    const loss = options.loss ?? 'mse';
    if (loss !== 'mse' && loss !== 'cross-entropy' && typeof loss !== 'function') throw new RangeError(`${op}: loss must be 'mse', 'cross-entropy' or a function of (prediction, targets), got ${JSON.stringify(loss)}`);
    const stacked = options.stacked ?? false;
    if (stacked) {
      if (loss === 'cross-entropy') throw new RangeError(`${op}: cross-entropy tasks cannot be stacked (give each task as its own Task, or a loss function returning one loss per task)`);
      for (const [name, x] of [['xSupport', xSupport], ['ySupport', ySupport], ['xQuery', xQuery], ['yQuery', yQuery]] as const) {
        if (!(x instanceof Tensor) || x.ndim < 2) throw new RangeError(`${op}: stacked tasks need ${name} as a Tensor [tasks, points, …], got ${x instanceof Tensor ? fmt(x.shape) : describeValue(x)}`);
      }
      const T = xSupport.shape[0]!;
      if (T < 1) throw new RangeError(`${op}: the batch holds no tasks`);
      for (const x of [ySupport, xQuery, yQuery] as Tensor[]) {
        if (x.shape[0] !== T) throw new RangeError(`${op}: stacked tensors must share their task count: xSupport has ${T} tasks, another has ${x.shape[0]}`);
      }
    }
    for (const [x, y, set] of [[xSupport, ySupport, 'support'], [xQuery, yQuery, 'query']] as const) {
      const nx = stacked ? x.shape[1] : x.shape[0];
      const ny = stacked ? (y as Tensor).shape[1] : rowsOf(y);
      if (nx !== ny) throw new RangeError(`${op}: the ${set} set has ${nx} inputs but ${ny} targets`);
    }
    if (options.innerBatch !== undefined) {
      checkInteger(`${op}: innerBatch`, options.innerBatch);
      if (stacked) throw new RangeError(`${op}: innerBatch applies to one task, not to stacked tasks`);
    }
    const n = stacked ? xSupport.shape[1]! : xSupport.shape[0]!;
    if (options.order !== undefined && (!Array.isArray(options.order) || options.order.length !== n || options.order.some((r) => !Number.isInteger(r) || r < 0 || r >= n))) {
      throw new RangeError(`${op}: order must list the ${n} support rows, got ${JSON.stringify(options.order)}`);
    }
    if (options.batches !== undefined) {
      const b = options.batches;
      if (options.innerBatch !== undefined || options.order !== undefined) throw new RangeError(`${op}: give batches, or innerBatch and order, not both`);
      if (stacked) throw new RangeError(`${op}: batches apply to one task, not to stacked tasks`);
      if (!Array.isArray(b) || b.length === 0 || b.some((rows) => !Array.isArray(rows) || rows.length === 0 || rows.some((r) => !Number.isInteger(r) || r < 0 || r >= n))) {
        throw new RangeError(`${op}: batches must be a non-empty list of non-empty lists of support rows in [0, ${n}), got ${JSON.stringify(b).slice(0, 200)}`);
      }
    }
    if (options.meanOver !== undefined) {
      if (!stacked) throw new RangeError(`${op}: meanOver applies to stacked tasks`);
      checkInteger(`${op}: meanOver`, options.meanOver);
      if (options.meanOver < xSupport.shape[0]!) throw new RangeError(`${op}: meanOver (${options.meanOver}) must be at least the stacked task count (${xSupport.shape[0]})`);
    }
    const metric = options.metric ?? (loss === 'cross-entropy' ? 'accuracy' : 'loss');
    if (metric !== 'loss' && metric !== 'accuracy') throw new RangeError(`${op}: metric must be 'loss' or 'accuracy', got ${JSON.stringify(metric)}`);
    if (metric === 'accuracy' && (stacked || yQuery instanceof Tensor)) throw new RangeError(`${op}: metric 'accuracy' needs one task with class labels`);
    this.xSupport = xSupport;
    this.ySupport = ySupport;
    this.xQuery = xQuery;
    this.yQuery = yQuery;
    this.stacked = stacked ? xSupport.shape[0]! : undefined;
    this.loss = loss;
    this.metric = metric;
    this.transductive = options.transductive ?? true;
    this.innerBatch = options.innerBatch;
    this.order = options.order === undefined ? undefined : [...options.order];
    this.batches = options.batches === undefined ? undefined : options.batches.map((rows) => [...rows]);
    this.meanOver = stacked ? (options.meanOver ?? this.stacked) : undefined;
  }

  private predict(model: Model, params: readonly Tensor[], x: Tensor, step: number | undefined): Tensor {
    const context = step === undefined ? undefined : { step };
    return this.stacked === undefined ? model.forward(params, x, context) : forwardStacked(model, params, x, this.stacked, context);
  }

  /** The loss of each task (stacked: `[T]`) or the task's loss. */
  private lossOf(pred: Tensor, y: Targets): Tensor {
    if (this.loss === 'cross-entropy') return crossEntropy(pred, y as IndexLike);
    if (this.loss === 'mse') return this.stacked === undefined ? mse(pred, y as Tensor) : perTaskMse(pred, y as Tensor);
    return this.loss(pred, y);
  }

  supportLoss(model: Model, params: readonly Tensor[], step: number): Tensor {
    let [x, y] = [this.xSupport, this.ySupport];
    if (this.batches !== undefined) {
      const rows = this.batches[step % this.batches.length]!;
      [x, y] = [selectRows(x, rows), targetRows(y, rows)];
    } else if (this.innerBatch !== undefined) {
      const order = this.order ?? Array.from({ length: x.shape[0]! }, (_, i) => i);
      const rows = cyclingBatch(order, step, this.innerBatch);
      [x, y] = [selectRows(x, rows), targetRows(y, rows)];
    }
    const l = this.lossOf(this.predict(model, params, x, step), y);
    return this.stacked === undefined ? l : sum(l);
  }

  queryLoss(model: Model, params: readonly Tensor[], on: 'query' | 'support' = 'query', step?: number): Tensor {
    const [x, y] = on === 'support' ? [this.xSupport, this.ySupport] : [this.xQuery, this.yQuery];
    const l = this.lossOf(this.predict(model, params, x, step), y);
    // scale(sum, 1/T) is how mean computes, so a part's per-task gradients equal the whole's.
    return this.meanOver === undefined ? l : scale(sum(l), 1 / this.meanOver);
  }

  score(model: Model, params: readonly Tensor[], step?: number): number[] {
    checkModel('Task.score', model);
    const context = step === undefined ? undefined : { step };
    return noGrad(() => {
      if (this.metric === 'loss') {
        const l = this.lossOf(this.predict(model, params, this.xQuery, step), this.yQuery);
        return Array.from(l.data);
      }
      const labels = this.yQuery as Int32Array | number[];
      const q = labels.length;
      const n = this.xSupport.shape[0]!;
      // NaN logits have no largest entry: scoring them would report chance-level guesses as accuracy.
      const argmax = (logits: Tensor): number[] => {
        if (logits.data.some(Number.isNaN)) throw new RangeError("the adapted classifier's logits hold NaN");
        return argmaxRows(logits);
      };
      const predicted = this.transductive
        ? argmax(model.forward(params, this.xQuery, context))
        : Array.from({ length: q }, (_, i) => argmax(slice(model.forward(params, concat([this.xSupport, slice(this.xQuery, 0, i, i + 1)], 0), context), 0, n, n + 1))[0]!);
      return [predicted.filter((p, i) => p === labels[i]).length / q];
    });
  }

  /** Stacked tasks `start` … `end − 1`, averaged over this task's `meanOver` (see {@link Task.part}). */
  part(start: number, end: number): SupervisedTask {
    const T = this.stacked;
    if (T === undefined) throw new RangeError('SupervisedTask.part: the task is not stacked');
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > T || start >= end) throw new RangeError(`SupervisedTask.part: need integers 0 ≤ start < end ≤ ${T}, got ${start} and ${end}`);
    const rows = (x: Tensor): Tensor => {
      const per = x.size / T;
      return new Tensor(x.data.subarray(start * per, end * per), [end - start, ...x.shape.slice(1)]);
    };
    const data = { xSupport: rows(this.xSupport), ySupport: rows(this.ySupport as Tensor), xQuery: rows(this.xQuery), yQuery: rows(this.yQuery as Tensor) };
    return new SupervisedTask(data, { loss: this.loss, metric: this.metric, stacked: true, meanOver: this.meanOver });
  }

  /** The stacked tasks as separate tasks (their rows of every tensor, the same loss). */
  split(): Task[] {
    if (this.stacked === undefined) return [this];
    const row = (x: Targets, t: number): Tensor => {
      const r = x as Tensor;
      const per = r.size / r.shape[0]!;
      return new Tensor(r.data.subarray(t * per, (t + 1) * per), r.shape.slice(1));
    };
    // A function loss is then called on one task's rows, where it must give a scalar.
    const loss = this.loss;
    return Array.from({ length: this.stacked }, (_, t) =>
      supervisedTask({ xSupport: row(this.xSupport, t), ySupport: row(this.ySupport, t), xQuery: row(this.xQuery, t), yQuery: row(this.yQuery, t) }, { loss, metric: this.metric }),
    );
  }
}
