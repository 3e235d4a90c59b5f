/**
 * `TaskWorkers`: MAML's meta-batch spread over worker threads (Node's `worker_threads`).
 *
 * The tasks of a meta-batch are independent until their meta-gradients are averaged, so with
 * `workers` extra threads each of them takes a contiguous share of the tasks while the calling
 * thread works through the first share ({@link FewShotTrainer.stepAsync}). Every thread runs the
 * same {@link mamlTaskGradient} on the same kernels, and the trainer sums the results in task
 * order, so a run is bit-identical to a single-threaded one: a stopped run may resume with more
 * or fewer workers and give the same weights.
 *
 * Reptile is not spread: its tasks carry one inner Adam state from each to the next.
 */
import { Worker } from 'node:worker_threads';
import { backendInfo, getBackend } from '../kernels/backend.js';
import type { Conv4Options } from '../nn/conv4.js';
import { Tensor, type TypedArray } from '../tensor.js';
import type { MamlTaskSettings, MetaGradientOffload, TaskEpisode } from './fewshot.js';
import type { MetaGradient } from './inner.js';
import type { WorkerReply, WorkerRequest, WorkerStart } from './task-worker-node.js';

export interface TaskWorkersOptions {
  /** Worker threads besides the calling one (≥ 1). One per spare core is the sensible choice. */
  workers: number;
  /** The model the trainer uses, as the options of its constructor (only `conv4` for now). */
  model: { conv4: Conv4Options };
}

interface Pending {
  resolve: (r: { loss: number; grads: TypedArray[] }[]) => void;
  reject: (e: Error) => void;
}

export class TaskWorkers implements MetaGradientOffload {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;
  private closed = false;

  private constructor(private readonly threads: Worker[], private readonly variant: string) {
    threads.forEach((w, i) => {
      w.on('message', (m: WorkerReply) => {
        const p = this.pending.get(m.id);
        if (p === undefined) return;
        this.pending.delete(m.id);
        if ('error' in m) p.reject(new Error(`TaskWorkers: worker ${i} failed on its tasks: ${m.error}`));
        else p.resolve(m.results as { loss: number; grads: TypedArray[] }[]);
      });
      const fail = (why: string): void => {
        if (this.closed) return;
        this.failure ??= new Error(`TaskWorkers: worker ${i} ${why}`);
        for (const p of this.pending.values()) p.reject(this.failure);
        this.pending.clear();
      };
      w.on('error', (e) => fail(`crashed: ${e.message}`));
      w.on('exit', (code) => fail(`exited with code ${code}`));
    });
  }

  /**
   * Starts `workers` threads and waits until each has loaded the kernels. Refuses a worker whose
   * kernels differ from this thread's (their sums would round differently).
   */
  static async start(options: TaskWorkersOptions): Promise<TaskWorkers> {
    const n = options.workers;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`TaskWorkers: workers must be a positive integer, got ${String(n)}`);
    if (options.model?.conv4 === undefined) throw new RangeError(`TaskWorkers: model must be { conv4: Conv4Options }, got ${JSON.stringify(options.model)}`);
    const { variant } = backendInfo();
    const start: WorkerStart = { model: { conv4: options.model.conv4 }, backend: getBackend(), relaxedSimd: variant === 'relaxed-simd' };
    const url = new URL('./task-worker-node.js', import.meta.url);
    const threads = Array.from({ length: n }, () => new Worker(url, { workerData: start }));
    try {
      await Promise.all(
        threads.map(
          (w, i) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', (m: { ready?: string; failed?: string }) => {
                if (m.failed !== undefined) reject(new Error(`TaskWorkers: worker ${i} could not start: ${m.failed}`));
                else if (m.ready !== variant) reject(new Error(`TaskWorkers: worker ${i} loaded the '${m.ready}' kernels but this thread runs '${variant}'; start Node with the same flags in both`));
                else resolve();
              });
              w.once('error', (e) => reject(new Error(`TaskWorkers: worker ${i} could not start: ${e.message}`)));
            }),
        ),
      );
    } catch (e) {
      await Promise.all(threads.map((w) => w.terminate()));
      throw e;
    }
    return new TaskWorkers(threads, variant);
  }

  /** Worker threads in the pool. */
  get size(): number {
    return this.threads.length;
  }

  /** Of `metaBatch` tasks, the workers take their even share with the calling thread. */
  share(metaBatch: number): number {
    return Math.round((metaBatch * this.threads.length) / (this.threads.length + 1));
  }

  /** The meta-gradients of `episodes` at `params`, in order, each worker taking a contiguous run. */
  async compute(params: readonly Tensor[], episodes: readonly TaskEpisode[], settings: MamlTaskSettings): Promise<MetaGradient[]> {
    if (this.closed) throw new Error('TaskWorkers: compute after close()');
    if (this.failure !== null) throw this.failure;
    const now = backendInfo().variant;
    if (now !== this.variant) throw new Error(`TaskWorkers: this thread now runs the '${now}' kernels, the workers '${this.variant}'; start a new pool after changing the backend`);
    // Copies of just the elements: a view's whole buffer would be cloned otherwise.
    const ps = params.map((p) => ({ data: p.data.slice(), shape: [...p.shape] }));
    const w = this.threads.length;
    const parts = Array.from({ length: w }, (_, i) => episodes.slice(Math.floor((i * episodes.length) / w), Math.floor(((i + 1) * episodes.length) / w)));
    const replies = await Promise.all(
      parts.map((part, i) => {
        if (part.length === 0) return Promise.resolve([]);
        const id = this.nextId++;
        const req: WorkerRequest = {
          id,
          params: ps,
          settings,
          episodes: part.map((e) => ({ xs: e.xSupport.data.slice(), xsShape: [...e.xSupport.shape], ys: e.ySupport.slice(), xq: e.xQuery.data.slice(), xqShape: [...e.xQuery.shape], yq: e.yQuery.slice() })),
        };
        return new Promise<{ loss: number; grads: TypedArray[] }[]>((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          this.threads[i]!.postMessage(req);
        });
      }),
    );
    return replies.flat().map((r) => ({ loss: r.loss, grads: r.grads.map((g, j) => new Tensor(g, params[j]!.shape)) }));
  }

  /** Stops the threads; pending work is refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('TaskWorkers: closed while tasks were in flight');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    await Promise.all(this.threads.map((w) => w.terminate()));
  }
}
