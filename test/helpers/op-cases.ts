/**
 * One generator per op: random shapes (with broadcasting and length-1 axes), random data kept
 * away from kinks and domain edges, and the op applied to the inputs. Shared by the float64
 * finite-difference tests and the float32-versus-float64 agreement tests.
 */
import fc from 'fast-check';
import * as mg from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { broadcastPairArb, makeTensor, seedArb, shapeArb, type Kind } from './arbitraries.js';

export interface OpCase {
  inputs: Tensor[];
  run: (xs: Tensor[]) => Tensor;
}

const one = (shape: number[], seed: number, kind: Kind = 'any') => makeTensor(shape, seed, kind);

const unary = (op: (x: Tensor) => Tensor, kind: Kind = 'any'): fc.Arbitrary<OpCase> =>
  fc.record({ shape: shapeArb(), seed: seedArb }).map(({ shape, seed }) => ({ inputs: [one(shape, seed, kind)], run: ([x]) => op(x!) }));

const binary = (op: (a: Tensor, b: Tensor) => Tensor, kindB: Kind = 'any'): fc.Arbitrary<OpCase> =>
  fc.record({ shapes: broadcastPairArb, seed: seedArb }).map(({ shapes: [sa, sb], seed }) => ({
    inputs: [one(sa, seed), one(sb, seed + 1, kindB)],
    run: ([a, b]) => op(a!, b!),
  }));

/** A shape with at least one axis, and a valid axis of it. */
const withAxis = (minDims = 1) =>
  shapeArb(minDims, 3).chain((shape) => fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: -shape.length, max: shape.length - 1 }), seed: seedArb }));

const withAxisKept = (op: (x: Tensor, axis: number, keep: boolean) => Tensor, kind: Kind = 'any') =>
  fc.record({ s: withAxis(), keep: fc.boolean() }).map(({ s: { shape, axis, seed }, keep }) => ({
    inputs: [one(shape, seed, kind)],
    run: ([x]: Tensor[]) => op(x!, axis, keep),
  }));

const axesSubset = shapeArb(0, 3).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axes: fc.option(fc.subarray(shape.map((_, i) => i)), { nil: undefined }),
    keep: fc.boolean(),
    seed: seedArb,
  }),
);

const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);

const convArb = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  h: fc.integer({ min: 1, max: 5 }),
  w: fc.integer({ min: 1, max: 5 }),
  c: fc.integer({ min: 1, max: 3 }),
  o: fc.integer({ min: 1, max: 3 }),
  kh: fc.integer({ min: 1, max: 3 }),
  kw: fc.integer({ min: 1, max: 3 }),
  stride: fc.constantFrom(1, 2, [2, 1] as [number, number]),
  padding: fc.constantFrom<mg.Padding>('same', 'valid', 1, [0, 1, 2, 0]),
  seed: seedArb,
}).filter(({ h, w, kh, kw, padding }) => {
  const pads = padding === 'same' ? [9, 9, 9, 9] : padding === 'valid' ? [0, 0, 0, 0] : typeof padding === 'number' ? [padding, padding, padding, padding] : padding;
  return h + pads[0]! + pads[1]! >= kh && w + pads[2]! + pads[3]! >= kw;
});
const convOut = (c: { n: number; h: number; w: number; c: number; kh: number; kw: number; o: number; stride: number | [number, number]; padding: mg.Padding }) =>
  mg.noGrad(() => mg.conv2d(mg.zeros([c.n, c.h, c.w, c.c]), mg.zeros([c.kh, c.kw, c.c, c.o]), { stride: c.stride, padding: c.padding })).shape as number[];

