/**
 * Reductions. `sumAxesInto` handles any set of axes by collapsing runs of kept / reduced axes
 * and running the innermost run as a tight loop; the single-axis reductions (max, min,
 * logsumexp) work on the `[outer, n, inner]` view of the input.
 */
import type { Shape } from '../shape.js';
import type { TypedArray } from '../dtype.js';

/** Sums `x` (shape `shape`) over `axes` (sorted, distinct) into `out` (kept axes, row-major). */
/**
 * A reduction's shape in its simplest form: length-1 axes dropped and adjacent axes of the same
 * kind (reduced or kept) merged. `lens[i]` is a merged length, `red[i]` whether it is reduced.
 */
export function collapseAxes(shape: Shape, axes: readonly number[]): { lens: number[]; red: boolean[] } {
  const lens: number[] = [];
  const red: boolean[] = [];
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const r = axes.includes(d);
    if (lens.length > 0 && red[red.length - 1] === r) lens[lens.length - 1]! *= n;
    else {
      lens.push(n);
      red.push(r);
    }
  }
  return { lens, red };
}

export function sumAxesInto(x: TypedArray, shape: Shape, axes: readonly number[], out: TypedArray): void {
  out.fill(0);
  if (x.length === 0) return;
  const { lens, red } = collapseAxes(shape, axes);
  const m = lens.length;
  if (m === 0) {
    out[0] = x[0]!;
    return;
  }
  // Output strides of the collapsed axes (0 for reduced ones).
  const ost = new Array<number>(m).fill(0);
  let acc = 1;
  for (let d = m - 1; d >= 0; d--) {
    if (!red[d]) {
      ost[d] = acc;
      acc *= lens[d]!;
    }
  }
  const inner = lens[m - 1]!;
  const innerRed = red[m - 1]!;
  const outer = x.length / inner;
  const idx = new Array<number>(m).fill(0);
  let o = 0;
  let i = 0;
  for (let r = 0; r < outer; r++) {
    if (innerRed) {
      let s = 0;
      for (let j = 0; j < inner; j++) s += x[i + j]!;
      out[o] = out[o]! + s;
    } else {
      for (let j = 0; j < inner; j++) out[o + j] = out[o + j]! + x[i + j]!;
    }
    i += inner;
    for (let d = m - 2; d >= 0; d--) {
      idx[d]!++;
      o += ost[d]!;
      if (idx[d]! < lens[d]!) break;
      o -= ost[d]! * lens[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * Max (sign 1) or min (sign -1) over the middle axis of `[outer, n, inner]`: values into `out`,
 * the position of the first extremum into `arg`.
 */
export function extremumInto(x: TypedArray, outer: number, n: number, inner: number, sign: 1 | -1, out: TypedArray, arg: Int32Array): void {
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let j = 0; j < inner; j++) {
      let best = x[base + j]! * sign;
      let bi = 0;
      for (let k = 1; k < n; k++) {
        const v = x[base + k * inner + j]! * sign;
        if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
          best = v;
          bi = k;
        }
      }
      out[o * inner + j] = best * sign;
      arg[o * inner + j] = bi;
    }
  }
}

/** Numerically stable log Σ exp over the middle axis of `[outer, n, inner]`. */
export function logsumexpInto(x: TypedArray, outer: number, n: number, inner: number, out: TypedArray): void {
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let j = 0; j < inner; j++) {
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, x[base + k * inner + j]!);
      if (m === -Infinity || !Number.isFinite(m)) {
        out[o * inner + j] = m;
        continue;
      }
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(x[base + k * inner + j]! - m);
      out[o * inner + j] = m + Math.log(s);
    }
  }
}
