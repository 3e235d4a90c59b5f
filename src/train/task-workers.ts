/**
 * `TaskWorkers`: MAML's meta-batch spread over worker threads, for any model the workers can
 * build and any supervised Task.
 *
 * The tasks of a meta-batch are independent until their meta-gradients are averaged, so with
 * `workers` extra threads each of them takes a contiguous share of the tasks while the calling
 * thread works through the first share ({@link MetaLearner.stepAsync}). Every thread runs the
 * same {@link mamlTaskGradient} on the same kernels, and the learner sums the results in task
 * order, so a run is bit-identical to a single-threaded one: a stopped run may resume with more
 * or fewer workers and give the same weights.
 *
 * The pool is the same everywhere; only starting a thread differs. `TaskWorkers.start` from
 * `metagrad` starts Web Workers (browsers); the `TaskWorkers` of `metagrad/node` starts Node
 * worker threads (task-workers-node.ts). The workers' side is task-server.ts.
 *
 * Reptile with SGD inside is spread like MAML; Reptile with an inner Adam is not: its tasks carry
 * one Adam state from each to the next, so they run in turn on the calling thread.
 *
 * A stacked meta-batch (sine tasks: one batched computation) is cut in parts instead (`Task.part`),
 * whose per-task gradient rows are summed in task order; {@link TaskWorkers.settle} moves the cut
 * a task at a time towards where the threads finish together.
 */
import { backendInfo, getBackend } from '../kernels/backend.js';
import { Tensor } from '../tensor.js';
import type { ClaimedBatch, MetaGradientOffload } from './learner.js';
import type { MetaContext, WorkerAlgorithm } from '../meta/algorithm.js';
import type { MetaGradient } from '../meta/inner.js';
import { isTask, SupervisedTask, type SupervisedData, type Task } from '../meta/task.js';
import { checkModelSpec, type ModelSpec, type TaskReady, type TaskReply, type TaskRequest, type TaskStart, type WireTask } from './task-server.js';
import { checkOptionsObject } from '../checks.js';

export type { ModelSpec };

/** How many workers a {@link TaskWorkers} pool starts, and the model each rebuilds. */
export interface TaskWorkersOptions {
  /** Worker threads besides the calling one (≥ 1). One per spare core is the sensible choice. */
  workers: number;
  /**
   * The model the learner uses, for each worker to build its own: `{ conv4: options }`, or
   * `{ module, export, options }`, a module the worker imports (an absolute URL or path) and the
   * name of its export that makes the model from `options` (structured-cloneable).
   */
  model: ModelSpec;
}

/** A task as the workers receive it: its arrays, its named loss and its mini-batch order. */
function toWire(task: Task | SupervisedData, i: number): WireTask {
  const t = task instanceof SupervisedTask || !isTask(task) ? task : null;
  const loss = t instanceof SupervisedTask ? t.loss : 'cross-entropy';
  if (t === null || typeof loss === 'function') {
    throw new TypeError(`TaskWorkers: task ${i} cannot be sent to a worker: only supervisedTasks with a named loss ('mse' or 'cross-entropy') can`);
  }
  const y = (v: SupervisedData['ySupport']) => (v instanceof Tensor ? { data: v.data.slice(), shape: [...v.shape] } : Int32Array.from(v));
  const wire: WireTask = { loss, xs: t.xSupport.data.slice(), xsShape: [...t.xSupport.shape], ys: y(t.ySupport), xq: t.xQuery.data.slice(), xqShape: [...t.xQuery.shape], yq: y(t.yQuery) };
  if (t instanceof SupervisedTask && t.meanOver !== undefined) wire.meanOver = t.meanOver;
  if (t instanceof SupervisedTask && t.batches !== undefined) wire.batches = t.batches.map((rows) => [...rows]);
  if (t instanceof SupervisedTask && t.innerBatch !== undefined) {
    wire.innerBatch = t.innerBatch;
    if (t.order !== undefined) wire.order = [...t.order];
  }
  return wire;
}

/** Copies of just the parameters' elements: a view's whole buffer would be cloned otherwise. */
function wireParams(params: readonly Tensor[]): TaskRequest['params'] {
  return params.map((p) => ({ data: p.data.slice(), shape: [...p.shape] }));
}

/** A worker's result as a meta-gradient. */
function gradientOf(r: Results[number]): MetaGradient {
  return { loss: r.loss, grads: r.grads.map((g, j) => new Tensor(g, r.shapes[j]!)), ...(r.moments === undefined ? {} : { moments: r.moments }) };
}

