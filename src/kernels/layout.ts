/**
 * Data movement: broadcasting copies, permutations and copies of slabs along one axis. Every
 * multi-dimensional loop keeps an index counter over the outer axes and runs the innermost axis
 * as a tight loop (or a `set` of a contiguous run).
 */
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../shape.js';
import type { TypedArray } from '../dtype.js';

/**
 * Generic strided copy: `out` (contiguous, shape `shape`) receives `src[offset(idx)]` where the
 * source offset is `Σ idx[d] * srcStrides[d]`.
 *
 * Broadcasts are fast: the trailing axes that read a contiguous block of the source, and the
 * stride-0 axes just outside them, become one block copied once and then doubled in place
 * (`copyWithin`), so [40] → [25,10,40] or [25,1,40] → [25,10,40] move no element by loop.
 */
function stridedCopy(src: TypedArray, srcStrides: readonly number[], shape: Shape, out: TypedArray): void {
  const nd = shape.length;
  if (nd === 0) {
    out[0] = src[0]!;
    return;
  }
  if (out.length === 0) return;
  let d = nd - 1;
  let block = 1;
  while (d >= 0 && (srcStrides[d] === block || shape[d] === 1)) block *= shape[d--]!;
  let rep = 1;
  while (d >= 0 && (srcStrides[d] === 0 || shape[d] === 1)) rep *= shape[d--]!;
  if (block > 1 || rep > 1) {
    // Axes 0..d remain: iterate over them, one (block × rep) run each.
    const run = block * rep;
    forEachOffset(srcStrides, shape, d, out.length / run, (srcOff, o) => {
      if (block >= 64) out.set(src.subarray(srcOff, srcOff + block), o);
      else for (let j = 0; j < block; j++) out[o + j] = src[srcOff + j]!;
      for (let have = block; have < run; have *= 2) out.copyWithin(o + have, o, o + Math.min(have, run - have));
    });
    return;
  }
  // No contiguous block (a permutation moving the last axis): element by element.
  const inner = shape[nd - 1]!;
  const innerStride = srcStrides[nd - 1]!;
  forEachOffset(srcStrides, shape, nd - 2, out.length / inner, (srcOff, o) => {
    for (let j = 0, s = srcOff; j < inner; j++, s += innerStride) out[o + j] = src[s]!;
  });
}

/**
 * Calls `body(srcOffset, outOffset)` for each of the `count` index combinations of axes
 * 0..last (row-major), where each call's output run is `out.length / count` long.
 */
function forEachOffset(srcStrides: readonly number[], shape: Shape, last: number, count: number, body: (srcOff: number, o: number) => void): void {
  const run = count === 0 ? 0 : sizeOf(shape.slice(last + 1));
  const idx = new Array<number>(last + 1).fill(0);
  let srcOff = 0;
  for (let r = 0, o = 0; r < count; r++, o += run) {
    body(srcOff, o);
    for (let a = last; a >= 0; a--) {
      idx[a]!++;
      srcOff += srcStrides[a]!;
      if (idx[a]! < shape[a]!) break;
      srcOff -= srcStrides[a]! * shape[a]!;
      idx[a] = 0;
    }
  }
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
