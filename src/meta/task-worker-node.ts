/**
 * The worker-thread side of {@link TaskWorkers} (task-workers-node.ts): builds the model it was
 * given, then answers each request with the MAML meta-gradients of the episodes in it, computed
 * by the same {@link mamlTaskGradient} as the main thread, so the numbers are the same.
 *
 * Protocol (structured clones over the worker's port):
 * - start (workerData): `{ model: { conv4 }, backend, relaxedSimd }`; the worker answers
 *   `{ ready: variant }` or `{ failed: message }`.
 * - request: `{ id, params: [{ data, shape }], settings, episodes: [{ xs, xsShape, ys, xq, xqShape, yq }] }`;
 *   answer: `{ id, results: [{ loss, grads }] }` (grads' buffers transferred) or `{ id, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { backendInfo, setBackend, type BackendName } from '../kernels/backend.js';
import { conv4, type Conv4Options } from '../nn/conv4.js';
import { Tensor, type TypedArray } from '../tensor.js';
import { tidy } from '../tidy.js';
import { mamlTaskGradient, type MamlTaskSettings } from './fewshot.js';

/** What the main thread sends to start a worker. */
export interface WorkerStart {
  model: { conv4: Conv4Options };
  backend: BackendName;
  relaxedSimd: boolean;
}

/** One request: weights, settings and the episodes to differentiate. */
export interface WorkerRequest {
  id: number;
  params: { data: TypedArray; shape: number[] }[];
  settings: MamlTaskSettings;
  episodes: { xs: TypedArray; xsShape: number[]; ys: Int32Array; xq: TypedArray; xqShape: number[]; yq: Int32Array }[];
}

/** One answer: per-episode loss and meta-gradient data in request order, or what went wrong. */
export type WorkerReply = { id: number; results: { loss: number; grads: TypedArray[] }[] } | { id: number; error: string };

const port = parentPort;
if (port === null) throw new Error('task-worker-node: this module runs as a worker thread (started by TaskWorkers), not on its own');

try {
  const start = workerData as WorkerStart;
  setBackend(start.backend, { relaxedSimd: start.relaxedSimd });
  const model = conv4(start.model.conv4);
  port.on('message', (req: WorkerRequest) => {
    let reply: WorkerReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const params = req.params.map((p) => new Tensor(p.data, p.shape));
      const results = tidy(() =>
        req.episodes.map((e) => {
          const ep = { xSupport: new Tensor(e.xs, e.xsShape), ySupport: e.ys, xQuery: new Tensor(e.xq, e.xqShape), yQuery: e.yq };
          const r = mamlTaskGradient(model, params, ep, req.settings);
          // Own copies: the gradients' arrays belong to the storage pool, which reuses them.
          return { loss: r.loss, grads: r.grads.map((g) => g.data.slice()) };
        }),
      );
      for (const r of results) for (const g of r.grads) transfer.push(g.buffer as ArrayBuffer);
      reply = { id: req.id, results };
    } catch (e) {
      reply = { id: req.id, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
    port.postMessage(reply, transfer);
  });
  port.postMessage({ ready: backendInfo().variant });
} catch (e) {
  port.postMessage({ failed: e instanceof Error ? e.message : String(e) });
}
