/**
 * Matrix product `op(a)·op(b)` where `op` optionally transposes the last two axes, with NumPy
 * broadcasting over leading (batch) axes. Transposes are flags, not copies: the derivative rules
 * below need the transposed products, and the kernels compute them directly.
 *
 * With C = A'·B' (A' = op(A), B' = op(B)) and upstream gradient G:
 *   dA' = G·B'ᵀ and dB' = A'ᵀ·G, then transposed back where op transposed.
 */
import { keepCrossed, record, tangentRule, tracks2 } from '../autograd.js';
import { gemmBatched } from '../kernels/gemm.js';
import { broadcastShapes, broadcastStrides, fmt, sizeOf, type Shape } from '../shape.js';
import { allocOutput, Tensor, type VjpRule } from '../tensor.js';
import { add } from './binary.js';
import { reshape, sumTo } from './layout.js';

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
  const ar = a.shape[a.ndim - 2]!, ac = a.shape[a.ndim - 1]!;
  const br = b.shape[b.ndim - 2]!, bc = b.shape[b.ndim - 1]!;
  const m = transA ? ac : ar, k = transA ? ar : ac;
  const kb = transB ? bc : br, n = transB ? br : bc;
  if (k !== kb) {
    throw new RangeError(
      `matmul: inner dimensions differ: ${fmt(a.shape)}${transA ? 'ᵀ' : ''} · ${fmt(b.shape)}${transB ? 'ᵀ' : ''} (${k} vs ${kb})`,
    );
  }
  let t: Tensor;
  if (a.ndim === 2 && b.ndim === 2) {
    // The common case, without the batch bookkeeping (a few hundred ns of a 3 µs [10×40]·[40×40]).
    const out = allocOutput(a.dtype, m * n);
    gemmBatched(a.data, SINGLE, b.data, SINGLE, out, 1, m, n, k, transA, transB);
    t = new Tensor(out, [m, n]);
  } else {
    const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
    const batchShape = broadcastShapes(batchA, batchB, 'matmul');
    const batch = sizeOf(batchShape);
    const aOffs = batchOffsets(batchA, batchShape, ar * ac);
    const bOffs = batchOffsets(batchB, batchShape, br * bc);
    const out = allocOutput(a.dtype, batch * m * n);
    gemmBatched(a.data, aOffs, b.data, bOffs, out, batch, m, n, k, transA, transB);
    t = new Tensor(out, [...batchShape, m, n]);
  }
  return tracks2(a, b) ? record(t, 'matmul', [a, b], matmulVjp, [transA, transB], keepCrossed(a, b)) : t;
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
  const [tA, tB] = node.saved as [boolean, boolean];
  // dA' = G·B'ᵀ; if A' = Aᵀ then dA = (G·B'ᵀ)ᵀ = B'·Gᵀ.
  const da = needs[0] ? sumTo(tA ? matmul(b!, g, tB, true) : matmul(g, b!, false, !tB), node.inputs[0]!.shape) : null;
  return [da, needs[1] ? sharedOperandGrad(a!, node.inputs[1]!.shape, g, tA, tB) : null];
};

/**
 * dB. dB' = A'ᵀ·G, and if B' = Bᵀ then dB = Gᵀ·A'. When one matrix B serves a whole batch of
 * untransposed A (x·W with x [..., m, k]), Σᵢ Aᵢᵀ·Gᵢ is a single product of the stacked rows,
 * [rows, k]ᵀ·[rows, n], rather than a batch of small products summed afterwards.
 */
function sharedOperandGrad(a: Tensor, bShape: Shape, g: Tensor, tA: boolean, tB: boolean): Tensor {
  if (bShape.length === 2 && a.ndim > 2 && !tA && a.shape[a.ndim - 1]! > 0) {
    const k = a.shape[a.ndim - 1]!, n = g.shape[g.ndim - 1]!;
    const rows = a.size / k;
    const a2 = reshape(a, [rows, k]), g2 = reshape(g, [rows, n]);
    return tB ? matmul(g2, a2, true, false) : matmul(a2, g2, true, false);
  }
  return sumTo(tB ? matmul(g, a, true, tA) : matmul(a, g, !tA, false), bShape);
}

// Tangent rule (forward mode): the product rule, d(AB) = dA·B + A·dB.
tangentRule('matmul', ([ta, tb], _out, [a, b], node) => {
  const [transA, transB] = node.saved as [boolean, boolean];
  const left = ta === null ? null : matmul(ta, b!, transA, transB);
  const right = tb === null ? null : matmul(a!, tb, transA, transB);
  return left === null ? right! : right === null ? left : add(left, right);
});
