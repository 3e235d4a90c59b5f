/** Forced garbage collection inside a test worker, without command-line flags. */
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gcFn = vm.runInNewContext('gc') as () => void;

/** Lets pending jobs finish (WeakRefs are held until then), then collects garbage. */
export async function collect(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  gcFn();
  await new Promise((r) => setTimeout(r, 0));
  gcFn();
}

/** Heap in use after a full collection, in bytes. */
export async function heapAfterGc(): Promise<number> {
  await collect();
  return process.memoryUsage().heapUsed;
}
