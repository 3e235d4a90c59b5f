/**
 * Elementwise loops over typed arrays. One explicit loop per function (no per-element callbacks):
 * these sit on the hot path of every op. `out` may alias an input.
 */
import type { TypedArray } from '../tensor.js';

export function addInto(a: TypedArray, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! + b[i]!;
}
export function subInto(a: TypedArray, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! - b[i]!;
}
export function mulInto(a: TypedArray, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! * b[i]!;
}
export function divInto(a: TypedArray, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! / b[i]!;
}

/** `out[i] = a[i] + s * b[i]` (the SGD update and similar). */
export function axpyInto(a: TypedArray, s: number, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! + s * b[i]!;
}

export function negInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = -x[i]!;
}
export function scaleInto(x: TypedArray, s: number, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = s * x[i]!;
}
export function squareInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = x[i]! * x[i]!;
}
export function powInto(x: TypedArray, p: number, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.pow(x[i]!, p);
}
export function sqrtInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(x[i]!);
}
export function expInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(x[i]!);
}
export function logInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.log(x[i]!);
}
export function absInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.abs(x[i]!);
}
export function signInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i]!;
    out[i] = v > 0 ? 1 : v < 0 ? -1 : 0;
  }
}
export function tanhInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.tanh(x[i]!);
}
export function sigmoidInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i]!;
    // Stable on both sides: never exponentiates a large positive number.
    if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
    else {
      const e = Math.exp(v);
      out[i] = e / (1 + e);
    }
  }
}
export function softplusInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i]!;
    out[i] = Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
  }
}
export function reluInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i]!;
    out[i] = v > 0 ? v : 0;
  }
}
export function leakyReluInto(x: TypedArray, slope: number, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i]!;
    out[i] = v > 0 ? v : slope * v;
  }
}
/** `out[i] = x[i] > 0 ? 1 : low`: the derivative mask of relu (low 0) and leaky relu. */
export function stepInto(x: TypedArray, low: number, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = x[i]! > 0 ? 1 : low;
}

/** Comparison masks (1 where true, 0 elsewhere) on same-length arrays. */
export function greaterInto(a: TypedArray, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! > b[i]! ? 1 : 0;
}
export function equalInto(a: TypedArray, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! === b[i]! ? 1 : 0;
}

/** `out[i] = cond[i] !== 0 ? a[i] : b[i]`. */
export function whereInto(cond: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = cond[i] !== 0 ? a[i]! : b[i]!;
}
