/**
 * A Node worker thread of {@link TaskWorkers} (metagrad/node). The first message on its parent
 * port starts it (kernels, model); requests then come on a channel of their own, which the
 * worker reads synchronously: it spins briefly between requests and sleeps on a shared counter
 * after that, so a meta-batch that takes a millisecond does not wait for two event loops to wake.
 */
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { backendInfo } from '../kernels/backend.js';
import type { Model } from '../nn/model.js';
import { serveRequest, startWorker, type TaskRequest, type TaskStart } from './task-server.js';

/** The request channel: its port, and shared counters of requests posted [0] and replies posted [1]. */
export interface RequestChannel {
  port: MessagePort;
  signals: Int32Array;
}

/** How long the worker spins for the next request before it sleeps. */
const SPIN_MS = 2;

function serve(channel: RequestChannel, model: Model): never {
  const { port, signals } = channel;
  const post = (message: Parameters<Parameters<typeof serveRequest>[2]>[0], transfer: ArrayBuffer[]) => {
    port.postMessage(message, transfer);
    Atomics.add(signals, 1, 1);
    Atomics.notify(signals, 1);
  };
  for (;;) {
    const seen = Atomics.load(signals, 0);
    for (let r = receiveMessageOnPort(port); r !== undefined; r = receiveMessageOnPort(port)) serveRequest(model, r.message as TaskRequest, post);
    const end = performance.now() + SPIN_MS;
    while (Atomics.load(signals, 0) === seen && performance.now() < end);
    Atomics.wait(signals, 0, seen);
  }
}

const parent = parentPort;
if (parent === null) throw new Error('task-worker-node: this module runs as a worker thread started by TaskWorkers, not on its own');
parent.once('message', (start: TaskStart & { channel: RequestChannel }) => {
  startWorker(start).then(
    (model) => {
      parent.postMessage({ ready: backendInfo().variant });
      serve(start.channel, model);
    },
    (e: unknown) => parent.postMessage({ failed: e instanceof Error ? e.message : String(e) }),
  );
});
