/**
 * Dispatch for the loops that exist both in TypeScript and in the WASM SIMD module:
 * elementwise arithmetic, the unary ops on the training path, sums over axes, batch norm and
 * the Adam update. float32 arrays of at least {@link WASM_MIN_ELEMENTS} elements go to WASM
 * (when it is the backend); everything else runs the TypeScript loop. Both compute the same
 * thing; WASM works in float32 throughout, TypeScript in float64 before storing.
 */
import type { TypedArray } from '../dtype.js';
import { wasmKernels } from './backend.js';
import { batchNormBackward as bnBackwardTs, batchNormForward as bnForwardTs } from './batchnorm.js';
import * as K from './elementwise.js';
import { sumAxesInto } from './reduce.js';
import { BINARY_OPS, UNARY_OPS, type WasmKernels } from './wasm.js';

/**
 * Below this many output elements the copies in and out of WASM memory and the call cost more
 * than the TypeScript loop saves (measured: bench/kernels.ts, elementwise section).
 */
export const WASM_MIN_ELEMENTS = 1024;

/** The WASM kernels if this call should use them: all arrays float32, output large enough. */
function wasmFor(n: number, ...arrays: TypedArray[]): WasmKernels | null {
  if (n < WASM_MIN_ELEMENTS) return null;
  for (const a of arrays) if (!(a instanceof Float32Array)) return null;
  return wasmKernels();
}

/** The TypeScript loops of the binary ops that WASM also has. */
const BINARY_RUNS: Record<keyof typeof BINARY_OPS, K.BinaryRun> = { add: K.addRun, sub: K.subRun, mul: K.mulRun, div: K.divRun };

/** Whether `op` is one of the arithmetic ops {@link binaryInto} knows. */
export function isArithmetic(op: string): op is keyof typeof BINARY_OPS {
  return op in BINARY_OPS;
}

/**
 * `out = a ∘ b` over `shape` with broadcast strides `aStr`, `bStr` (0 on broadcast axes, as
 * from `broadcastStrides`).
 */
export function binaryInto(op: keyof typeof BINARY_OPS, a: TypedArray, aStr: readonly number[], b: TypedArray, bStr: readonly number[], shape: readonly number[], out: TypedArray): void {
  const w = wasmFor(out.length, a, b, out);
  if (w !== null) w.binary(op, a as Float32Array, aStr, b as Float32Array, bStr, shape, out as Float32Array);
  else K.binaryBroadcast(BINARY_RUNS[op], a, aStr, b, bStr, shape, out);
}

/** The TypeScript loops of the unary ops that WASM also has. */
const UNARY_LOOPS: Record<keyof typeof UNARY_OPS, (x: TypedArray, p: number, out: TypedArray) => void> = {
  relu: (x, _p, out) => K.reluInto(x, out),
  neg: (x, _p, out) => K.negInto(x, out),
  square: (x, _p, out) => K.squareInto(x, out),
  scale: (x, p, out) => K.scaleInto(x, p, out),
  sqrt: (x, _p, out) => K.sqrtInto(x, out),
};

/** `out[i] = f(x[i])` for a unary op with parameter `p` (step's low value, scale's factor). */
export function unaryInto(op: keyof typeof UNARY_OPS, x: TypedArray, p: number, out: TypedArray): void {
  const w = wasmFor(out.length, x, out);
  if (w !== null) w.unary(op, x as Float32Array, p, out as Float32Array);
  else UNARY_LOOPS[op](x, p, out);
}

/** `out = g · (x > 0 ? 1 : p)` elementwise (relu's and leaky relu's backward). */
export function stepMulInto(g: TypedArray, x: TypedArray, p: number, out: TypedArray): void {
  const w = wasmFor(out.length, g, x, out);
  if (w !== null) w.stepMul(g as Float32Array, x as Float32Array, p, out as Float32Array);
  else K.stepMulInto(g, x, p, out);
}

/** Sums `x` (shape `shape`) over `axes` (sorted, distinct) into `out`. */
export function sumAxes(x: TypedArray, shape: readonly number[], axes: readonly number[], out: TypedArray): void {
  const w = wasmFor(x.length, x, out);
  if (w !== null && w.sumAxes(x as Float32Array, shape, axes, out as Float32Array)) return;
  sumAxesInto(x, shape, axes, out);
}

/** Batch-norm forward (see kernels/batchnorm.ts); `xhat` may be `out` when x̂ is not kept; μ goes to `mean` if given. */
export function batchNormForward(x: TypedArray, gamma: TypedArray, beta: TypedArray, eps: number, channels: number, out: TypedArray, xhat: TypedArray, invStd: TypedArray, mean: TypedArray | null = null): void {
  const w = wasmFor(x.length, x, gamma, beta, out, xhat, invStd, ...(mean === null ? [] : [mean]));
  if (w !== null) w.batchNormForward(x as Float32Array, gamma as Float32Array, beta as Float32Array, eps, channels, out as Float32Array, xhat === out ? null : (xhat as Float32Array), invStd as Float32Array, mean as Float32Array | null);
  else bnForwardTs(x, gamma, beta, eps, channels, out, xhat, invStd, mean);
}

/** First-order batch-norm backward (see kernels/batchnorm.ts). */
export function batchNormBackward(g: TypedArray, xhat: TypedArray, invStd: TypedArray, gamma: TypedArray, channels: number, dx: TypedArray, dgamma: TypedArray, dbeta: TypedArray): void {
  const w = wasmFor(g.length, g, xhat, invStd, gamma, dx, dgamma, dbeta);
  if (w !== null) w.batchNormBackward(g as Float32Array, xhat as Float32Array, invStd as Float32Array, gamma as Float32Array, channels, dx as Float32Array, dgamma as Float32Array, dbeta as Float32Array);
  else bnBackwardTs(g, xhat, invStd, gamma, channels, dx, dgamma, dbeta);
}

/**
 * One Adam update of `n` parameters: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g²,
 * out = p − stepSize·m/(√v + epsHat); the moments are updated in place.
 */
export function adamInto(p: TypedArray, g: TypedArray, m: TypedArray, v: TypedArray, out: TypedArray, b1: number, b2: number, stepSize: number, epsHat: number): void {
  const w = wasmFor(out.length, p, g, m, v, out);
  if (w !== null) {
    w.adam(p as Float32Array, g as Float32Array, m as Float32Array, v as Float32Array, out as Float32Array, b1, b2, stepSize, epsHat);
    return;
  }
  for (let j = 0; j < out.length; j++) {
    const gj = g[j]!;
    const mj = b1 * m[j]! + (1 - b1) * gj;
    const vj = b2 * v[j]! + (1 - b2) * gj * gj;
    m[j] = mj;
    v[j] = vj;
    out[j] = p[j]! - (stepSize * mj) / (Math.sqrt(vj) + epsHat);
  }
}
