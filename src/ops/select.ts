/**
 * Selection and masks: `where`, `gather` ↔ `scatterAdd` (each other's derivative), `oneHot`, and
 * the comparison masks. Masks, conditions and indices are constants: no gradient flows to them.
 */
import { KEEP_NOTHING, record, tangentRule, tracks1, tracks2 } from '../autograd.js';
import { equalRun, greaterRun, whereInto } from '../kernels/elementwise.js';
import { splitAt } from '../kernels/layout.js';
import { broadcastShapes, flattenNested, fmt, normAxis, sizeOf } from '../shape.js';
import { expectTensor, allocData, Tensor, type DType, type NestedArray, type VjpRule } from '../tensor.js';
import { binary, expandData, operands, type TensorLike } from './binary.js';
import { broadcastTo, sumTo } from './layout.js';

/** A typed array of indices or class labels (whole numbers in any element type). */
export type IndexArray = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** Integer indices: a tensor of integral values, a typed array, or (nested) number arrays. */
export type IndexLike = Tensor | IndexArray | NestedArray;

/** @internal Integer indices with their shape, validated. */
export interface Indices {
  data: Int32Array;
  shape: number[];
}

/** @internal Reads indices, checking they are integers in [0, bound). */
export function toIndices(index: IndexLike, bound: number, op: string): Indices {
  let data: ArrayLike<number>;
  let shape: number[];
  if (index instanceof Tensor) {
    data = index.data;
    shape = [...index.shape];
  } else if (ArrayBuffer.isView(index)) {
    // Any typed array of whole numbers: Int32Array, or labels that came as Float32Array, say.
    data = index;
    shape = [data.length];
  } else {
    ({ flat: data, shape } = flattenNested(index, op));
  }
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= bound) throw new RangeError(`${op}: index ${v} at position ${i} is not an integer in [0, ${bound})`);
    out[i] = v;
  }
  return { data: out, shape };
}

/** Elementwise choice: `a` where `cond` is non-zero, `b` elsewhere (all three broadcast). */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  expectTensor(cond, 'where');
  if (!(cond instanceof Tensor)) throw new TypeError('where: cond must be a Tensor (non-zero means true)');
  const [x, y] = operands(a, b, 'where');
  const shape = broadcastShapes(broadcastShapes(cond.shape, x.shape, 'where'), y.shape, 'where');
  const n = sizeOf(shape);
  const out = allocData(x.dtype, n);
  whereInto(expandData(cond, shape, n), expandData(x, shape, n), expandData(y, shape, n), out);
  const t = new Tensor(out, shape);
  return tracks2(x, y) ? record(t, 'where', [x, y], whereVjp, cond, KEEP_NOTHING) : t;
}
const whereVjp: VjpRule = (g, _o, node, needs) => {
  const [a, b] = node.inputs;
  const cond = node.saved as Tensor;
  return [needs[0] ? sumTo(where(cond, g, 0), a.shape) : null, needs[1] ? sumTo(where(cond, 0, g), b.shape) : null];
};

/** Constant mask: 1 where `a > b`, else 0 (broadcasting). */
export function greater(a: TensorLike, b: TensorLike): Tensor {
  return compare(a, b, 'greater', false);
}
/** Constant mask: 1 where `a < b`, else 0 (broadcasting). */
export function less(a: TensorLike, b: TensorLike): Tensor {
  return compare(b, a, 'less', false);
}
/** Constant mask: 1 where `a == b`, else 0 (broadcasting). */
export function equal(a: TensorLike, b: TensorLike): Tensor {
  return compare(a, b, 'equal', true);
}
function compare(a: TensorLike, b: TensorLike, op: string, eq: boolean): Tensor {
  const [x, y] = operands(a, b, op);
  return binary(x, y, op, eq ? equalRun : greaterRun);
}

/**
 * Picks along `axis`: `out[..., i, ...] = x[..., index[..., i, ...], ...]` (PyTorch `gather`,
 * NumPy `take_along_axis`). `index` has `x`'s shape except along `axis`.
 */
