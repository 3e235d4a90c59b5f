/**
 * The tape. Every op that sees an input requiring gradients records a {@link Node} on its
 * output; node ids grow with creation, so sorting the nodes reachable from an output by id gives
 * the reverse tape order. `grad` walks that order calling each node's derivative rule.
 *
 * Derivative rules are written with the library's own ops. Without `createGraph` they run with
 * recording off: nothing new is taped and (unless `retainGraph`) the traversed nodes drop their
 * inputs and saved tensors, so the step's graph can be garbage-collected. With `createGraph`
 * they run with recording on, so the gradients are themselves on the tape and can be
 * differentiated again, to any order.
 */
import { checkOptionsObject, describeValue, type OptionKeys } from './checks.js';
import { binaryInto, WASM_MIN_ELEMENTS } from './kernels/dispatch.js';
import { addRun } from './kernels/elementwise.js';
import { fmt, shapesEqual } from './shape.js';
import { allocOutput, keepAlive, recycle, trackAllocations } from './storage.js';
import { allocData, setBackwardPass, Tensor, type BackwardOptions, type GraphKey, type Node, type TypedArray, type VjpRule } from './tensor.js';

export type { BackwardOptions };

let gradEnabled = true;
let nextNodeId = 0;

/** Whether ops currently record on the tape. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` with recording off: nothing computed inside is on the tape. */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`noGrad: expected a function, got ${describeValue(fn)}`);
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs `fn` with recording on (undoes an enclosing {@link noGrad}). */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** @internal Whether an op on `a` must be recorded. */
export function tracks1(a: Tensor): boolean {
  return gradEnabled && a.requiresGrad;
}

/** @internal Whether an op on `a` and `b` must be recorded. */
export function tracks2(a: Tensor, b: Tensor): boolean {
  return gradEnabled && (a.requiresGrad || b.requiresGrad);
}

/** @internal Whether an op on `inputs` must be recorded. */
export function tracksAny(inputs: readonly Tensor[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t.requiresGrad) return true;
  return false;
}

/** Which values a derivative rule reads: its inputs' (all, or by position) and its output's. */
export interface Keeps {
  inputs: boolean | readonly boolean[];
  output: boolean;
}

/** @internal The rule reads every input and not the output. */
export const KEEP_INPUTS: Keeps = { inputs: true, output: false };
/** @internal The rule reads shapes only. */
export const KEEP_NOTHING: Keeps = { inputs: false, output: false };
/** @internal The rule reads the output only (exp, tanh, …). */
export const KEEP_OUTPUT: Keeps = { inputs: false, output: true };

/** @internal For a product of x and y: x's value is needed only for y's gradient, and y's for x's. */
export function keepCrossed(x: Tensor, y: Tensor): Keeps {
  return { inputs: [y.requiresGrad, x.requiresGrad], output: false };
}

/** The place of `t` on the tape (see {@link GraphKey}). */
export function keyOf(t: Tensor): GraphKey {
  if (!t.requiresGrad) return { constant: true, shape: t.shape, dtype: t.dtype };
  return t.node ?? t;
}

function requiresGradKey(k: GraphKey): boolean {
  return k instanceof Tensor ? k.requiresGrad : !('constant' in k);
}

function nodeOfKey(k: GraphKey): Node | null {
  return k instanceof Tensor || 'constant' in k ? null : k;
}

/**
 * @internal Records that `out` was computed by `op` from `inputs`; returns `out`. The node keeps
 * the values `keeps` names (and `saved`), nothing else: an input no rule reads can be freed as
 * soon as nothing else holds it. In forward mode it also gives `out` its tangent. `keys`, when
 * given, are the inputs' places on the tape, for an op that computed from a stand-in of equal
 * value (see `batchSource`): its gradients still go to the input it stands for.
 */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], vjp: VjpRule, saved: unknown = null, keeps: Keeps = KEEP_INPUTS, keys?: readonly GraphKey[]): Tensor {
  out.requiresGrad = true;
  const want = keeps.inputs;
  const values = inputs.map((t, i) => (want === true || (want !== false && want[i] === true) ? t : null));
  out.node = { id: nextNodeId++, op, shape: out.shape, dtype: out.dtype, inputs: keys ?? inputs.map(keyOf), values, output: keeps.output ? out : null, saved, vjp };
  if (forwardDepth > 0) carryTangent(out, inputs);
  return out;
}

/**
 * An op's tangent rule (forward mode): the output's tangent from the inputs' tangents (null
 * for an input without one) and the op's values, written with the library's ops.
 */
export type TangentRule = (tangents: readonly (Tensor | null)[], out: Tensor, inputs: readonly Tensor[], node: Node) => Tensor;

const tangentRules = new Map<string, TangentRule>();
let forwardDepth = 0;

