/** A Web Worker of {@link TaskWorkers} (module worker): {@link taskServer} on its scope. */
import { taskServer } from './task-server.js';

interface WorkerScope {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  onmessage: ((e: { data: unknown }) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const handle = taskServer((message, transfer) => scope.postMessage(message, transfer));
scope.onmessage = (e) => handle(e.data as Parameters<typeof handle>[0]);