/** A started worker, whatever the thread API: what the pool needs of it. */
export interface TaskThread {
  /** Sends a message to the worker. */
  post(message: TaskStart | TaskRequest): void;
  /** Registers the handlers for the worker's messages and for its end (a crash or an exit). */
  listen(onMessage: (m: TaskReply | TaskReady) => void, onFailure: (why: string) => void): void;
  /** Stops the worker. */
  terminate(): Promise<unknown>;
  /**
   * Where the runtime allows reading replies synchronously (Node): the next reply, waiting for
   * it up to `waitMs` milliseconds; undefined if none came. Without it, replies come only
   * through `listen`.
   */
  receiveNow?(waitMs: number): TaskReply | undefined;
}

/** A worker's answer to one request, when it succeeded. */
type Results = Extract<TaskReply, { results: unknown }>['results'];

interface Pending {
  resolve: (r: Results) => void;
  reject: (e: Error) => void;
  /** The worker asked. */
  thread: number;
}

/** How long {@link TaskWorkers.settle} waits for replies before leaving them to the event loop. */
const SETTLE_MS = 5;

interface WebWorkerLike {
  postMessage(message: unknown): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
  onmessageerror: (() => void) | null;
  terminate(): void;
}
type WebWorkerConstructor = new (url: URL, options: { type: 'module' }) => WebWorkerLike;

/** A Web Worker running task-worker-web.js. */
function webThread(): TaskThread {
  const W = (globalThis as { Worker?: WebWorkerConstructor }).Worker;
  if (W === undefined) throw new Error("TaskWorkers.start: this runtime has no Web Workers; in Node, import { TaskWorkers } from 'metagrad/node'");
  const w = new W(new URL('./task-worker-web.js', import.meta.url), { type: 'module' });
  return {
    post: (m) => w.postMessage(m),
    listen(onMessage, onFailure) {
      w.onmessage = (e) => onMessage(e.data as TaskReply | TaskReady);
      w.onerror = (e) => onFailure(`crashed: ${e.message ?? 'error event'}`);
      w.onmessageerror = () => onFailure('sent a message that could not be read');
    },
    terminate: async () => w.terminate(),
  };
}

/**
 * A pool of Web Workers that compute the last shares of a MAML meta-batch
 * (`trainer.stepAsync(pool)`), with weights bit-identical to one thread. Start it with
 * `await TaskWorkers.start(options)` and end it with `await pool.close()`; in Node take the
 * `TaskWorkers` of `metagrad/node`, which starts worker threads instead.
 */
export class TaskWorkers implements MetaGradientOffload {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly starting: Promise<void>[];
  private failure: Error | null = null;
  private closed = false;
  private readonly variant = backendInfo().variant;

  protected constructor(private readonly threads: TaskThread[], model: ModelSpec) {
    this.starting = threads.map(
      (t, i) =>
        new Promise<void>((resolve, reject) => {
          let ready = false;
          t.listen(
            (m) => {
              if (!ready) {
                ready = true;
                if ('failed' in m) reject(new Error(`TaskWorkers: worker ${i} could not start: ${m.failed}`));
                else if ('ready' in m && m.ready !== this.variant) reject(new Error(`TaskWorkers: worker ${i} loaded the '${m.ready}' kernels but this thread runs '${this.variant}'; start both with the same flags`));
                else resolve();
                return;
              }
              this.onReply(i, m as TaskReply);
            },
            (why) => {
              if (!ready) reject(new Error(`TaskWorkers: worker ${i} could not start: it ${why}`));
              if (this.closed) return;
              this.failure ??= new Error(`TaskWorkers: worker ${i} ${why}`);
              for (const p of this.pending.values()) p.reject(this.failure);
              this.pending.clear();
            },
          );
        }),
    );
    const start: TaskStart = { model, backend: getBackend(), relaxedSimd: this.variant === 'relaxed-simd' };
    for (const t of threads) t.post(start);
  }

  /**
   * Starts `workers` Web Workers and waits until each has loaded the kernels (in Node, use the
   * `TaskWorkers` of `metagrad/node`). Refuses a worker whose kernels differ from this thread's
   * (their sums would round differently).
   */
  static async start(options: TaskWorkersOptions): Promise<TaskWorkers> {
    return this.launch(options, webThread);
  }

