/**
 * The model contract every meta-learner relies on: a model is a pure function of its parameters
 * and its input, and may also accept a leading task axis.
 */
import type { Rng } from '../random.js';
import type { DType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { checkOptionsObject, describeValue, type OptionKeys } from '../checks.js';
import { fmt } from '../shape.js';

/** Options of {@link Model.init}. */
export interface InitOptions {
  /** Generator of the random draws; default: the library-wide one. */
  rng?: Rng;
  /** Element type of the parameters; default float32. */
  dtype?: DType;
}

const INIT_OPTIONS: OptionKeys<InitOptions> = { rng: true, dtype: true };

/** Throws unless `options` of `${model}.init` are an object of {@link InitOptions}. */
export function checkInitOptions(model: string, options: unknown): void {
  checkOptionsObject(`${model}.init`, options, INIT_OPTIONS, "{ rng: new Rng(0), dtype: 'float64' }");
}

/** What a forward pass may want to know beyond parameters and inputs. */
export interface ForwardContext {
  /**
   * How many inner steps the parameters have taken (0: the meta-parameters themselves). Models
   * with per-step parts (MAML++'s per-step batch-norm weights) use it; others ignore it.
   */
  step?: number;
}

/**
 * A model as a function of its parameters: the form every meta-learner takes.
 *
 * The contract:
 * - **Parameters** are a flat list of tensors, `init()` makes them, and `forward(params, x)`
 *   reads them without mutating them or keeping anything it computes (the learners run it
 *   inside `tidy`, which recycles what a step does not return). Any list works: a learner never
 *   looks inside it.
 * - **Inputs**: whatever the model reads, usually `[n, features]` (an MLP) or `[n, h, w, c]`
 *   (a convolutional net); outputs `[n, outputs]`.
 * - **The task axis** (optional, for speed): a meta-batch of T tasks whose data are stacked as
 *   `[T, n, …]` (a Task with `stacked: T`) runs as one computation with every parameter tiled
 *   to `[T, …shape]` (see `tileParams`); the model must then give `[T, n, outputs]`, task t's
 *   inputs meeting task t's parameters. `mlp` does (batched matmul; its biases are `[1, out]`, so
 *   they stay broadcastable once tiled). A model that does not is given its tasks one at a time:
 *   use unstacked Tasks (`task.split()`).
 */
export interface Model {
  /** Fresh parameters. */
  init(options?: InitOptions): Tensor[];
  /**
   * The output for inputs `x` under `params` (never mutates either). It must keep nothing it
   * computes beyond the call: the meta-learners run it inside `tidy`, which recycles what the
   * step does not return.
   */
  forward(params: readonly Tensor[], x: Tensor, context?: ForwardContext): Tensor;
}

/** Throws a TypeError naming `op` unless `model` has the {@link Model} methods. */
export function checkModel(op: string, model: unknown): void {
  const m = model as Partial<Model> | null;
  if (typeof m !== 'object' || m === null || typeof m.forward !== 'function' || typeof m.init !== 'function') {
    throw new TypeError(`${op}: model must be a Model { init, forward } such as mlp(sizes), got ${describeValue(model)}`);
  }
}

/**
 * `model.forward(params, x)` for a stacked meta-batch of `tasks` tasks (parameters tiled to
 * `[T, …]`, inputs `[T, n, …]`), with the contract's failures named: a forward pass that throws
 * on the task axis, or an output without it.
 */
export function forwardStacked(model: Model, params: readonly Tensor[], x: Tensor, tasks: number, context?: ForwardContext): Tensor {
  let out: Tensor;
  try {
    out = model.forward(params, x, context);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new RangeError(
      `the model failed on a stacked meta-batch of ${tasks} tasks (inputs ${fmt(x.shape)}, parameters tiled to ${params.map((p) => fmt(p.shape)).join(' ')}): ${why}. ` +
        'A model given stacked tasks must accept a leading task axis on its parameters and inputs (see Model); otherwise give it the tasks one at a time (task.split())',
    );
  }
  if (out.shape[0] !== tasks) {
    throw new RangeError(`the model's output ${fmt(out.shape)} on a stacked meta-batch of ${tasks} tasks (inputs ${fmt(x.shape)}) lacks the leading task axis; see Model, or give it the tasks one at a time (task.split())`);
  }
  return out;
}
