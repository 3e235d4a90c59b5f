/**
 * The Tensor value: an immutable N-d array (contiguous, row-major) of float32 or float64, plus
 * its place on the tape. Ops never mutate a tensor's data; they return new tensors. A tensor
 * computed from inputs that require gradients records a {@link Node}: the op's name, its inputs,
 * what its derivative rule saved, and the rule itself.
 */
import { fmt, sizeOf, type Shape } from './shape.js';
import { describeValue } from './checks.js';

import type { DType, TypedArray } from './dtype.js';

export type { DType, TypedArray } from './dtype.js';
/** Nested arrays of numbers, as returned by {@link Tensor.toArray}. */
export type NestedArray = number | NestedArray[];

/**
 * A derivative rule (vector–Jacobian product). Given the gradient `g` with respect to the op's
 * output, returns the gradient with respect to each input (or null where `needs[i]` is false).
 * The values it reads are those its op kept: `node.values[i]` for input i, `out` for the output
 * (see `record`). Rules are written with differentiable ops, so running them while recording puts
 * the gradient itself on the tape: that is what makes gradients of gradients work.
 */
export type VjpRule = (g: Tensor, out: Tensor, node: Node, needs: readonly boolean[]) => readonly (Tensor | null)[];

/** An input that did not require gradients when the op ran: only its shape and dtype. */
export interface Constant {
  readonly constant: true;
  readonly shape: Shape;
  readonly dtype: DType;
}

/**
 * A tensor's place on the tape, without its values: a leaf that requires gradients (the tensor
 * itself), the {@link Node} of a computed tensor, or a {@link Constant}. Nodes point at their
 * inputs through these, so a node keeps alive only the values its rule reads.
 */
export type GraphKey = Tensor | Node | Constant;

/** One entry of the tape: how a tensor was computed. */
export interface Node {
  /** Creation order; a later node never feeds an earlier one, so ids order the tape. */
  readonly id: number;
  /** The op's name, for error messages and debugging. */
  readonly op: string;
  /** The output's shape and dtype (its values are kept only if the rule reads them: `output`). */
  readonly shape: Shape;
  readonly dtype: DType;
  /** The op's inputs, as places on the tape (emptied once the graph is freed). */
  inputs: readonly GraphKey[];
  /** The input values the rule reads, by position; null for those it does not. */
  values: readonly (Tensor | null)[];
  /** The output, if the rule reads it. */
  output: Tensor | null;
  /** Whatever else the derivative rule needs (axes, flags, masks). */
  saved: unknown;
  /** The derivative rule; null once the graph has been freed after a backward pass. */
  vjp: VjpRule | null;
}

export { allocData, allocOutput } from './storage.js';

/** Options of `backward` and {@link Tensor.backward}. */
export interface BackwardOptions {
  /** Record the backward pass, so the gradients can be differentiated again. */
  createGraph?: boolean;
  /** Keep the graph for another backward pass (default: as `createGraph`). */
  retainGraph?: boolean;
  /** The gradient of the output (required for a non-scalar output). */
  gradOutput?: Tensor;
}

/** The tape's backward pass, which autograd.ts installs when it loads (the tape knows the Tensor; the Tensor need not know the tape). */
let backwardPass: ((output: Tensor, options: BackwardOptions) => void) | null = null;

/** @internal Installs the tape's backward pass for {@link Tensor.backward}. */
export function setBackwardPass(fn: (output: Tensor, options: BackwardOptions) => void): void {
  backwardPass = fn;
}

/**
 * An immutable N-d array of float32 or float64 with its place on the autodiff tape. Make one with
 * `tensor`, `zeros`, `randn` and the other creation functions; every op returns a new one.
 */
export class Tensor {
  /**
   * The elements in row-major order. Treat as read-only: tensors are values. It may be a view
   * into a larger buffer (small tensors share slabs, see `setSlabAllocation`): read it through
   * the array itself, or use its `byteOffset` and `byteLength` with `data.buffer`.
   */
  readonly data: TypedArray;
  /** Length of each axis. */
  readonly shape: Shape;
  /** Element type: 'float32' or 'float64'. */
  readonly dtype: DType;
  /** Whether gradients flow to (leaf) or through (computed) this tensor. */
  requiresGrad: boolean;
  /** How this tensor was computed, or null for a leaf / constant. @internal */
  node: Node | null;
  /** Accumulated gradient of a leaf after {@link Tensor.backward}. */
  grad: Tensor | null = null;
  /** The directional derivative forward mode carries with this tensor (`jvp`, `hvp`), or null. @internal */
  tangent: Tensor | null = null;

