/**
 * The worker side of {@link TaskWorkers}, independent of the thread API: a message handler that
 * builds the model it is given, then answers each request with the task gradients of the tasks in
 * it (MAML's, MAML++'s, Reptile's or the §6.2 family's, as the request's settings say), computed by the
 * same functions as on the calling thread, so the numbers are the same. task-worker-node.ts (worker_threads) and task-worker-web.ts (Web Workers)
 * only connect it to their thread's port.
 *
 * Protocol (structured clones):
 * - first message, {@link TaskStart}: `{ model, backend, relaxedSimd }`, the model as a
 *   {@link ModelSpec}; the worker answers `{ ready: variant }` or `{ failed: message }`;
 * - then {@link TaskRequest}s: `{ id, params: [{ data, shape }], settings, tasks, context, counter? }`, answered
 *   by a {@link TaskReply}: `{ id, results: [{ task, loss, grads, shapes }] }` (the gradients' buffers
 *   transferred) or `{ id, error }`.
 */
import { backendInfo, setBackend, type BackendName } from '../kernels/backend.js';
import { conv4, type Conv4Options } from '../nn/conv4.js';
import { checkModel, type Model } from '../nn/model.js';
import { Tensor } from '../tensor.js';
import type { TypedArray } from '../dtype.js';
import { tidy } from '../tidy.js';
import { mamlTaskGradient } from '../meta/maml.js';
import { reptile } from '../meta/reptile.js';
import { innerGradientFamily } from '../meta/family.js';
import type { MetaGradient } from '../meta/inner.js';
import type { MetaContext, WorkerAlgorithm } from '../meta/algorithm.js';
import { mamlpp } from '../meta/mamlpp.js';
import type { Task } from '../meta/task.js';
import { supervisedTask } from '../meta/task.js';
import { recordingMoments, type MomentRecord } from '../nn/step-stats.js';
import { describeValue, isRecord } from '../checks.js';

/**
 * The model a worker builds: `conv4` with its options, or the export `export` of the module
 * `module` (an absolute URL or file path the worker can import) called with `options`.
 */
export type ModelSpec = { conv4: Conv4Options } | { module: string; export: string; options?: unknown };

/** Throws unless `spec` is a {@link ModelSpec}, naming `owner`. */
export function checkModelSpec(owner: string, spec: unknown): void {
  const ok = isRecord(spec) && (spec.conv4 !== undefined || (typeof spec.module === 'string' && typeof spec.export === 'string'));
  if (!ok) throw new RangeError(`${owner}: model must be { conv4: Conv4Options } or { module: URL or path, export: name, options }, got ${JSON.stringify(spec) ?? describeValue(spec)}`);
}

/** The first message to a worker: the model to build and the kernels to use. */
export interface TaskStart {
  model: ModelSpec;
  backend: BackendName;
  relaxedSimd: boolean;
}

/** A supervised task's arrays and named loss, as sent to a worker. */
export interface WireTask {
  loss: 'mse' | 'cross-entropy';
  xs: TypedArray;
  xsShape: number[];
  ys: Int32Array | { data: TypedArray; shape: number[] };
  xq: TypedArray;
  xqShape: number[];
  yq: Int32Array | { data: TypedArray; shape: number[] };
  /** Adapt on mini-batches of this many support rows (the task's `innerBatch`), cycling through `order`. */
  innerBatch?: number;
  order?: number[];
  /** Stacked tasks (`[T, n, …]` arrays): the count the query loss averages over (see `SupervisedOptions.meanOver`). */
  meanOver?: number;
  /** Each inner step's mini-batch rows (see `SupervisedOptions.batches`). */
  batches?: number[][];
}

/**
 * One request: weights, settings and the tasks to differentiate: all of them, or with `counter`
 * (one Int32 on a SharedArrayBuffer, the index of the next task nobody has taken) those the
 * worker claims, one at a time.
 */
export interface TaskRequest {
  id: number;
  params: { data: TypedArray; shape: number[] }[];
  settings: WorkerAlgorithm;
  tasks: WireTask[];
  counter?: Int32Array;
  /** Where in training the step is (for schedules inside the algorithm, such as MAML++'s). */
  context: MetaContext;
}

/** The answer to a request: each task's index in the request, loss and gradient data, or what went wrong. */
export type TaskReply = { id: number; results: { task: number; loss: number; grads: TypedArray[]; shapes: number[][]; moments?: MomentRecord[] }[] } | { id: number; error: string };

/** The answer to the first message. */
export type TaskReady = { ready: string } | { failed: string };

