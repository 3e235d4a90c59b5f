/**
 * Matrix-multiply dispatch: one entry point for every `C = op(A)·op(B)` the engine computes.
 * float64 always runs the TypeScript reference; float32 goes to the WebAssembly SIMD kernels
 * when they are loaded (see `backend.ts`).
 */
import type { TypedArray } from '../tensor.js';
import { wasmKernels } from './backend.js';
import { gemmRef } from './gemm-ref.js';

/**
 * Batched gemm: for each of `batch` products, A at `aOffs[i]`, B at `bOffs[i]`, C at
 * `i * m * n` (C is contiguous).
 */
export function gemmBatched(
  a: TypedArray,
  aOffs: Int32Array,
  b: TypedArray,
  bOffs: Int32Array,
  c: TypedArray,
  batch: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): void {
  if (a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array) {
    const w = wasmKernels();
    if (w !== null) {
      w.gemm(a, aOffs, b, bOffs, c, batch, m, n, k, transA, transB);
      return;
    }
  }
  for (let i = 0; i < batch; i++) gemmRef(a, aOffs[i]!, b, bOffs[i]!, c, i * m * n, m, n, k, transA, transB);
}