  /**
   * Low-level constructor: wraps `data` (not copied) with `shape`, which must describe exactly
   * `data.length` elements. Prefer the creation functions (`tensor`, `zeros`, `randn`, ...),
   * which also take plain and nested arrays.
   */
  constructor(data: TypedArray, shape: Shape, requiresGrad = false, node: Node | null = null) {
    // Checked here, in a few nanoseconds, rather than met later as a kernel reading past the end.
    if (!(data instanceof Float32Array) && !(data instanceof Float64Array)) {
      throw new TypeError(`Tensor: data must be a Float32Array or Float64Array, got ${Array.isArray(data) ? 'an array (use tensor(values) for plain arrays)' : String((data as { constructor?: { name?: string } } | null)?.constructor?.name ?? data)}`);
    }
    let n = 1;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i]!;
      if (!(Number.isInteger(d) && d >= 0)) throw new RangeError(`Tensor: invalid shape [${shape.join(',')}]: every axis length must be a non-negative integer`);
      n *= d;
    }
    if (n !== data.length) throw new RangeError(`Tensor: shape [${shape.join(',')}] needs ${n} elements, but data has ${data.length}`);
    this.data = data;
    this.shape = shape;
    this.dtype = data instanceof Float64Array ? 'float64' : 'float32';
    this.requiresGrad = requiresGrad;
    this.node = node;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of axes. */
  get ndim(): number {
    return this.shape.length;
  }

  /** True for a tensor the user created (no recorded op). */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new RangeError(`item: tensor of shape ${fmt(this.shape)} has ${this.data.length} elements, expected exactly 1`);
    return this.data[0]!;
  }

  /** The elements as nested arrays (a plain number for a 0-d tensor). */
  toArray(): NestedArray {
    const { data, shape } = this;
    if (shape.length === 0) return data[0]!;
    const build = (axis: number, offset: number): NestedArray[] => {
      const n = shape[axis]!;
      const stride = sizeOf(shape.slice(axis + 1));
      const out: NestedArray[] = new Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = axis === shape.length - 1 ? data[offset + i]! : build(axis + 1, offset + i * stride);
      }
      return out;
    };
    return build(0, 0);
  }

  /** A tensor sharing this one's data but cut from the tape (no gradient flows through it). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** Marks this leaf as requiring gradients (in place) and returns it. */
  requireGrad(flag = true): this {
    if (this.node !== null) throw new Error(`requireGrad: only leaf tensors can change requiresGrad; this tensor was computed by '${this.node.op}' (use detach() first)`);
    this.requiresGrad = flag;
    return this;
  }

  /**
   * Back-propagates from this tensor and accumulates into `.grad` of every leaf that requires
   * gradients. A non-scalar tensor needs `gradOutput`. See {@link BackwardOptions}.
   */
  backward(gradOutput?: Tensor, options: BackwardOptions = {}): void {
    if (backwardPass === null) throw new Error("Tensor.backward: the tape is not loaded; import 'metagrad', not its tensor module alone");
    backwardPass(this, { ...options, gradOutput });
  }

  /**
   * A short description: shape, dtype, and the elements (up to 64), e.g. `Tensor([3], float32:
   * [1,1,NaN])`. NaN and ±Infinity are shown as such (JSON would show null, hiding a divergence).
   */
  toString(): string {
    const nonFinite = (_: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
    const body = this.size <= 64 ? JSON.stringify(this.toArray(), nonFinite).replace(/"(NaN|-?Infinity)"/g, '$1') : `${this.size} elements`;
    return `Tensor(${fmt(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''}: ${body})`;
  }
}

/**
 * Throws a TypeError unless `x` is a Tensor, naming the op and, for ops of several tensors,
 * the argument (`name`): an array or a number there would otherwise fail deep inside the op.
 */
export function expectTensor(x: unknown, op: string, name?: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) {
    const got = Array.isArray(x) ? 'an array (make it a tensor with tensor(values))' : describeValue(x);
    throw new TypeError(`${op}: ${name === undefined ? 'the input' : name} must be a Tensor, got ${got}`);
  }
}
