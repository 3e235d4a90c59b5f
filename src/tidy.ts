/**
 * `tidy`: hand a step's temporary arrays back to the pool when the step is done.
 *
 * The backward pass already recycles the gradients it can prove dead (see storage.ts), but the
 * forward pass's activations cannot be proved dead by the engine: the caller might keep any of
 * them. A training loop knows better. Wrapping one step in `tidy` says "of everything allocated
 * in here, only what the step returns lives on", and the large arrays of everything else are
 * reused by the next step instead of being garbage-collected and freshly allocated (a Reptile
 * Omniglot meta-iteration allocates ≈ 170 MB of them).
 */
import { allocationScope } from './storage.js';
import { Tensor } from './tensor.js';

/**
 * Runs `fn` and returns its result; then the arrays that tensors created inside `fn` drew from
 * the pool (those of at least 4 kB) go back to it, except those that the result still reaches.
 * The result is searched through tensors (their data, gradient and, while the tape still
 * records them, the inputs and saved values of the ops that computed them), arrays, `Map`s,
 * `Set`s and the enumerable properties of any other object (not closures), so a step may return a loss, new parameters, a graph to
 * differentiate later, or any structure of these. Gradients that {@link Tensor.backward} stores in
 * `.grad` inside `fn` survive too.
 *
 * The contract, as with TensorFlow.js's `tf.tidy`: a tensor created inside `fn` and kept by any
 * other route (stored in an outer variable or an object's field, or reached through a closure)
 * must not be used after `fn` returns unless the result reaches it; its contents may be
 * overwritten by a later step. Tensors created before `fn` are never touched. Calls nest: what
 * an inner `tidy` returns belongs to the outer one. If `fn` throws, nothing is recycled. `fn`
 * must be synchronous (a promise is refused). The pool's arrays that `fn` draws are held until it
 * returns, so wrap one step (or one task) in `tidy`, not a whole training loop.
 *
 * @example
 * ```ts
 * for (let k = 0; k < steps; k++) {
 *   params = mg.tidy(() => {
 *     const [loss, grads] = mg.valueAndGrad(lossOf)(params);
 *     return opt.step(params, grads); // only the new parameters survive the step
 *   });
 * }
 * ```
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`tidy: expected a function, got ${typeof fn}`);
  return allocationScope(fn, (result) => {
    // Checked before anything is recycled: an async step would go on using its arrays after
    // tidy had handed them back.
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      throw new TypeError('tidy: fn returned a promise; tidy needs a synchronous function (wrap each synchronous step instead)');
    }
    return reachableBuffers(result);
  });
}

/** The buffers of every tensor and typed array reachable from `root` (see {@link tidy}). */
function reachableBuffers(root: unknown): Set<ArrayBufferLike> {
  const buffers = new Set<ArrayBufferLike>();
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Tensor) {
      buffers.add(v.data.buffer);
      stack.push(v.grad);
      // A graph freed by a backward pass has no rule left and needs none of its inputs.
      if (v.node !== null && v.node.vjp !== null) stack.push(v.node);
    } else if (ArrayBuffer.isView(v)) {
      buffers.add(v.buffer);
    } else if (v instanceof ArrayBuffer) {
      buffers.add(v);
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v instanceof Map) {
      for (const [k, x] of v) stack.push(k, x);
    } else if (v instanceof Set) {
      for (const x of v) stack.push(x);
    } else {
      for (const x of Object.values(v)) stack.push(x);
    }
  }
  return buffers;
}
