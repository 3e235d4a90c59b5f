/**
 * Data movement: broadcasting copies, permutations and copies of slabs along one axis. Every
 * multi-dimensional loop keeps an index counter over the outer axes and runs the innermost axis
 * as a tight loop (or a `set` of a contiguous run).
 */
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../shape.js';
import type { TypedArray } from '../tensor.js';

/**
 * Generic strided copy: `out` (contiguous, shape `shape`) receives `src[offset(idx)]` where the
 * source offset is `Σ idx[d] * srcStrides[d]`.
 */
function stridedCopy(src: TypedArray, srcStrides: readonly number[], shape: Shape, out: TypedArray): void {
  const nd = shape.length;
  if (nd === 0) {
    out[0] = src[0]!;
    return;
  }
  if (out.length === 0) return;
  const tile = tiledBlock(srcStrides, shape);
  if (tile > 0) {
    // Leading axes of stride 0 over a contiguous block: one copy of the block, then doubling.
    out.set(src.subarray(0, tile));
    for (let have = tile; have < out.length; have *= 2) out.copyWithin(have, 0, Math.min(have, out.length - have));
    return;
  }
  const inner = shape[nd - 1]!;
  const innerStride = srcStrides[nd - 1]!;
  const outer = out.length / inner;
  const idx = new Array<number>(nd).fill(0);
  let srcOff = 0;
  let o = 0;
  for (let r = 0; r < outer; r++) {
    if (innerStride === 1 && inner >= 64) {
      out.set(src.subarray(srcOff, srcOff + inner), o);
    } else if (innerStride === 0) {
      out.fill(src[srcOff]!, o, o + inner);
    } else {
      for (let j = 0, s = srcOff; j < inner; j++, s += innerStride) out[o + j] = src[s]!;
    }
    o += inner;
    // advance the counter over the outer axes
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]!++;
      srcOff += srcStrides[d]!;
      if (idx[d]! < shape[d]!) break;
      srcOff -= srcStrides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * If the strides read a contiguous block (trailing axes laid out row-major from offset 0)
 * repeated along leading axes of stride 0, the block's length; otherwise 0.
 */
function tiledBlock(strides: readonly number[], shape: Shape): number {
  let d = shape.length - 1;
  let block = 1;
  while (d >= 0 && (strides[d] === block || shape[d] === 1)) block *= shape[d--]!;
  while (d >= 0 && (strides[d] === 0 || shape[d] === 1)) d--;
  return d < 0 ? block : 0;
}

/** Copies `src` (shape `from`) broadcast to shape `to` into `out`. */
export function broadcastInto(src: TypedArray, from: Shape, to: Shape, out: TypedArray): void {
  if (src.length === 1) {
    out.fill(src[0]!);
    return;
  }
  stridedCopy(src, broadcastStrides(from, to, 'broadcastTo'), to, out);
}

/** `out` = `src` (shape `shape`) with axes permuted: output axis i is input axis perm[i]. */
export function permuteInto(src: TypedArray, shape: Shape, perm: readonly number[], out: TypedArray): void {
  const st = stridesOf(shape);
  stridedCopy(
    src,
    perm.map((p) => st[p]!),
    perm.map((p) => shape[p]!),
    out,
  );
}

/**
 * Views a shape as `[outer, len, inner]` around `axis`: the layout of every slab copy below.
 */
export function splitAt(shape: Shape, axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis]!, sizeOf(shape.slice(axis + 1))];
}

/**
 * Copies, for every outer index, `count * inner` contiguous elements from `src` (slab length
 * `srcLen * inner`, starting at `srcStart * inner`) into `out` (slab length `outLen * inner`,
 * starting at `outStart * inner`). Slicing, padding and concatenation are all this one move.
 */
export function copySlabs(
  src: TypedArray,
  srcLen: number,
  srcStart: number,
  out: TypedArray,
  outLen: number,
  outStart: number,
  count: number,
  outer: number,
  inner: number,
): void {
  const run = count * inner;
  for (let o = 0; o < outer; o++) {
    const s = (o * srcLen + srcStart) * inner;
    out.set(src.subarray(s, s + run), (o * outLen + outStart) * inner);
  }
}