/** @internal Registers the tangent rule of the op recorded as `op`. */
export function tangentRule(op: string, rule: TangentRule): void {
  tangentRules.set(op, rule);
}

/**
 * @internal Runs `fn` in forward mode: every recorded op whose inputs carry tangents gives its
 * output the tangent its rule computes (with recording off: tangents carry no tangents).
 */
export function withTangents<T>(fn: () => T): T {
  forwardDepth++;
  try {
    return fn();
  } finally {
    forwardDepth--;
  }
}

function carryTangent(out: Tensor, inputs: readonly Tensor[]): void {
  let any = false;
  for (const t of inputs) if (t.tangent !== null) any = true;
  if (!any) return;
  const node = out.node!;
  const rule = tangentRules.get(node.op);
  if (rule === undefined) throw new Error(`forward mode: the op '${node.op}' has no tangent rule`);
  out.tangent = noGrad(() => rule(inputs.map((t) => t.tangent), out, inputs, node));
}

/** Options of {@link grad}. */
export interface GradOptions {
  /**
   * Record the backward pass on the tape, so the returned gradients can be differentiated
   * again (Hessian-vector products, MAML's meta-gradient). Default false.
   */
  createGraph?: boolean;
  /** Keep the graph after this pass so it can be traversed again. Default: `createGraph`. */
  retainGraph?: boolean;
  /** Return zeros for inputs the outputs do not depend on instead of throwing. Default false. */
  allowUnused?: boolean;
  /** The gradient with respect to each output (the "v" of a vector–Jacobian product). Required for non-scalar outputs; defaults to 1 for scalars. */
  gradOutput?: Tensor | readonly (Tensor | undefined)[];
}


const GRAD_OPTIONS: OptionKeys<GradOptions> = { createGraph: 'flag', retainGraph: 'flag', allowUnused: 'flag', gradOutput: true };
const BACKWARD_OPTIONS: OptionKeys<BackwardOptions> = { createGraph: 'flag', retainGraph: 'flag', gradOutput: true };

/**
 * Gradients of the sum of `outputs` (each weighted by its `gradOutput`) with respect to
 * `inputs`, like `torch.autograd.grad`. Returns one gradient per input, with the input's shape.
 */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor, options?: GradOptions): Tensor;
/** As above, for a list of inputs: one gradient per input, in order. */
export function grad(outputs: Tensor | readonly Tensor[], inputs: readonly Tensor[], options?: GradOptions): Tensor[];
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options: GradOptions = {}): Tensor | Tensor[] {
  const listOf = (v: unknown, what: string): Tensor[] => {
    if (v instanceof Tensor) return [v];
    if (Array.isArray(v)) return [...(v as Tensor[])];
    const hint = typeof v === 'function' && what === 'outputs' ? ' (for the gradient of a function, use valueAndGrad(f)(xs))' : '';
    throw new TypeError(`grad: ${what} must be a Tensor or a list of Tensors, got ${typeof v === 'number' ? v : describeValue(v)}${hint}`);
  };
  const outs = listOf(outputs, 'outputs');
  const ins = listOf(inputs, 'inputs');
  checkOptionsObject('grad', options, GRAD_OPTIONS, '{ createGraph: true }');
  if (ins.length === 0) throw new RangeError('grad: no inputs given');
  ins.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`grad: input ${i} is not a Tensor`);
    if (!t.requiresGrad) throw new Error(`grad: input ${i} (shape ${fmt(t.shape)}) does not require grad; create it with requiresGrad: true`);
  });
  const createGraph = options.createGraph ?? false;
  const targets = new Set(ins.map(keyOf));
  const gradOutputs = normaliseGradOutputs(outs, options.gradOutput, 'grad');
  const result = runTape(outs, gradOutputs, targets, createGraph, options.retainGraph ?? createGraph, 'grad');
  const grads = ins.map((t, i) => {
    const g = result.grads.get(keyOf(t));
    if (g !== undefined) return g;
    if (!result.reached.has(keyOf(t)) && !options.allowUnused) {
      throw new Error(`grad: input ${i} (shape ${fmt(t.shape)}) is not used to compute the output; pass allowUnused: true to get a zero gradient`);
    }
    return new Tensor(allocData(t.dtype, t.size), t.shape);
  });
  return inputs instanceof Tensor ? grads[0]! : grads;
}

/**
 * Back-propagates from `output` and accumulates the gradient into `.grad` of every leaf tensor
 * that requires gradients (like `loss.backward()` in PyTorch).
 */
