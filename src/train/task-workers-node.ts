/**
 * {@link TaskWorkers} on Node's worker threads (`metagrad/node`): the same pool, started with
 * `worker_threads` running task-worker-node.js. A worker inherits Node's flags (so
 * `--experimental-wasm-relaxed-simd` reaches it and the kernels match).
 */
import { Worker } from 'node:worker_threads';
import { TaskWorkers as WebTaskWorkers, type TaskThread, type TaskWorkersOptions } from './task-workers.js';

export type { TaskWorkersOptions };

function nodeThread(): TaskThread {
  const w = new Worker(new URL('./task-worker-node.js', import.meta.url));
  return {
    post: (m) => w.postMessage(m),
    listen(onMessage, onFailure) {
      w.on('message', onMessage);
      w.on('error', (e) => onFailure(`crashed: ${e.message}`));
      w.on('exit', (code) => onFailure(`exited with code ${code}`));
    },
    terminate: () => w.terminate(),
  };
}

/** {@link TaskWorkers} started as Node worker threads: `await TaskWorkers.start({ workers: 1, model: { conv4: { classes: 5 } } })`. */
export class TaskWorkers extends WebTaskWorkers {
  /**
   * Starts `workers` Node worker threads and waits until each has loaded the kernels. Refuses a
   * worker whose kernels differ from this thread's (their sums would round differently).
   */
  static override async start(options: TaskWorkersOptions): Promise<TaskWorkers> {
    return this.launch(options, nodeThread);
  }
}
