/**
 * Elementwise loops over typed arrays. One explicit loop per function (no per-element callbacks):
 * these sit on the hot path of every op. `out` may alias an input.
 */
import type { TypedArray } from '../dtype.js';

/**
 * Binary loops over one run: `out[o + j] = a[ai + j·as] ∘ b[bi + j·bs]` for j < n, with each
 * input stride 1 (contiguous) or 0 (a broadcast scalar). Same-shape ops are one run; broadcasting
 * ops are one run per row (see `binaryBroadcast`).
 */
export type BinaryRun = (a: TypedArray, ai: number, as: number, b: TypedArray, bi: number, bs: number, out: TypedArray, o: number, n: number) => void;

export const addRun: BinaryRun = (a, ai, as, b, bi, bs, out, o, n) => {
  for (let j = 0; j < n; j++) out[o + j] = a[ai + j * as]! + b[bi + j * bs]!;
};
export const subRun: BinaryRun = (a, ai, as, b, bi, bs, out, o, n) => {
  for (let j = 0; j < n; j++) out[o + j] = a[ai + j * as]! - b[bi + j * bs]!;
};
export const mulRun: BinaryRun = (a, ai, as, b, bi, bs, out, o, n) => {
  for (let j = 0; j < n; j++) out[o + j] = a[ai + j * as]! * b[bi + j * bs]!;
};
export const divRun: BinaryRun = (a, ai, as, b, bi, bs, out, o, n) => {
  for (let j = 0; j < n; j++) out[o + j] = a[ai + j * as]! / b[bi + j * bs]!;
};

/**
 * Applies `run` over `out` (shape `shape`), reading `a` and `b` through broadcast strides
 * (0 on broadcast axes): one run per row of the last axis, with a counter over the others.
 */
export function binaryBroadcast(run: BinaryRun, a: TypedArray, aStr: readonly number[], b: TypedArray, bStr: readonly number[], shape: readonly number[], out: TypedArray): void {
  const nd = shape.length;
  if (nd === 0) {
    run(a, 0, 0, b, 0, 0, out, 0, 1);
    return;
  }
  const inner = shape[nd - 1]!;
  const rows = inner === 0 ? 0 : out.length / inner;
  const as = aStr[nd - 1]!, bs = bStr[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  let ai = 0, bi = 0;
  for (let r = 0, o = 0; r < rows; r++, o += inner) {
    run(a, ai, as, b, bi, bs, out, o, inner);
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]!++;
      ai += aStr[d]!;
      bi += bStr[d]!;
      if (idx[d]! < shape[d]!) break;
      ai -= aStr[d]! * shape[d]!;
      bi -= bStr[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/** `out[i] = a[i] + s * b[i]` (the SGD update and similar). */
export function axpyInto(a: TypedArray, s: number, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! + s * b[i]!;
}

/**
 * `out = g · (x > 0 ? 1 : p)`: relu's (p = 0) and leaky relu's (p = slope) backward in one pass.
 * At a NaN input the derivative is NaN, so the NaN reaches the gradient.
 */
export function stepMulInto(g: TypedArray, x: TypedArray, p: number, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i]!;
    out[i] = g[i]! * (v > 0 ? 1 : v === v ? p : v);
  }
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
export function sinInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(x[i]!);
}
export function cosInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.cos(x[i]!);
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
/** `max(x, 0)`, NaN where x is NaN (as IEEE `maximum`, WASM's `f32x4.max` and PyTorch give). */
export function reluInto(x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i]!;
    out[i] = v > 0 || v !== v ? v : 0;
  }
}
export function leakyReluInto(x: TypedArray, slope: number, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i]!;
    out[i] = v > 0 ? v : slope * v;
  }
}

/** Comparison masks (1 where true, 0 elsewhere). */
export const greaterRun: BinaryRun = (a, ai, as, b, bi, bs, out, o, n) => {
  for (let j = 0; j < n; j++) out[o + j] = a[ai + j * as]! > b[bi + j * bs]! ? 1 : 0;
};
export const equalRun: BinaryRun = (a, ai, as, b, bi, bs, out, o, n) => {
  for (let j = 0; j < n; j++) out[o + j] = a[ai + j * as]! === b[bi + j * bs]! ? 1 : 0;
};

/** `out[i] = cond[i] !== 0 ? a[i] : b[i]`. */
export function whereInto(cond: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = cond[i] !== 0 ? a[i]! : b[i]!;
}
