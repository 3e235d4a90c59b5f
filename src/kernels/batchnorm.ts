/**
 * Batch-normalisation loops over x viewed as [rows, channels] (channels last): per-channel
 * batch statistics, normalisation, and the first-order backward from saved x̂ and 1/σ.
 */
import type { TypedArray } from '../dtype.js';

/** out = γ·x̂ + β with x̂ = (x − μ)/σ, σ = √(var + eps); also writes x̂ and 1/σ, and μ to `meanOut` if given. */
export function batchNormForward(x: TypedArray, gamma: TypedArray, beta: TypedArray, eps: number, channels: number, out: TypedArray, xhat: TypedArray, invStd: TypedArray, meanOut: TypedArray | null = null): void {
  const rows = x.length / channels;
  const mean = new Float64Array(channels);
  const sq = new Float64Array(channels);
  for (let r = 0, o = 0; r < rows; r++) for (let c = 0; c < channels; c++, o++) mean[c]! += x[o]!;
  for (let c = 0; c < channels; c++) mean[c]! /= rows;
  meanOut?.set(mean);
  for (let r = 0, o = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++, o++) {
      const d = x[o]! - mean[c]!;
      sq[c]! += d * d;
    }
  }
  for (let c = 0; c < channels; c++) invStd[c] = 1 / Math.sqrt(sq[c]! / rows + eps);
  for (let r = 0, o = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++, o++) {
      const h = (x[o]! - mean[c]!) * invStd[c]!;
      xhat[o] = h;
      out[o] = gamma[c]! * h + beta[c]!;
    }
  }
}

/** dx = (γ/σ)(g − mean(g) − x̂·mean(g·x̂)), dγ = Σ g·x̂, dβ = Σ g (per channel, over rows). */
export function batchNormBackward(g: TypedArray, xhat: TypedArray, invStd: TypedArray, gamma: TypedArray, channels: number, dx: TypedArray, dgamma: TypedArray, dbeta: TypedArray): void {
  const rows = g.length / channels;
  const sg = new Float64Array(channels);
  const sgx = new Float64Array(channels);
  for (let r = 0, o = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++, o++) {
      sg[c]! += g[o]!;
      sgx[c]! += g[o]! * xhat[o]!;
    }
  }
  for (let c = 0; c < channels; c++) {
    dbeta[c] = sg[c]!;
    dgamma[c] = sgx[c]!;
  }
  for (let r = 0, o = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++, o++) {
      dx[o] = gamma[c]! * invStd[c]! * (g[o]! - sg[c]! / rows - (xhat[o]! * sgx[c]!) / rows);
    }
  }
}
