/** Losses: cross-entropy from logits with integer labels, and mean squared error. */
import { fmt } from '../shape.js';
import { expectTensor, Tensor } from '../tensor.js';
import { neg, sub } from './binary.js';
import { reshape } from './layout.js';
import { mean, sum } from './reduce.js';
import { gather, toIndices, type IndexLike } from './select.js';
import { logSoftmax } from './softmax.js';
import { square } from './unary.js';

/** How per-example losses are combined. */
export type Reduction = 'mean' | 'sum' | 'none';

function reduce(x: Tensor, reduction: Reduction, op: string): Tensor {
  if (reduction === 'mean') return mean(x);
  if (reduction === 'sum') return sum(x);
  if (reduction === 'none') return x;
  throw new RangeError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
}

/**
 * Cross-entropy of `logits` `[n, classes]` against integer `labels` (length n), i.e.
 * `-log softmax(logits)[i, labels[i]]`, averaged by default.
 */
export function crossEntropy(logits: Tensor, labels: IndexLike, reduction: Reduction = 'mean'): Tensor {
  expectTensor(logits, 'crossEntropy');
  if (!(logits instanceof Tensor) || logits.ndim !== 2) {
    throw new RangeError(`crossEntropy: logits must be a 2-D tensor [n, classes], got ${logits instanceof Tensor ? fmt(logits.shape) : typeof logits}`);
  }
  const [n, c] = logits.shape as [number, number];
  const idx = toIndices(labels, c, 'crossEntropy');
  if (idx.data.length !== n) throw new RangeError(`crossEntropy: ${idx.data.length} labels for ${n} rows of logits ${fmt(logits.shape)}`);
  const picked = gather(logSoftmax(logits, 1), 1, new Tensor(Float64Array.from(idx.data), [n, 1]));
  return reduce(neg(reshape(picked, [n])), reduction, 'crossEntropy');
}

/** Mean squared error `mean((pred - target)²)` (shapes must match exactly). */
export function mse(pred: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  expectTensor(pred, 'mse', 'pred');
  expectTensor(target, 'mse', 'target');
  if (fmt(pred.shape) !== fmt(target.shape)) throw new RangeError(`mse: pred shape ${fmt(pred.shape)} differs from target shape ${fmt(target.shape)}`);
  return reduce(square(sub(pred, target)), reduction, 'mse');
}
