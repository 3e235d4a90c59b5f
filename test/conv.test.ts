/**
 * Convolution and pooling forward results against direct loops (independent of im2col and of
 * the derivative rules, which ops.derivatives.test.ts checks), on awkward sizes, every padding
 * mode and strides; in float64 (TypeScript) and float32 (WASM gemm).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { makeTensor } from './helpers/arbitraries.js';

function directConv(x: mg.Tensor, w: mg.Tensor, sh: number, sw: number, pt: number, pl: number, oh: number, ow: number): Float64Array {
  const [n, h, wd, c] = x.shape as number[];
  const [kh, kw, , o] = w.shape as number[];
  const out = new Float64Array(n! * oh * ow * o!);
  for (let b = 0; b < n!; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let f = 0; f < o!; f++) {
          let s = 0;
          for (let i = 0; i < kh!; i++)
            for (let j = 0; j < kw!; j++) {
              const iy = y * sh - pt + i, ix = xx * sw - pl + j;
              if (iy < 0 || iy >= h! || ix < 0 || ix >= wd!) continue;
              for (let ch = 0; ch < c!; ch++) s += x.data[((b * h! + iy) * wd! + ix) * c! + ch]! * w.data[((i * kw! + j) * c! + ch) * o! + f]!;
            }
          out[((b * oh + y) * ow + xx) * o! + f] = s;
        }
  return out;
}

afterEach(() => mg.setBackend('auto'));

describe('conv2d forward', () => {
  test.each([
    ['float64', 'auto'],
    ['float32', 'wasm'],
    ['float32', 'js'],
  ] as const)('matches a direct convolution (%s, %s backend)', (dtype, backend) => {
    mg.setBackend(backend);
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 3 }),
          h: fc.constantFrom(1, 3, 5, 7, 8),
          w: fc.constantFrom(1, 4, 6, 9),
          c: fc.constantFrom(1, 3, 5),
          o: fc.constantFrom(1, 2, 7, 8, 9, 16), // 8 and 16: the forward product reads the filter in place
          k: fc.constantFrom(1, 2, 3),
          s: fc.constantFrom(1, 2, 3),
          same: fc.boolean(),
          seed: fc.nat(),
        }),
        ({ n, h, w, c, o, k, s, same, seed }) => {
          if (!same && (h < k || w < k)) return;
          const x = makeTensor([n, h, w, c], seed, 'any', dtype);
          const f = makeTensor([k, k, c, o], seed + 1, 'any', dtype);
          const y = mg.conv2d(x, f, { stride: s, padding: same ? 'same' : 'valid' });
          const oh = same ? Math.ceil(h / s) : Math.floor((h - k) / s) + 1;
          const ow = same ? Math.ceil(w / s) : Math.floor((w - k) / s) + 1;
          const pt = same ? Math.floor(Math.max((oh - 1) * s + k - h, 0) / 2) : 0;
          const pl = same ? Math.floor(Math.max((ow - 1) * s + k - w, 0) / 2) : 0;
          expect(y.shape).toEqual([n, oh, ow, o]);
          const ref = directConv(x, f, s, s, pt, pl, oh, ow);
          const tol = dtype === 'float64' ? 1e-12 : 1e-4;
          for (let i = 0; i < ref.length; i++) expect(Math.abs(y.data[i]! - ref[i]!)).toBeLessThan(tol * (1 + Math.abs(ref[i]!)));
        },
      ),
      { numRuns: 60 },
    );
  });

  test('max-pool picks window maxima', () => {
    const x = mg.tensor([1, 5, 2, 0, 3, 4, 9, 8, 7, 6, 1, 2, 0, 0, 3, 3], { shape: [1, 4, 4, 1] });
    expect(mg.maxPool2d(x, 2).toArray()).toEqual([[[[5], [9]], [[7], [3]]]]);
  });

  test('batchNorm normalises each channel over the batch', () => {
    const x = makeTensor([4, 3, 3, 2], 9);
    const y = mg.batchNorm(x, mg.ones([2], { dtype: 'float64' }), mg.zeros([2], { dtype: 'float64' }), { eps: 1e-12 });
    const { mean, variance } = mg.batchMoments(y);
    mean.data.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-12));
    variance.data.forEach((v) => expect(v).toBeCloseTo(1, 9));
  });

  test('bad geometry is named', () => {
    const x = mg.zeros([1, 4, 4, 3]);
    expect(() => mg.conv2d(x, mg.zeros([3, 3, 2, 4]))).toThrow(/conv2d: filter \[3,3,2,4\] expects 2 input channels, the input has 3/);
    expect(() => mg.conv2d(mg.zeros([4, 4, 3]), mg.zeros([3, 3, 3, 4]))).toThrow(/input must be NHWC/);
    expect(() => mg.conv2d(x, mg.zeros([5, 5, 3, 1]))).toThrow(/a 5×5 window does not fit input \[1,4,4,3\]/);
    expect(() => mg.conv2d(x, mg.zeros([3, 3, 3, 1]), { stride: 0 })).toThrow(/stride must be a positive integer/);
    expect(() => mg.conv2d(x, mg.zeros([3, 3, 3, 1]), { padding: 'full' as never })).toThrow(/padding must be 'same', 'valid'/);
    expect(() => mg.batchNorm(x, mg.ones([2]), mg.zeros([3]))).toThrow(/batchNorm: gamma has shape \[2\], expected 3 channels/);
    // Options that are not an object (a stride given bare, say) are named, not ignored.
    expect(() => mg.conv2d(x, mg.zeros([3, 3, 3, 1]), 2 as never)).toThrow(/conv2d: options must be an object such as \{ stride: 2, padding: 'same' \}, got 2/);
    expect(() => mg.maxPool2d(x, 2, [2] as never)).toThrow(/maxPool2d: options must be an object .*got an array \[2\]/);
    expect(() => mg.batchNorm(x, mg.ones([3]), mg.zeros([3]), 1e-3 as never)).toThrow(/batchNorm: options must be an object .*got 0\.001/);
  });
});
