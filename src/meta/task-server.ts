/**
 * The worker side of {@link TaskWorkers}, independent of the thread API: a message handler that
 * builds the model it is given, then answers each request with the MAML meta-gradients of the
 * episodes in it, computed by the same {@link mamlTaskGradient} as the calling thread, so the
 * numbers are the same. task-worker-node.ts (worker_threads) and task-worker-web.ts (Web Workers)
 * only connect it to their thread's port.
 *
 * Protocol (structured clones):
 * - first message, {@link TaskStart}: `{ model: { conv4 }, backend, relaxedSimd }`; the worker
 *   answers `{ ready: variant }` or `{ failed: message }`;
 * - then {@link TaskRequest}s: `{ id, params: [{ data, shape }], settings, episodes }`, answered
 *   by a {@link TaskReply}: `{ id, results: [{ loss, grads }] }` (the gradients' buffers
 *   transferred) or `{ id, error }`.
 */
import { backendInfo, setBackend, type BackendName } from '../kernels/backend.js';
import { conv4, type Conv4Options } from '../nn/conv4.js';
import type { Model } from '../nn/mlp.js';
import { Tensor, type TypedArray } from '../tensor.js';
import { tidy } from '../tidy.js';
import { mamlTaskGradient, type MamlTaskSettings } from './fewshot.js';

/** The first message to a worker: the model to build and the kernels to use. */
export interface TaskStart {
  model: { conv4: Conv4Options };
  backend: BackendName;
  relaxedSimd: boolean;
}

/** One request: weights, settings and the episodes to differentiate. */
export interface TaskRequest {
  id: number;
  params: { data: TypedArray; shape: number[] }[];
  settings: MamlTaskSettings;
  episodes: { xs: TypedArray; xsShape: number[]; ys: Int32Array; xq: TypedArray; xqShape: number[]; yq: Int32Array }[];
}

/** The answer to a request: per-episode loss and gradient data in request order, or what went wrong. */
export type TaskReply = { id: number; results: { loss: number; grads: TypedArray[] }[] } | { id: number; error: string };

/** The answer to the first message. */
export type TaskReady = { ready: string } | { failed: string };

function messageOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * A worker's message handler: `post` sends a message (with buffers to transfer) back to the
 * thread that started the worker.
 */
export function taskServer(post: (message: TaskReply | TaskReady, transfer: ArrayBuffer[]) => void): (message: TaskStart | TaskRequest) => void {
  let model: Model | null = null;
  return (message) => {
    if (model === null) {
      try {
        const start = message as TaskStart;
        setBackend(start.backend, { relaxedSimd: start.relaxedSimd });
        model = conv4(start.model.conv4);
        post({ ready: backendInfo().variant }, []);
      } catch (e) {
        post({ failed: e instanceof Error ? e.message : String(e) }, []);
      }
      return;
    }
    const req = message as TaskRequest;
    const m = model;
    try {
      const params = req.params.map((p) => new Tensor(p.data, p.shape));
      const results = tidy(() =>
        req.episodes.map((e) => {
          const ep = { xSupport: new Tensor(e.xs, e.xsShape), ySupport: e.ys, xQuery: new Tensor(e.xq, e.xqShape), yQuery: e.yq };
          const r = mamlTaskGradient(m, params, ep, req.settings);
          // Own copies: the gradients' arrays belong to the storage pool, which reuses them.
          return { loss: r.loss, grads: r.grads.map((g) => g.data.slice()) };
        }),
      );
      post({ id: req.id, results }, results.flatMap((r) => r.grads.map((g) => g.buffer as ArrayBuffer)));
    } catch (e) {
      post({ id: req.id, error: messageOf(e) }, []);
    }
  };
}
