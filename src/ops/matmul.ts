/**
 * Matrix product `op(a)·op(b)` where `op` optionally transposes the last two axes, with NumPy
 * broadcasting over leading (batch) axes. Transposes are flags, not copies: the derivative rules
 * below need the transposed products, and the kernels compute them directly.
 *
 * With C = A'·B' (A' = op(A), B' = op(B)) and upstream gradient G:
 *   dA' = G·B'ᵀ and dB' = A'ᵀ·G, then transposed back where op transposed.
 */
import { keepCrossed, keyOf, record, tangentRule, tracks2 } from '../autograd.js';
import { gemmBatched } from '../kernels/gemm.js';
import { broadcastShapes, broadcastStrides, fmt, sizeOf, type Shape } from '../shape.js';
import { allocOutput, Tensor, type GraphKey, type VjpRule } from '../tensor.js';
import { add } from './binary.js';
import { batchSource, reshape, sumTo } from './layout.js';

/**
 * `op(a)·op(b)` for tensors of at least 2 dimensions. `a` is `[..., m, k]` (`[..., k, m]` with
 * `transA`), `b` is `[..., k, n]` (`[..., n, k]` with `transB`); the result is `[..., m, n]`.
 */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw new TypeError('matmul: both operands must be Tensors');
  // An options object where the flags go would be truthy and silently transpose a.
  if (typeof transA !== 'boolean' || typeof transB !== 'boolean') throw new TypeError(`matmul: transA and transB must be booleans (matmul(a, b, transA, transB)), got ${typeof transA} and ${typeof transB}`);
  if (a.dtype !== b.dtype) throw new TypeError(`matmul: dtype mismatch: ${a.dtype} and ${b.dtype} (convert one with astype)`);
  if (a.ndim < 2 || b.ndim < 2) {
    throw new RangeError(`matmul: both operands need at least 2 dimensions, got ${fmt(a.shape)} and ${fmt(b.shape)} (reshape vectors to [1,n] or [n,1])`);
  }
  const k = a.shape[a.ndim - (transA ? 2 : 1)]!, kb = b.shape[b.ndim - (transB ? 1 : 2)]!;
  if (k !== kb) {
    throw new RangeError(
      `matmul: inner dimensions differ: ${fmt(a.shape)}${transA ? 'ᵀ' : ''} · ${fmt(b.shape)}${transB ? 'ᵀ' : ''} (${k} vs ${kb})`,
    );
  }
  return product(operand(a), operand(b), transA, transB);
}

/**
 * An operand as a product reads it: `value`, the tensor whose elements it reads, and `key` and
 * `shape`, the tensor it stands for on the tape. They differ for a batch broadcast (a
 * task-tiled weight), read through its source so that every batch entry shares one matrix and
 * the tiled copy is kept by no rule; its gradient still goes to the broadcast.
 */
interface Operand {
  value: Tensor;
  key: GraphKey;
  shape: Shape;
}

function operand(t: Tensor): Operand {
  return { value: batchSource(t) ?? t, key: keyOf(t), shape: t.shape };
}

/** Whether the operand reads the tensor it stands for (gradients need no rerouting). */
function readsItself(o: Operand): boolean {
  return !o.value.requiresGrad || (o.value.node ?? o.value) === o.key;
}

/** `op(A)·op(B)` on checked operands (see {@link Operand}). */
function product(A: Operand, B: Operand, transA: boolean, transB: boolean): Tensor {
  const a = A.value, b = B.value;
  const ar = A.shape[A.shape.length - 2]!, ac = A.shape[A.shape.length - 1]!;
  const br = B.shape[B.shape.length - 2]!, bc = B.shape[B.shape.length - 1]!;
  const m = transA ? ac : ar, k = transA ? ar : ac;
  const n = transB ? br : bc;
  let t: Tensor;
  let own = true;
  if (A.shape.length === 2 && B.shape.length === 2) {
    // The common case, without the batch bookkeeping (a few hundred ns of a 3 µs [10×40]·[40×40]).
    const out = allocOutput(a.dtype, m * n);
    gemmBatched(a.data, SINGLE, b.data, SINGLE, out, 1, m, n, k, transA, transB, false);
    t = new Tensor(out, [m, n]);
  } else {
    const batchShape = broadcastShapes(A.shape.slice(0, -2), B.shape.slice(0, -2), 'matmul');
    const batch = sizeOf(batchShape);
    const aOffs = batchOffsets(a.shape.slice(0, -2), batchShape, ar * ac);
    const bOffs = batchOffsets(b.shape.slice(0, -2), batchShape, br * bc);
    const out = allocOutput(a.dtype, batch * m * n);
    // A stand-in's batch is computed entry by entry, as its tiled copies would be.
    own = readsItself(A) && readsItself(B);
    gemmBatched(a.data, aOffs, b.data, bOffs, out, batch, m, n, k, transA, transB, own);
    t = new Tensor(out, [...batchShape, m, n]);
  }
  if (!tracks2(a, b)) return t;
  return record(t, 'matmul', [a, b], matmulVjp, [transA, transB], keepCrossed(a, b), own ? undefined : [A.key, B.key]);
}

