/**
 * 2-D convolution, NHWC activations (`[N, H, W, C]`) and HWIO filters (`[KH, KW, C, O]`), as
 * im2col + gemm. The layout makes every receptive field a contiguous run of channels and the
 * output a plain `[N·OH·OW, O]` product, with no transposes.
 *
 * Three ops, each the derivative of the trilinear form B(x, w, dy) = ⟨conv2d(x, w), dy⟩ in one
 * argument, so their derivative rules are written with each other and any order works:
 *   conv2d(x, w)             = ∂B/∂dy   → dx: conv2dInputGrad(g, w),  dw: conv2dFilterGrad(x, g)
 *   conv2dInputGrad(dy, w)   = ∂B/∂x    → ddy: conv2d(g, w),          dw: conv2dFilterGrad(g, dy)
 *   conv2dFilterGrad(x, dy)  = ∂B/∂w    → dx: conv2dInputGrad(dy, g), ddy: conv2d(x, g)
 * Max-pooling is a `gather` of the window maxima (its derivative is scatterAdd at the saved
 * argmax, whose derivative is gather again). Batch normalisation is in batchnorm.ts.
 */
import { keepCrossed, record, tangentRule, tracks2, type TangentRule } from '../autograd.js';
import { convProduct, maxPoolArgmax, type ConvGeometry } from '../kernels/conv.js';
import { checkOptionsObject, type OptionKeys } from '../checks.js';
import { checkElementCount, fmt, shapesEqual } from '../shape.js';
import { expectTensor, allocOutput, Tensor, type VjpRule } from '../tensor.js';
import { add } from './binary.js';
import { reshape } from './layout.js';
import { gather } from './select.js';

/** 'same' (output ⌈H/stride⌉, TensorFlow's split of odd padding), 'valid', or explicit [top, bottom, left, right]. */
export type Padding = 'same' | 'valid' | number | readonly [number, number, number, number];

/** Options of `conv2d`, its gradient ops and `maxPool2d`. */
export interface ConvOptions {
  /** Stride, one number or [vertical, horizontal]. Default 1. */
  stride?: number | readonly [number, number];
  /** Padding of the spatial axes (see {@link Padding}). Default 'valid'. */
  padding?: Padding;
}

const CONV_OPTIONS: OptionKeys<ConvOptions> = { stride: true, padding: true };