export function gather(x: Tensor, axis: number, index: IndexLike): Tensor {
  expectTensor(x, 'gather');
  const a = normAxis(axis, x.ndim, 'gather');
  const idx = toIndices(index, x.shape[a]!, 'gather');
  checkIndexShape(idx.shape, x.shape, a, 'gather');
  const [outer, n, inner] = splitAt(x.shape, a);
  const m = idx.shape[a]!;
  const out = allocData(x.dtype, idx.data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < m; i++) {
      const row = (o * m + i) * inner;
      for (let j = 0; j < inner; j++) out[row + j] = x.data[(o * n + idx.data[row + j]!) * inner + j]!;
    }
  }
  const t = new Tensor(out, idx.shape);
  return tracks1(x) ? record(t, 'gather', [x], gatherVjp, { a, idx }, KEEP_NOTHING) : t;
}
const gatherVjp: VjpRule = (g, _o, node) => {
  const { a, idx } = node.saved as { a: number; idx: Indices };
  return [scatterAddIdx(g, a, idx, node.inputs[0]!.shape)];
};

/**
 * Zeros of shape `shape` with `src` added at the positions `index` names along `axis` (the
 * adjoint of {@link gather}; repeated indices accumulate).
 */
export function scatterAdd(src: Tensor, axis: number, index: IndexLike, shape: readonly number[]): Tensor {
  expectTensor(src, 'scatterAdd');
  const a = normAxis(axis, shape.length, 'scatterAdd');
  const idx = toIndices(index, shape[a]!, 'scatterAdd');
  checkIndexShape(idx.shape, shape, a, 'scatterAdd');
  if (fmt(idx.shape) !== fmt(src.shape)) throw new RangeError(`scatterAdd: src shape ${fmt(src.shape)} must equal the index shape ${fmt(idx.shape)}`);
  return scatterAddIdx(src, a, idx, shape);
}
function scatterAddIdx(src: Tensor, a: number, idx: Indices, shape: readonly number[]): Tensor {
  const [outer, n, inner] = splitAt(shape, a);
  const m = idx.shape[a]!;
  const out = allocData(src.dtype, sizeOf(shape));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < m; i++) {
      const row = (o * m + i) * inner;
      for (let j = 0; j < inner; j++) {
        const p = (o * n + idx.data[row + j]!) * inner + j;
        out[p] = out[p]! + src.data[row + j]!;
      }
    }
  }
  const t = new Tensor(out, [...shape]);
  return tracks1(src) ? record(t, 'scatterAdd', [src], scatterAddVjp, { a, idx }, KEEP_NOTHING) : t;
}
const scatterAddVjp: VjpRule = (g, _o, node) => {
  const { a, idx } = node.saved as { a: number; idx: Indices };
  return [gather(g, a, new Tensor(Float64Array.from(idx.data), idx.shape))];
};

function checkIndexShape(ishape: readonly number[], xshape: readonly number[], a: number, op: string): void {
  const ok = ishape.length === xshape.length && ishape.every((d, i) => i === a || d === xshape[i]);
  if (!ok) throw new RangeError(`${op}: index shape ${fmt(ishape)} must match ${fmt(xshape)} on every axis but ${a}`);
}

/** One-hot rows: `[...labels.shape, numClasses]`, a constant. */
export function oneHot(labels: IndexLike, numClasses: number, dtype: DType = 'float32'): Tensor {
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new RangeError(`oneHot: numClasses must be a positive integer, got ${numClasses}`);
  const idx = toIndices(labels, numClasses, 'oneHot');
  const out = allocData(dtype, idx.data.length * numClasses);
  for (let i = 0; i < idx.data.length; i++) out[i * numClasses + idx.data[i]!] = 1;
  return new Tensor(out, [...idx.shape, numClasses]);
}

// Tangent rules (forward mode): where, gather and scatterAdd are linear in their tensor inputs.
tangentRule('where', ([ta, tb], out, _inputs, node) => broadcastTo(where(node.saved as Tensor, ta ?? 0, tb ?? 0), out.shape));
tangentRule('gather', ([t], _out, _inputs, node) => {
  const { a, idx } = node.saved as { a: number; idx: Indices };
  return gather(t!, a, new Tensor(Float64Array.from(idx.data), idx.shape));
});
tangentRule('scatterAdd', ([t], out, _inputs, node) => {
  const { a, idx } = node.saved as { a: number; idx: Indices };
  return scatterAddIdx(t!, a, idx, out.shape);
});