export function backward(output: Tensor, options: BackwardOptions = {}): void {
  checkOptionsObject('backward', options, BACKWARD_OPTIONS, '{ createGraph: true }');
  const createGraph = options.createGraph ?? false;
  const gradOutputs = normaliseGradOutputs([output], options.gradOutput, 'backward');
  const result = runTape([output], gradOutputs, null, createGraph, options.retainGraph ?? createGraph, 'backward');
  const accumulate = (): void => {
    for (const [t, g] of result.grads) {
      if (t instanceof Tensor && t.node === null) {
        t.grad = t.grad === null ? g : sumGradients(t.grad, g);
        keepAlive(t.grad.data); // a leaf made before an enclosing tidy keeps its .grad
      }
    }
  };
  if (createGraph) accumulate();
  else noGrad(accumulate);
}

function normaliseGradOutputs(outs: Tensor[], given: GradOptions['gradOutput'], caller: string): Tensor[] {
  if (outs.length === 0) throw new RangeError(`${caller}: no outputs given`);
  if (given !== undefined && !(given instanceof Tensor) && !Array.isArray(given)) throw new TypeError(`${caller}: gradOutput must be a Tensor or a list of Tensors, got ${describeValue(given)}`);
  const list = given === undefined ? [] : given instanceof Tensor ? [given] : [...given];
  if (list.length > outs.length) throw new RangeError(`${caller}: ${list.length} gradOutputs given for ${outs.length} outputs`);
  return outs.map((o, i) => {
    if (!(o instanceof Tensor)) throw new TypeError(`${caller}: output ${i} is not a Tensor`);
    if (!o.requiresGrad) {
      throw new Error(`${caller}: output ${i} does not require grad: none of the tensors it was computed from require grad, or it was computed under noGrad`);
    }
    const g = list[i];
    if (g !== undefined && !(g instanceof Tensor)) throw new TypeError(`${caller}: gradOutput ${i} is not a Tensor`);
    if (g === undefined) {
      if (o.size !== 1) throw new Error(`${caller}: output ${i} has shape ${fmt(o.shape)}; a non-scalar output needs gradOutput of the same shape`);
      const one = allocData(o.dtype, 1);
      one[0] = 1;
      return new Tensor(one, o.shape);
    }
    if (!shapesEqual(g.shape, o.shape)) throw new RangeError(`${caller}: gradOutput ${i} has shape ${fmt(g.shape)} but the output has shape ${fmt(o.shape)}`);
    if (g.dtype !== o.dtype) throw new TypeError(`${caller}: gradOutput ${i} is ${g.dtype} but the output is ${o.dtype}`);
    return g;
  });
}

interface TapeResult {
  /** Gradient of every target (or, for `backward`, every leaf) that received one. */
  grads: Map<GraphKey, Tensor>;
  /** Targets (leaves for `backward`) reachable from the outputs. */
  reached: Set<GraphKey>;
}

/**
 * The reverse sweep. `targets` null means "all leaves that require grad" (backward()).
 * Visits only nodes on a path from an output to a target, in decreasing id order.
 */