export const opCases: Record<string, fc.Arbitrary<OpCase>> = {
  neg: unary(mg.neg),
  scale: fc.record({ c: unary((x) => x), k: fc.double({ min: -3, max: 3, noNaN: true }) }).map(({ c, k }) => ({ inputs: c.inputs, run: ([x]) => mg.scale(x!, k) })),
  'pow (integer exponents)': fc.record({ c: unary((x) => x), p: fc.constantFrom(0, 1, 2, 3) }).map(({ c, p }) => ({ inputs: c.inputs, run: ([x]) => mg.pow(x!, p) })),
  'pow (real exponents, positive base)': fc
    .record({ c: unary((x) => x, 'positive'), p: fc.constantFrom(-1, 0.5, 1.5, -2.5) })
    .map(({ c, p }) => ({ inputs: c.inputs, run: ([x]) => mg.pow(x!, p) })),
  square: unary(mg.square),
  sqrt: unary(mg.sqrt, 'positive'),
  pow: unary((x) => mg.pow(x, 2.5), 'positive'),
  exp: unary(mg.exp),
  log: unary(mg.log, 'positive'),
  abs: unary(mg.abs, 'awayFromZero'),
  sin: unary(mg.sin),
  cos: unary(mg.cos),
  tanh: unary(mg.tanh),
  sigmoid: unary(mg.sigmoid),
  softplus: unary(mg.softplus),
  relu: unary(mg.relu, 'awayFromZero'),
  leakyRelu: unary((x) => mg.leakyRelu(x, 0.2), 'awayFromZero'),
  add: binary(mg.add),
  sub: binary(mg.sub),
  mul: binary(mg.mul),
  div: binary(mg.div, 'positive'),
  'add/mul/div with number operands': unary((x) => mg.div(mg.mul(mg.add(x, 1.5), 2), mg.add(mg.square(x), 1))),
  sum: axesSubset.map(({ shape, axes, keep, seed }) => ({ inputs: [one(shape, seed)], run: ([x]) => mg.sum(x!, axes, keep) })),
  mean: axesSubset
    .filter(({ shape }) => sizeOf(shape) > 0)
    .map(({ shape, axes, keep, seed }) => ({ inputs: [one(shape, seed)], run: ([x]) => mg.mean(x!, axes, keep) })),
  max: withAxisKept(mg.max, 'distinct'),
  min: withAxisKept(mg.min, 'distinct'),
  'max over all elements': unary((x) => mg.max(x), 'distinct'),
  'min over all elements, axes kept': unary((x) => mg.min(x, undefined, true), 'distinct'),
  logsumexp: withAxisKept(mg.logsumexp),
  softmax: withAxis().map(({ shape, axis, seed }) => ({ inputs: [one(shape, seed)], run: ([x]) => mg.softmax(x!, axis) })),
  logSoftmax: withAxis().map(({ shape, axis, seed }) => ({ inputs: [one(shape, seed)], run: ([x]) => mg.logSoftmax(x!, axis) })),
  reshape: unary((x) => mg.reshape(x, [...x.shape].reverse())),
  'flatten/unsqueeze/squeeze': unary((x) => mg.squeeze(mg.unsqueeze(mg.flatten(x), 0))),
  permute: shapeArb(0, 3)
    .chain((shape) => fc.record({ shape: fc.constant(shape), perm: fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length }), seed: seedArb }))
    .map(({ shape, perm, seed }) => ({ inputs: [one(shape, seed)], run: ([x]) => mg.permute(x!, perm) })),
  transpose: withAxis(2).map(({ shape, seed }) => ({ inputs: [one(shape, seed)], run: ([x]) => mg.transpose(x!) })),
  broadcastTo: fc.record({ shapes: broadcastPairArb, seed: seedArb }).map(({ shapes: [sa, sb], seed }) => {
    const target = sa.length >= sb.length ? sa.map((d, i) => Math.max(d, sb[i - (sa.length - sb.length)] ?? 1)) : sb.map((d, i) => Math.max(d, sa[i - (sb.length - sa.length)] ?? 1));
    return { inputs: [one(sa, seed)], run: ([x]) => mg.broadcastTo(x!, target) };
  }),
  sumTo: fc.record({ shapes: broadcastPairArb, seed: seedArb }).map(({ shapes: [sa, sb], seed }) => {
    const [big, small] = sizeOf(sa) >= sizeOf(sb) && sa.length >= sb.length ? [sa, sb] : [sb, sa];
    return { inputs: [one(big, seed)], run: ([x]) => mg.sumTo(x!, small) };
  }),
  slice: withAxis()
    .chain((c) => {
      const n = c.shape[c.axis < 0 ? c.axis + c.shape.length : c.axis]!;
      return fc.record({ c: fc.constant(c), start: fc.integer({ min: 0, max: n }), len: fc.integer({ min: 0, max: n }) }).map(({ c, start, len }) => ({ ...c, start, end: Math.min(n, start + len) }));
    })
    .map(({ shape, axis, seed, start, end }) => ({ inputs: [one(shape, seed)], run: ([x]) => mg.slice(x!, axis, start, end) })),
  pad: fc
    .record({ s: withAxis(), before: fc.nat(2), after: fc.nat(2) })
    .map(({ s: { shape, axis, seed }, before, after }) => ({ inputs: [one(shape, seed)], run: ([x]) => mg.pad(x!, axis, before, after) })),
  index: withAxis()
    .chain((c) => fc.record({ c: fc.constant(c), i: fc.nat(c.shape[c.axis < 0 ? c.axis + c.shape.length : c.axis]! - 1) }))
    .map(({ c: { shape, axis, seed }, i }) => ({ inputs: [one(shape, seed)], run: ([x]) => mg.index(x!, axis, i) })),
  concat: fc
    .record({ s: withAxis(), lens: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }) })
    .map(({ s: { shape, axis, seed }, lens }) => {
      const a = axis < 0 ? axis + shape.length : axis;
      const inputs = lens.map((l, i) => one(shape.map((d, k) => (k === a ? l : d)), seed + i));
      return { inputs, run: (xs) => mg.concat(xs, axis) };
    }),
  stack: fc
    .record({ shape: shapeArb(0, 2), n: fc.integer({ min: 1, max: 3 }), axisFrac: fc.double({ min: 0, max: 0.999, noNaN: true }), seed: seedArb })
    .map(({ shape, n, axisFrac, seed }) => {
      const axis = Math.floor(axisFrac * (shape.length + 1));
      return { inputs: Array.from({ length: n }, (_, i) => one(shape, seed + i)), run: (xs) => mg.stack(xs, axis) };
    }),
  matmul: fc
    .record({
      batches: broadcastPairArb.filter(([a, b]) => a.length <= 2 && b.length <= 2),
      m: fc.integer({ min: 1, max: 5 }),
      k: fc.integer({ min: 1, max: 5 }),
      n: fc.integer({ min: 1, max: 5 }),
      tA: fc.boolean(),
      tB: fc.boolean(),
      seed: seedArb,
    })
    .map(({ batches: [ba, bb], m, k, n, tA, tB, seed }) => ({
      inputs: [one([...ba, ...(tA ? [k, m] : [m, k])], seed), one([...bb, ...(tB ? [n, k] : [k, n])], seed + 1)],
      run: ([a, b]) => mg.matmul(a!, b!, tA, tB),
    })),
  // A matrix tiled over a batch by broadcastTo (tileParams' case), on either side: the product
  // reads the untiled matrix and routes its gradients to the tiled one.
  matmulTiled: fc
    .record({
      T: fc.integer({ min: 1, max: 3 }),
      m: fc.integer({ min: 1, max: 4 }),
      k: fc.integer({ min: 1, max: 4 }),
      n: fc.integer({ min: 1, max: 4 }),
      left: fc.boolean(),
      tA: fc.boolean(),
      tB: fc.boolean(),
      seed: seedArb,
    })
    .map(({ T, m, k, n, left, tA, tB, seed }) => {
      const aShape = tA ? [k, m] : [m, k], bShape = tB ? [n, k] : [k, n];
      const tile = (w: Tensor) => mg.broadcastTo(mg.unsqueeze(w, 0), [T, ...w.shape]);
      return left
        ? { inputs: [one(aShape, seed), one([T, ...bShape], seed + 1)], run: ([w, b]: Tensor[]) => mg.matmul(tile(w!), b!, tA, tB) }
        : { inputs: [one([T, ...aShape], seed), one(bShape, seed + 1)], run: ([a, w]: Tensor[]) => mg.matmul(a!, tile(w!), tA, tB) };
    }),
  crossEntropy: fc
    .record({ n: fc.integer({ min: 1, max: 5 }), c: fc.integer({ min: 1, max: 5 }), seed: seedArb, reduction: fc.constantFrom('mean', 'sum', 'none') as fc.Arbitrary<mg.Reduction> })
    .chain((r) => fc.record({ r: fc.constant(r), labels: fc.array(fc.nat(r.c - 1), { minLength: r.n, maxLength: r.n }) }))
    .map(({ r: { n, c, seed, reduction }, labels }) => ({ inputs: [one([n, c], seed)], run: ([x]) => mg.crossEntropy(x!, labels, reduction) })),
  mse: fc.record({ shape: shapeArb(), seed: seedArb }).map(({ shape, seed }) => ({ inputs: [one(shape, seed), one(shape, seed + 1)], run: ([a, b]) => mg.mse(a!, b!) })),
  where: fc.record({ shapes: broadcastPairArb, seed: seedArb }).map(({ shapes: [sa, sb], seed }) => {
    const cond = makeTensor(sa, seed + 7).data.map((v) => (v > 0 ? 1 : 0));
    const condT = new mg.Tensor(cond, sa);
    return { inputs: [one(sa, seed), one(sb, seed + 1)], run: ([a, b]) => mg.where(condT, a!, b!) };
  }),
  gather: withAxis()
    .chain((c) => {
      const a = c.axis < 0 ? c.axis + c.shape.length : c.axis;
      return fc.record({ c: fc.constant(c), m: fc.integer({ min: 1, max: 4 }) }).chain(({ c, m }) => {
        const ishape = c.shape.map((d, k) => (k === a ? m : d));
        return fc.record({ c: fc.constant(c), ishape: fc.constant(ishape), idx: fc.array(fc.nat(c.shape[a]! - 1), { minLength: sizeOf(ishape), maxLength: sizeOf(ishape) }) });
      });
    })
    .map(({ c: { shape, axis, seed }, ishape, idx }) => ({
      inputs: [one(shape, seed)],
      run: ([x]) => mg.gather(x!, axis, new mg.Tensor(Float64Array.from(idx), ishape)),
    })),
  scatterAdd: withAxis()
    .chain((c) => {
      const a = c.axis < 0 ? c.axis + c.shape.length : c.axis;
      return fc.record({ m: fc.integer({ min: 1, max: 4 }) }).chain(({ m }) => {
        const ishape = c.shape.map((d, k) => (k === a ? m : d));
        return fc.record({ c: fc.constant(c), ishape: fc.constant(ishape), idx: fc.array(fc.nat(c.shape[a]! - 1), { minLength: sizeOf(ishape), maxLength: sizeOf(ishape) }) });
      });
    })
    .map(({ c: { shape, axis, seed }, ishape, idx }) => ({
      inputs: [one(ishape, seed)],
      run: ([s]) => mg.scatterAdd(s!, axis, new mg.Tensor(Float64Array.from(idx), ishape), shape),
    })),
  conv2d: convArb.map((c) => ({
    inputs: [one([c.n, c.h, c.w, c.c], c.seed), one([c.kh, c.kw, c.c, c.o], c.seed + 1)],
    run: ([x, w]) => mg.conv2d(x!, w!, { stride: c.stride, padding: c.padding }),
  })),
  conv2dInputGrad: convArb.map((c) => ({
    inputs: [one(convOut(c), c.seed), one([c.kh, c.kw, c.c, c.o], c.seed + 1)],
    run: ([dy, w]) => mg.conv2dInputGrad(dy!, w!, [c.n, c.h, c.w, c.c], { stride: c.stride, padding: c.padding }),
  })),
  conv2dFilterGrad: convArb.map((c) => ({
    inputs: [one([c.n, c.h, c.w, c.c], c.seed), one(convOut(c), c.seed + 1)],
    run: ([x, dy]) => mg.conv2dFilterGrad(x!, dy!, [c.kh, c.kw, c.c, c.o], { stride: c.stride, padding: c.padding }),
  })),
  maxPool2d: fc
    .record({ n: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 2, max: 5 }), w: fc.integer({ min: 2, max: 5 }), c: fc.integer({ min: 1, max: 3 }), size: fc.constantFrom(2, 3), seed: seedArb })
    .filter(({ h, w, size }) => h >= size && w >= size)
    .map(({ n, h, w, c, size, seed }) => ({ inputs: [one([n, h, w, c], seed, 'distinct')], run: ([x]) => mg.maxPool2d(x!, size) })),
  batchNorm: fc
    .record({ shape: shapeArb(1, 3).map((s) => [2, ...s]), seed: seedArb })
    .map(({ shape, seed }) => {
      const c = shape[shape.length - 1]!;
      return { inputs: [one(shape, seed), one([c], seed + 1), one([c], seed + 2)], run: ([x, g, b]) => mg.batchNorm(x!, g!, b!) };
    }),
  'batchNorm with given statistics': fc.record({ shape: shapeArb(1, 3), seed: seedArb }).map(({ shape, seed }) => {
    const c = shape[shape.length - 1]!;
    return { inputs: [one(shape, seed), one([c], seed + 1), one([c], seed + 2), one([c], seed + 3), one([c], seed + 4, 'positive')], run: ([x, g, b, m, v]) => mg.batchNorm(x!, g!, b!, { stats: { mean: m!, variance: v! } }) };
  }),
  'oneHot (as a constant factor)': fc
    .record({ n: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 1, max: 4 }), seed: seedArb })
    .chain((r) => fc.record({ r: fc.constant(r), labels: fc.array(fc.nat(r.c - 1), { minLength: r.n, maxLength: r.n }) }))
    .map(({ r: { n, c, seed }, labels }) => ({ inputs: [one([n, c], seed)], run: ([x]) => mg.mul(x!, mg.oneHot(labels, c, x!.dtype)) })),
};

/**
 * The scalar test objective f(x) = Σ W⊙y + ½ Σ V⊙y⊙y with y = op(x) and random W, V (in the
 * inputs' dtype), so the gradient reaching the op varies and the Hessian is non-trivial.
 */
export function objective(run: (xs: Tensor[]) => Tensor, inputs: Tensor[], seed: number): (xs: Tensor[]) => Tensor {
  const y0 = mg.noGrad(() => run(inputs));
  const dt = inputs[0]!.dtype;
  const W = makeTensor(y0.shape, seed + 101, 'any', dt);
  const V = makeTensor(y0.shape, seed + 202, 'any', dt);
  return (xs) => {
    const y = run(xs);
    return mg.add(mg.sum(mg.mul(W, y)), mg.scale(mg.sum(mg.mul(V, mg.square(y))), 0.5));
  };
}

