/**
 * Matrix-multiply dispatch: one entry point for every `C = op(A)·op(B)` the engine computes.
 * float64 always runs the TypeScript reference; float32 goes to the WebAssembly SIMD kernels
 * when they are loaded (see `backend.ts`).
 */
import type { TypedArray } from '../dtype.js';
import { wasmKernels } from './backend.js';
import { gemmRef } from './gemm-ref.js';

/**
 * Batched gemm: for each of `batch` products, A at `aOffs[i]`, B at `bOffs[i]`, C at
 * `i * m * n` (C is contiguous). `rowBlocks: false` computes each product on its own even when
 * they could run as one taller product, whose rounding can depend on where a row falls (a
 * batch entry then gets the same bits however the batch is cut).
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
  rowBlocks: boolean,
): void {
  if (rowBlocks && batch > 1 && stacksRows(aOffs, bOffs, batch, m * k, transA)) {
    // Every product shares one B and the A matrices lie end to end: they are the row blocks
    // of one taller product, which packs B once and keeps the micro-kernel's tiles full.
    gemmBatched(a, aOffs.subarray(0, 1), b, bOffs.subarray(0, 1), c, 1, batch * m, n, k, false, transB, false);
    return;
  }
  if (a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array) {
    const w = wasmKernels();
    if (w !== null) {
      w.gemm(a, aOffs, b, bOffs, c, batch, m, n, k, transA, transB);
      return;
    }
  }
  for (let i = 0; i < batch; i++) gemmRef(a, aOffs[i]!, b, bOffs[i]!, c, i * m * n, m, n, k, transA, transB);
}

/** Whether the batch is one product with `batch` row blocks: shared B, consecutive untransposed A. */
function stacksRows(aOffs: Int32Array, bOffs: Int32Array, batch: number, aSize: number, transA: boolean): boolean {
  if (transA) return false;
  const a0 = aOffs[0]!, b0 = bOffs[0]!;
  for (let i = 1; i < batch; i++) if (bOffs[i] !== b0 || aOffs[i] !== a0 + i * aSize) return false;
  return true;
}