function runTape(
  outs: Tensor[],
  gradOutputs: Tensor[],
  targets: Set<GraphKey> | null,
  createGraph: boolean,
  retainGraph: boolean,
  caller: string,
): TapeResult {
  const isTarget = (k: GraphKey): boolean => (targets === null ? k instanceof Tensor && k.node === null && k.requiresGrad : targets.has(k));
  // Node ids order the tape, so when every target is a computed tensor, nothing created before
  // the earliest of them can lead to one: the search stops there. This keeps a gradient taken
  // at step i of an inner loop from walking back through steps 1..i-1.
  let minId = -1;
  if (targets !== null && [...targets].every((k) => nodeOfKey(k) !== null)) {
    minId = Math.min(...[...targets].map((k) => nodeOfKey(k)!.id));
  }
  // 1. Depth-first search (iterative: graphs of long inner loops are deep) marking which
  //    tensors lie on a path to a target. `useful` holds the verdict once a tensor is done.
  const useful = new Map<GraphKey, boolean>();
  const expand: Node[] = [];
  const reached = new Set<GraphKey>();
  const stack: GraphKey[] = [];
  const childIdx: number[] = [];
  const roots = outs.map(keyOf);
  for (const root of roots) {
    if (useful.has(root)) continue;
    stack.push(root);
    childIdx.push(0);
    useful.set(root, false);
    while (stack.length > 0) {
      const top = stack.length - 1;
      const t = stack[top]!;
      const node = nodeOfKey(t);
      if (node !== null && node.vjp === null) {
        throw new Error(`${caller}: the graph through '${node.op}' was already freed by an earlier backward pass; pass retainGraph: true (or createGraph: true) to the earlier call to traverse it again`);
      }
      const inputs = node === null ? [] : node.inputs;
      const i = childIdx[top]!;
      if (i < inputs.length) {
        childIdx[top] = i + 1;
        const c = inputs[i]!;
        const cn = nodeOfKey(c);
        if (requiresGradKey(c) && !useful.has(c) && (minId < 0 || (cn !== null && cn.id >= minId) || isTarget(c))) {
          useful.set(c, false);
          stack.push(c);
          childIdx.push(0);
        }
        continue;
      }
      stack.pop();
      childIdx.pop();
      let below = false;
      for (const c of inputs) if (useful.get(c) === true) below = true;
      const target = isTarget(t);
      if (target) reached.add(t);
      useful.set(t, target || below);
      // Only a node with an input on a path to a target needs its rule run; a target's own
      // node is not run (nor freed) unless something below it is wanted too.
      if (below) expand.push(node!);
    }
  }

  // 2. The sweep, latest node first.
  const order = expand.sort((a, b) => b.id - a.id);
  const grads = new Map<GraphKey, Tensor>();
  // Without createGraph nothing the sweep computes is on the tape, so a gradient it allocated
  // is dead once consumed (its node's rule has run, or it has been summed into another) unless
  // a gradient still held shares its array: such arrays go back to the pool (storage.ts).
  // Targets' gradients stay held to the end, and arrays from before the sweep (the caller's
  // gradOutput) are never fresh, so neither is ever recycled.
  const sweep = (fresh: WeakSet<TypedArray> | null): void => {
    const release = (a: TypedArray): void => {
      if (fresh === null || !fresh.has(a)) return;
      for (const h of grads.values()) if (h.data === a || (h.data.byteLength > 64 && h.data.buffer === a.buffer)) return;
      fresh.delete(a);
      recycle(a);
    };
    roots.forEach((o, i) => {
      const prev = grads.get(o);
      grads.set(o, prev === undefined ? gradOutputs[i]! : sumGradients(prev, gradOutputs[i]!));
    });
    for (const node of order) {
      const g = grads.get(node);
      if (g === undefined) continue;
      const keep = isTarget(node);
      if (!keep) grads.delete(node);
      const needs = node.inputs.map((c) => requiresGradKey(c) && useful.get(c) === true);
      const gin = node.vjp!(g, node.output as Tensor, node, needs);
      // Released once every input has its gradient: a rule may hand one array to several
      // inputs (add passes its gradient to both), and one summed into the first input's
      // gradient is still the second's.
      const consumed: TypedArray[] = [];
      for (let k = 0; k < node.inputs.length; k++) {
        const gi = gin[k];
        if (!needs[k] || gi === null || gi === undefined) continue;
        const c = node.inputs[k]!;
        if (!shapesEqual(gi.shape, c.shape)) {
          throw new Error(`internal: derivative rule of '${node.op}' returned shape ${fmt(gi.shape)} for input ${k} of shape ${fmt(c.shape)}`);
        }
        const prev = grads.get(c);
        if (prev === undefined) {
          grads.set(c, gi);
        } else {
          grads.set(c, sumGradients(prev, gi));
          consumed.push(prev.data, gi.data);
        }
      }
      if (!keep) consumed.push(g.data);
      for (const a of consumed) release(a);
    }
  };
  if (createGraph) enableGrad(() => sweep(null));
  else noGrad(() => trackAllocations(sweep));

  // Free what this sweep executed (not the graph beyond the targets, which a later call may
  // still need): the nodes drop their inputs and saved tensors, so nothing keeps them alive.
  if (!retainGraph) {
    for (const node of order) {
      node.inputs = [];
      node.values = [];
      node.output = null;
      node.saved = null;
      node.vjp = null;
    }
  }
  return { grads, reached };
}

/**
 * `a + b` for two gradients of one tensor (same shape and dtype), with the add kernel: the tape
 * accumulates gradients itself rather than through an op. Its rule hands the incoming gradient
 * to both terms, so accumulated gradients stay differentiable.
 */
function sumGradients(a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype || !shapesEqual(a.shape, b.shape)) {
    throw new TypeError(`gradient accumulation: gradients of one tensor differ: ${a.dtype} ${fmt(a.shape)} and ${b.dtype} ${fmt(b.shape)} (a derivative rule returned a gradient of the wrong shape or dtype)`);
  }
  const out = allocOutput(a.dtype, a.size);
  if (out.length >= WASM_MIN_ELEMENTS) binaryInto('add', a.data, [1], b.data, [1], [out.length], out);
  else addRun(a.data, 0, 1, b.data, 0, 1, out, 0, out.length);
  const sum = new Tensor(out, a.shape);
  return tracks2(a, b) ? record(sum, 'add', [a, b], sumGradientsVjp, null, KEEP_NOTHING) : sum;
}
const sumGradientsVjp: VjpRule = (g, _out, _node, needs) => [needs[0] ? g : null, needs[1] ? g : null];

setBackwardPass(backward);
