/**
 * {@link TaskWorkers} on Node's worker threads (`metagrad/node`): the same pool, started with
 * `worker_threads` running task-worker-node.js. A worker inherits Node's flags (so
 * `--experimental-wasm-relaxed-simd` reaches it and the kernels match). Requests and replies go
 * over a channel both sides can also read synchronously (`receiveNow`).
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { TaskWorkers as WebTaskWorkers, type TaskThread, type TaskWorkersOptions } from './task-workers.js';
import type { TaskReply } from './task-server.js';

export type { TaskWorkersOptions };

function nodeThread(): TaskThread {
  const w = new Worker(new URL('./task-worker-node.js', import.meta.url));
  const { port1, port2 } = new MessageChannel();
  // [0]: requests posted, [1]: replies posted; each side sleeps on the other's.
  const signals = new Int32Array(new SharedArrayBuffer(8));
  let started = false;
  return {
    post(m) {
      if (!started) {
        started = true;
        w.postMessage({ ...m, channel: { port: port2, signals } }, [port2]);
        return;
      }
      port1.postMessage(m);
      Atomics.add(signals, 0, 1);
      Atomics.notify(signals, 0);
    },
    listen(onMessage, onFailure) {
      w.on('message', onMessage);
      port1.on('message', onMessage);
      w.on('error', (e) => onFailure(`crashed: ${e.message}`));
      w.on('exit', (code) => onFailure(`exited with code ${code}`));
    },
    receiveNow(waitMs) {
      const end = performance.now() + waitMs;
      for (;;) {
        const seen = Atomics.load(signals, 1);
        const r = receiveMessageOnPort(port1);
        if (r !== undefined) return r.message as TaskReply;
        if (performance.now() >= end) return undefined;
        while (Atomics.load(signals, 1) === seen && performance.now() < end);
      }
    },
    terminate: async () => {
      port1.close();
      return w.terminate();
    },
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
