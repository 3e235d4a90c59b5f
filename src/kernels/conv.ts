/**
 * Convolution data movement, NHWC: im2col gathers every receptive field into a row
 * (`[N·OH·OW, KH·KW·C]`, row-major in (kh, kw, c)), col2im scatter-adds rows back. Together with
 * gemm they make the three convolution ops; see ops/conv.ts.
 */
import type { TypedArray } from '../dtype.js';
import { wasmKernels } from './backend.js';
import { gemmRef } from './gemm-ref.js';
import type { ConvGeometry } from './geometry.js';

export type { ConvGeometry };


export function im2col(x: TypedArray, g: ConvGeometry, cols: TypedArray): void {
  const { n, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, oh, ow } = g;
  const rowLen = kh * kw * c;
  let r = 0;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, r++) {
        let o = r * rowLen;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * strideH - padTop + ky;
          for (let kx = 0; kx < kw; kx++, o += c) {
            const ix = ox * strideW - padLeft + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) cols.fill(0, o, o + c);
            else {
              const s = ((b * h + iy) * w + ix) * c;
              cols.set(x.subarray(s, s + c), o);
            }
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: `x` (zeroed first) receives the sum of every row entry that read it. */
export function col2im(cols: TypedArray, g: ConvGeometry, x: TypedArray): void {
  const { n, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, oh, ow } = g;
  x.fill(0);
  const rowLen = kh * kw * c;
  let r = 0;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, r++) {
        let o = r * rowLen;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * strideH - padTop + ky;
          for (let kx = 0; kx < kw; kx++, o += c) {
            const ix = ox * strideW - padLeft + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const s = ((b * h + iy) * w + ix) * c;
            for (let j = 0; j < c; j++) x[s + j] = x[s + j]! + cols[o + j]!;
          }
        }
      }
    }
  }
}

/**
 * Max-pool argmax: for each output element, the flat index (within one sample's H·W·C) of the
 * first maximum of its window. Padding positions never win.
 */
export function maxPoolArgmax(x: TypedArray, g: ConvGeometry, arg: Float64Array): void {
  const { n, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, oh, ow } = g;
  let o = 0;
  for (let b = 0; b < n; b++) {
    const base = b * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++, o++) {
          let best = -Infinity;
          let bi = -1;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * strideH - padTop + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * strideW - padLeft + kx;
              if (ix < 0 || ix >= w) continue;
              const idx = (iy * w + ix) * c + ch;
              const v = x[base + idx]!;
              // The first NaN of a window wins, as in max(): NaN propagates.
              if (v > best || bi < 0 || (v !== v && best === best)) {
                best = v;
                bi = idx;
              }
            }
          }
          arg[o] = bi;
        }
      }
    }
  }
}

/**
 * The three convolution products (see ops/conv.ts), dispatched like gemm: float32 runs entirely
 * in WASM memory when the WASM kernels are in use, otherwise im2col/col2im above plus the
 * reference gemm. `o` is the number of output channels.
 *   'forward': out[N·OH·OW, O]   = im2col(a = x) · (b = w)
 *   'input':   out[N,H,W,C]      = col2im((a = dy) · (b = w)ᵀ)
 *   'filter':  out[KH·KW·C, O]   = im2col(a = x)ᵀ · (b = dy)
 */
export function convProduct(kind: 'forward' | 'input' | 'filter', a: TypedArray, b: TypedArray, g: ConvGeometry, o: number, out: TypedArray): void {
  if (a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array) {
    const w = wasmKernels();
    if (w !== null) {
      w.conv(kind, a, b, g, o, out);
      return;
    }
  }
  const rows = g.n * g.oh * g.ow;
  const k = g.kh * g.kw * g.c;
  const cols = (a instanceof Float64Array ? new Float64Array(rows * k) : new Float32Array(rows * k)) as TypedArray;
  if (kind === 'forward') {
    im2col(a, g, cols);
    gemmRef(cols, 0, b, 0, out, 0, rows, o, k, false, false);
  } else if (kind === 'input') {
    gemmRef(a, 0, b, 0, cols, 0, rows, k, o, false, true);
    col2im(cols, g, out);
  } else {
    im2col(a, g, cols);
    gemmRef(cols, 0, b, 0, out, 0, k, o, rows, true, false);
  }
}
