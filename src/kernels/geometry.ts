/** The shape of a 2-D convolution or pooling window, as every conv kernel (TypeScript and WASM) reads it. */

/** Geometry of a 2-D convolution (or pooling window): NHWC input, kernel, stride, padding and output size. */
export interface ConvGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  oh: number;
  ow: number;
}