/** @internal Output size and padding of a window of kh×kw over x's spatial axes. */
export function geometry(xShape: readonly number[], kh: number, kw: number, options: ConvOptions, op: string): ConvGeometry {
  checkOptionsObject(op, options, CONV_OPTIONS, "{ stride: 2, padding: 'same' }");
  if (xShape.length !== 4) throw new RangeError(`${op}: input must be NHWC [N, H, W, C], got ${fmt(xShape)}`);
  const [n, h, w, c] = xShape as [number, number, number, number];
  const s = options.stride ?? 1;
  const [strideH, strideW] = typeof s === 'number' ? [s, s] : s;
  if (![strideH, strideW].every((v) => Number.isInteger(v) && v >= 1)) throw new RangeError(`${op}: stride must be a positive integer or a pair of them, got ${JSON.stringify(s)}`);
  const p = options.padding ?? 'valid';
  let pads: [number, number, number, number];
  let oh: number, ow: number;
  if (p === 'same') {
    oh = Math.ceil(h / strideH);
    ow = Math.ceil(w / strideW);
    const th = Math.max((oh - 1) * strideH + kh - h, 0);
    const tw = Math.max((ow - 1) * strideW + kw - w, 0);
    pads = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else {
    pads = p === 'valid' ? [0, 0, 0, 0] : typeof p === 'number' ? [p, p, p, p] : [...p];
    if (pads.length !== 4 || !pads.every((v) => Number.isInteger(v) && v >= 0)) throw new RangeError(`${op}: padding must be 'same', 'valid', a non-negative integer or [top, bottom, left, right], got ${JSON.stringify(p)}`);
    oh = Math.floor((h + pads[0] + pads[1] - kh) / strideH) + 1;
    ow = Math.floor((w + pads[2] + pads[3] - kw) / strideW) + 1;
  }
  if (!(oh >= 1 && ow >= 1)) throw new RangeError(`${op}: a ${kh}×${kw} window does not fit input ${fmt(xShape)} with padding ${JSON.stringify(p)}`);
  // The output, and the unrolled patches (im2col) the product reads, must each fit a tensor.
  checkElementCount(op, n * oh * ow * Math.max(c, 1), `the output of ${oh}×${ow} positions (padding ${JSON.stringify(p)})`);
  checkElementCount(op, n * oh * ow * kh * kw * c, `the ${n * oh * ow} unrolled ${kh}×${kw}×${c} patches`);
  return { n, h, w, c, kh, kw, strideH, strideW, padTop: pads[0], padLeft: pads[2], oh, ow };
}

function checkFilter(w: Tensor, c: number, op: string): [number, number, number] {
  if (w.ndim !== 4) throw new RangeError(`${op}: filter must be HWIO [KH, KW, C, O], got ${fmt(w.shape)}`);
  const [kh, kw, ci, o] = w.shape as [number, number, number, number];
  if (ci !== c) throw new RangeError(`${op}: filter ${fmt(w.shape)} expects ${ci} input channels, the input has ${c}`);
  return [kh, kw, o];
}

function sameDtype(a: Tensor, b: Tensor, op: string): void {
  if (a.dtype !== b.dtype) throw new TypeError(`${op}: dtype mismatch: ${a.dtype} and ${b.dtype} (convert one with astype)`);
}

/** 2-D cross-correlation (what deep-learning libraries call convolution): `[N,H,W,C] * [KH,KW,C,O] → [N,OH,OW,O]`. */
export function conv2d(x: Tensor, w: Tensor, options: ConvOptions = {}): Tensor {
  expectTensor(x, 'conv2d', 'x');
  expectTensor(w, 'conv2d', 'w');
  sameDtype(x, w, 'conv2d');
  if (x.ndim !== 4) throw new RangeError(`conv2d: input must be NHWC [N, H, W, C], got ${fmt(x.shape)}`);
  const [kh, kw, o] = checkFilter(w, x.shape[3]!, 'conv2d');
  const g = geometry(x.shape, kh, kw, options, 'conv2d');
  const out = allocOutput(x.dtype, g.n * g.oh * g.ow * o); // convProduct writes every element
  convProduct('forward', x.data, w.data, g, o, out);
  const t = new Tensor(out, [g.n, g.oh, g.ow, o]);
  return tracks2(x, w) ? record(t, 'conv2d', [x, w], conv2dVjp, options, keepCrossed(x, w)) : t;
}
const conv2dVjp: VjpRule = (g, _o, node, needs) => {
  const [x, w] = node.values;
  const opts = node.saved as ConvOptions;
  return [needs[0] ? conv2dInputGrad(g, w!, node.inputs[0]!.shape, opts) : null, needs[1] ? conv2dFilterGrad(x!, g, node.inputs[1]!.shape, opts) : null];
};

/** Gradient of conv2d with respect to its input (a transposed convolution of `dy` by `w`), shape `xShape`. */
export function conv2dInputGrad(dy: Tensor, w: Tensor, xShape: readonly number[], options: ConvOptions = {}): Tensor {
  expectTensor(dy, 'conv2dInputGrad', 'dy');
  expectTensor(w, 'conv2dInputGrad', 'w');
  sameDtype(dy, w, 'conv2dInputGrad');
  const [kh, kw, o] = checkFilter(w, xShape[3]!, 'conv2dInputGrad');
  const g = geometry(xShape, kh, kw, options, 'conv2dInputGrad');
  if (!shapesEqual(dy.shape, [g.n, g.oh, g.ow, o])) throw new RangeError(`conv2dInputGrad: dy has shape ${fmt(dy.shape)}, expected ${fmt([g.n, g.oh, g.ow, o])}`);
  const out = allocOutput(dy.dtype, g.n * g.h * g.w * g.c);
  convProduct('input', dy.data, w.data, g, o, out);
  const t = new Tensor(out, [...xShape]);
  return tracks2(dy, w) ? record(t, 'conv2dInputGrad', [dy, w], inputGradVjp, options, keepCrossed(dy, w)) : t;
}
const inputGradVjp: VjpRule = (g, _o, node, needs) => {
  const [dy, w] = node.values;
  const opts = node.saved as ConvOptions;
  return [needs[0] ? conv2d(g, w!, opts) : null, needs[1] ? conv2dFilterGrad(g, dy!, node.inputs[1]!.shape, opts) : null];
};

/** Gradient of conv2d with respect to its filter, shape `wShape`. */
export function conv2dFilterGrad(x: Tensor, dy: Tensor, wShape: readonly number[], options: ConvOptions = {}): Tensor {
  expectTensor(x, 'conv2dFilterGrad', 'x');
  expectTensor(dy, 'conv2dFilterGrad', 'dy');
  sameDtype(x, dy, 'conv2dFilterGrad');
  if (wShape.length !== 4) throw new RangeError(`conv2dFilterGrad: filter shape must be [KH, KW, C, O], got ${fmt(wShape)}`);
  const [kh, kw, c, o] = wShape as [number, number, number, number];
  const g = geometry(x.shape, kh, kw, options, 'conv2dFilterGrad');
  if (c !== g.c) throw new RangeError(`conv2dFilterGrad: filter shape ${fmt(wShape)} expects ${c} channels, the input has ${g.c}`);
  if (!shapesEqual(dy.shape, [g.n, g.oh, g.ow, o])) throw new RangeError(`conv2dFilterGrad: dy has shape ${fmt(dy.shape)}, expected ${fmt([g.n, g.oh, g.ow, o])}`);
  const out = allocOutput(x.dtype, kh * kw * c * o);
  convProduct('filter', x.data, dy.data, g, o, out);
  const t = new Tensor(out, [...wShape]);
  return tracks2(x, dy) ? record(t, 'conv2dFilterGrad', [x, dy], filterGradVjp, options, keepCrossed(x, dy)) : t;
}
const filterGradVjp: VjpRule = (g, _o, node, needs) => {
  const [x, dy] = node.values;
  const opts = node.saved as ConvOptions;
  return [needs[0] ? conv2dInputGrad(dy!, g, node.inputs[0]!.shape, opts) : null, needs[1] ? conv2d(x!, g, opts) : null];
};

/** Max over `size`×`size` windows (default stride = size), NHWC. Gradient goes to the first maximum. */
export function maxPool2d(x: Tensor, size: number | readonly [number, number] = 2, options: ConvOptions = {}): Tensor {
  expectTensor(x, 'maxPool2d');
  checkOptionsObject('maxPool2d', options, CONV_OPTIONS, "{ stride: 2, padding: 'same' }");
  const [kh, kw] = typeof size === 'number' ? [size, size] : size;
  if (![kh, kw].every((v) => Number.isInteger(v) && v >= 1)) throw new RangeError(`maxPool2d: size must be a positive integer or a pair, got ${JSON.stringify(size)}`);
  const g = geometry(x.shape, kh, kw, { stride: options.stride ?? [kh, kw], padding: options.padding ?? 'valid' }, 'maxPool2d');
  const per = g.oh * g.ow * g.c;
  const arg = new Float64Array(g.n * per);
  maxPoolArgmax(x.data, g, arg);
  const picked = gather(reshape(x, [g.n, g.h * g.w * g.c]), 1, new Tensor(arg, [g.n, per]));
  return reshape(picked, [g.n, g.oh, g.ow, g.c]);
}

// Tangent rules (forward mode): the three convolutions are bilinear in their two tensors.
const bilinear = (f: (x: Tensor, y: Tensor, out: Tensor, opts: ConvOptions) => Tensor): TangentRule => ([ta, tb], out, [a, b], node) => {
  const opts = node.saved as ConvOptions;
  const left = ta === null ? null : f(ta, b!, out, opts);
  const right = tb === null ? null : f(a!, tb, out, opts);
  return left === null ? right! : right === null ? left : add(left, right);
};
tangentRule('conv2d', bilinear((x, w, _out, o) => conv2d(x, w, o)));
tangentRule('conv2dInputGrad', bilinear((dy, w, out, o) => conv2dInputGrad(dy, w, out.shape, o)));
tangentRule('conv2dFilterGrad', bilinear((x, dy, out, o) => conv2dFilterGrad(x, dy, out.shape, o)));