/** The task-gradient function `settings` describe, for meta-parameters `params`. */
function taskGradientOf(settings: WorkerAlgorithm, params: readonly Tensor[]): (model: Model, params: readonly Tensor[], task: Task, context?: MetaContext) => MetaGradient {
  if (settings.kind === 'reptile') return reptile(settings).taskGradient!;
  if (settings.kind === 'family') return innerGradientFamily(settings).taskGradient!;
  if (settings.kind === 'mamlpp') return mamlpp(params.slice(0, settings.modelParams), settings.settings).algorithm.taskGradient!;
  return (model, params, task) => mamlTaskGradient(model, params, task, settings);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

async function buildModel(spec: ModelSpec): Promise<Model> {
  if ('conv4' in spec) return conv4(spec.conv4);
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const make = mod[spec.export];
  if (typeof make !== 'function') throw new TypeError(`${spec.module} has no function export '${spec.export}' (it has ${Object.keys(mod).join(', ') || 'no exports'})`);
  const model = (make as (o: unknown) => unknown)(spec.options);
  checkModel(`${spec.module}: ${spec.export}(options)`, model);
  return model as Model;
}

/** Sets the kernels `start` asks for and builds its model: a worker's start-up. */
export async function startWorker(start: TaskStart): Promise<Model> {
  setBackend(start.backend, { relaxedSimd: start.relaxedSimd });
  return buildModel(start.model);
}

/** Answers one request with `model`: its tasks' gradients (or what went wrong) through `post`. */
export function serveRequest(model: Model, req: TaskRequest, post: (message: TaskReply, transfer: ArrayBuffer[]) => void): void {
  try {
    const params = req.params.map((p) => new Tensor(p.data, p.shape));
    const y = (v: WireTask['ys']) => (v instanceof Int32Array ? v : new Tensor(v.data, v.shape));
    const taskGradient = taskGradientOf(req.settings, params);
    const gradientOf = (i: number) => {
      const w = req.tasks[i]!;
      const batches = w.batches !== undefined ? { batches: w.batches } : w.innerBatch === undefined ? {} : { innerBatch: w.innerBatch, ...(w.order === undefined ? {} : { order: w.order }) };
      const stacked = w.meanOver === undefined ? {} : { stacked: true, meanOver: w.meanOver };
      const task = supervisedTask({ xSupport: new Tensor(w.xs, w.xsShape), ySupport: y(w.ys), xQuery: new Tensor(w.xq, w.xqShape), yQuery: y(w.yq) }, { loss: w.loss, ...batches, ...stacked });
      const records: MomentRecord[] | null = req.settings.recordMoments === true ? [] : null;
      const r = tidy(() => taskGradient(records === null ? model : recordingMoments(model, records), params, task, req.context));
      // Own copies: the gradients' arrays belong to the storage pool, which reuses them.
      return { task: i, loss: r.loss, grads: r.grads.map((g) => g.data.slice()), shapes: r.grads.map((g) => [...g.shape]), ...(records === null ? {} : { moments: records }) };
    };
    const counter = req.counter;
    const results = tidy(() => {
      const out: ReturnType<typeof gradientOf>[] = [];
      if (counter === undefined) for (let i = 0; i < req.tasks.length; i++) out.push(gradientOf(i));
      else for (let i = Atomics.add(counter, 0, 1); i < req.tasks.length; i = Atomics.add(counter, 0, 1)) out.push(gradientOf(i));
      return out;
    });
    post({ id: req.id, results }, results.flatMap((r) => r.grads.map((g) => g.buffer as ArrayBuffer)));
  } catch (e) {
    post({ id: req.id, error: messageOf(e) }, []);
  }
}

/**
 * A worker's message handler: `post` sends a message (with buffers to transfer) back to the
 * thread that started the worker. Requests that arrive while the model is being built wait for it.
 */
export function taskServer(post: (message: TaskReply | TaskReady, transfer: ArrayBuffer[]) => void): (message: TaskStart | TaskRequest) => void {
  let model: Promise<Model | null> | null = null;
  return (message) => {
    if (model === null) {
      model = startWorker(message as TaskStart).then(
        (m) => {
          post({ ready: backendInfo().variant }, []);
          return m;
        },
        (e: unknown) => {
          post({ failed: e instanceof Error ? e.message : String(e) }, []);
          return null;
        },
      );
      return;
    }
    const req = message as TaskRequest;
    void model.then((m) => {
      if (m !== null) serveRequest(m, req, post);
    });
  };
}