  /** Checks `options`, starts the threads with `spawn` and waits until all are ready. */
  protected static async launch(options: TaskWorkersOptions, spawn: () => TaskThread): Promise<TaskWorkers> {
    checkOptionsObject('TaskWorkers', options, { workers: true, model: true }, '{ workers: 1, model: { conv4: { classes: 5 } } }');
    const n = options.workers;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`TaskWorkers: workers must be a positive integer, got ${String(n)}`);
    checkModelSpec('TaskWorkers', options.model);
    const threads: TaskThread[] = [];
    try {
      for (let i = 0; i < n; i++) threads.push(spawn());
    } catch (e) {
      await Promise.all(threads.map((t) => t.terminate()));
      throw e;
    }
    const pool = new this(threads, options.model);
    try {
      await Promise.all(pool.starting);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** Worker threads in the pool. */
  get size(): number {
    return this.threads.length;
  }

  private onReply(i: number, reply: TaskReply): void {
    const p = this.pending.get(reply.id);
    if (p === undefined) return;
    this.pending.delete(reply.id);
    if ('error' in reply) p.reject(new Error(`TaskWorkers: worker ${i} failed on its tasks: ${reply.error}`));
    else p.resolve(reply.results);
  }

  /**
   * Of `metaBatch` tasks, the workers' share: at first their even share with the calling
   * thread, then moved a task at a time towards where {@link settle} saw the threads finish
   * together (replies cost time; which thread computes which task never changes the result).
   */
  share(metaBatch: number): number {
    const even = Math.round((metaBatch * this.threads.length) / (this.threads.length + 1));
    const offset = this.balance.get(metaBatch) ?? 0;
    this.lastShare = metaBatch;
    return Math.min(metaBatch, Math.max(0, even + offset));
  }

  /** Per meta-batch size, how many tasks the workers' share differs from the even one. */
  private readonly balance = new Map<number, number>();
  private lastShare: number | null = null;

  /**
   * Waits (briefly, synchronously, where the runtime allows: Node) for the replies to the
   * requests in flight, so a caller done with its own share does not wait for its event loop
   * to deliver them; then adjusts {@link share}: if the replies were already there, the
   * workers get one task more next time, otherwise one fewer.
   */
  settle(): void {
    let waited = false;
    for (const [i, thread] of this.threads.entries()) {
      if (thread.receiveNow === undefined) return;
      while ([...this.pending.values()].some((p) => p.thread === i)) {
        let reply = thread.receiveNow(0);
        if (reply === undefined) {
          waited = true;
          reply = thread.receiveNow(SETTLE_MS);
          if (reply === undefined) return;
        }
        this.onReply(i, reply);
      }
    }
    const n = this.lastShare;
    if (n === null) return;
    this.lastShare = null;
    const even = Math.round((n * this.threads.length) / (this.threads.length + 1));
    const offset = (this.balance.get(n) ?? 0) + (waited ? -1 : 1);
    this.balance.set(n, Math.min(n - even, Math.max(-even, offset)));
  }

  /**
   * The meta-gradients of `tasks` (supervisedTasks, or episodes) at `params`, in order, each
   * worker taking a contiguous run.
   */
  async compute(params: readonly Tensor[], tasks: readonly (Task | SupervisedData)[], settings: WorkerAlgorithm, context: MetaContext = { iteration: 0 }): Promise<MetaGradient[]> {
    this.checkUsable();
    const ps = wireParams(params);
    const w = this.threads.length;
    const wire = tasks.map(toWire);
    const replies = await Promise.all(
      Array.from({ length: w }, (_, i) => {
        const part = wire.slice(Math.floor((i * wire.length) / w), Math.floor(((i + 1) * wire.length) / w));
        return part.length === 0 ? Promise.resolve([]) : this.request(i, { params: ps, settings, tasks: part, context });
      }),
    );
    return replies.flat().map(gradientOf);
  }

  /**
   * Hands the whole meta-batch to every worker; the workers and the caller then take its tasks
   * one at a time (`next()`), each the next one nobody has taken, so a thread slowed by other
   * work takes fewer. Null where threads cannot share memory (a browser page without
   * cross-origin isolation): use {@link share} and {@link compute} there.
   */
  claim(params: readonly Tensor[], tasks: readonly (Task | SupervisedData)[], settings: WorkerAlgorithm, context: MetaContext = { iteration: 0 }): ClaimedBatch | null {
    if (typeof SharedArrayBuffer === 'undefined') return null;
    this.checkUsable();
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const req = { params: wireParams(params), settings, tasks: tasks.map(toWire), counter, context };
    const replies = this.threads.map((_, i) => this.request(i, req));
    const results = Promise.all(replies).then((rs) => new Map(rs.flat().map((r) => [r.task, gradientOf(r)] as const)));
    return { next: () => Atomics.add(counter, 0, 1), results };
  }

  private checkUsable(): void {
    if (this.closed) throw new Error('TaskWorkers: compute after close()');
    if (this.failure !== null) throw this.failure;
    const now = backendInfo().variant;
    if (now !== this.variant) throw new Error(`TaskWorkers: this thread now runs the '${now}' kernels, the workers '${this.variant}'; start a new pool after changing the backend`);
  }

  /** Sends `req` to worker `i`; resolves to its results. */
  private request(i: number, req: Omit<TaskRequest, 'id'>): Promise<Results> {
    const id = this.nextId++;
    return new Promise<Results>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, thread: i });
      this.threads[i]!.post({ id, ...req });
    });
  }

  /** Stops the threads; pending work is refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('TaskWorkers: closed while tasks were in flight');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
