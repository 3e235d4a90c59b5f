// metagrad's WebAssembly kernels. Memory is managed from JavaScript: it copies operands to
// addresses at or above heapBase() (growing memory as needed) and calls these functions.
export { gemmPacked, gemmSmall, gemmScratchFloats } from './gemm';
export { peakMadd } from './peak';
export { im2col, col2im } from './conv';

/** First free byte address, 16-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}
export { binary2d, unary, stepMul, sumLeading, sumTrailing, batchNormForward, batchNormBackward, adam } from './elementwise';