/** Batch offsets of a single product (read-only). */
const SINGLE = new Int32Array(1);

/** Element offset of each batch matrix of a tensor with batch axes `from` broadcast to `to`. */
function batchOffsets(from: readonly number[], to: readonly number[], matSize: number): Int32Array {
  const count = sizeOf(to);
  const offs = new Int32Array(count);
  if (count <= 1 || sizeOf(from) <= 1) return offs; // every product uses matrix 0
  if (from.length === to.length && from.every((d, i) => d === to[i])) {
    for (let i = 0; i < count; i++) offs[i] = i * matSize; // no broadcasting: matrices in order
    return offs;
  }
  const strides = broadcastStrides(from, to, 'matmul');
  const idx = new Array<number>(to.length).fill(0);
  let off = 0;
  for (let i = 0; i < count; i++) {
    offs[i] = off * matSize;
    for (let d = to.length - 1; d >= 0; d--) {
      idx[d]!++;
      off += strides[d]!;
      if (idx[d]! < to[d]!) break;
      off -= strides[d]! * to[d]!;
      idx[d] = 0;
    }
  }
  return offs;
}

const matmulVjp: VjpRule = (g, _o, node, needs) => {
  const [a, b] = node.values;
  const [ka, kb] = node.inputs as [GraphKey, GraphKey];
  const [tA, tB] = node.saved as [boolean, boolean];
  const G = operand(g);
  // dA' = G·B'ᵀ; if A' = Aᵀ then dA = (G·B'ᵀ)ᵀ = B'·Gᵀ.
  const B = { value: b!, key: kb, shape: kb.shape };
  const da = needs[0] ? sumTo(tA ? product(B, G, tB, true) : product(G, B, false, !tB), ka.shape) : null;
  return [da, needs[1] ? sharedOperandGrad({ value: a!, key: ka, shape: ka.shape }, kb.shape, G, tA, tB) : null];
};

/**
 * dB. dB' = A'ᵀ·G, and if B' = Bᵀ then dB = Gᵀ·A'. When one matrix B serves a whole batch of
 * untransposed A (x·W with x [..., m, k]), Σᵢ Aᵢᵀ·Gᵢ is a single product of the stacked rows,
 * [rows, k]ᵀ·[rows, n], rather than a batch of small products summed afterwards.
 */
function sharedOperandGrad(A: Operand, bShape: Shape, G: Operand, tA: boolean, tB: boolean): Tensor {
  const a = A.value, g = G.value;
  if (bShape.length === 2 && a.ndim > 2 && !tA && a.shape[a.ndim - 1]! > 0 && readsItself(A) && readsItself(G)) {
    const k = a.shape[a.ndim - 1]!, n = g.shape[g.ndim - 1]!;
    const rows = a.size / k;
    const a2 = reshape(a, [rows, k]), g2 = reshape(g, [rows, n]);
    return tB ? matmul(g2, a2, true, false) : matmul(a2, g2, true, false);
  }
  return sumTo(tB ? product(G, A, true, tA) : product(A, G, !tA, false), bShape);
}

// Tangent rule (forward mode): the product rule, d(AB) = dA·B + A·dB.
tangentRule('matmul', ([ta, tb], _out, [a, b], node) => {
  const [transA, transB] = node.saved as [boolean, boolean];
  const left = ta === null ? null : matmul(ta, b!, transA, transB);
  const right = tb === null ? null : matmul(a!, tb, transA, transB);
  return left === null ? right! : right === null ? left : add(left, right);
});
