/**
 * Reference matrix multiply in plain TypeScript: `C = op(A)·op(B)` with `op` an optional
 * transpose, for one matrix pair. It is the float64 path, the fallback where WebAssembly SIMD is
 * missing, and the reference the WASM kernels are tested against.
 *
 * Layouts: A is stored `[M,K]` (or `[K,M]` when `transA`), B is `[K,N]` (or `[N,K]` when
 * `transB`), C is `[M,N]`; all row-major and contiguous from their offsets.
 */
import type { TypedArray } from '../dtype.js';

export function gemmRef(
  a: TypedArray,
  aOff: number,
  b: TypedArray,
  bOff: number,
  c: TypedArray,
  cOff: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): void {
  // Element (i,p) of op(A) is at aOff + i*ai + p*ap; element (p,j) of op(B) at bOff + p*bp + j*bj.
  const ai = transA ? 1 : k;
  const ap = transA ? m : 1;
  if (!transB) {
    // i-p-j order: the inner loop runs along rows of B and C (unit stride).
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * n;
      for (let j = 0; j < n; j++) c[ci + j] = 0;
      for (let p = 0; p < k; p++) {
        const av = a[aOff + i * ai + p * ap]!;
        const bp = bOff + p * n;
        for (let j = 0; j < n; j++) c[ci + j] = c[ci + j]! + av * b[bp + j]!;
      }
    }
  } else {
    // i-j-p order: dot products along rows of B (unit stride in B; A strided when transA).
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * n;
      const a0 = aOff + i * ai;
      for (let j = 0; j < n; j++) {
        const b0 = bOff + j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[a0 + p * ap]! * b[b0 + p]!;
        c[ci + j] = s;
      }
    }
  }
}
