/**
 * Softmax and log-softmax along an axis, composed from `logsumexp` (stable) and elementwise ops,
 * so their derivatives of every order come from those ops' rules.
 */
import { normAxis } from '../shape.js';
import { expectTensor, type Tensor } from '../tensor.js';
import { sub } from './binary.js';
import { logsumexp } from './reduce.js';
import { exp } from './unary.js';

/** `x - logsumexp(x)` along `axis` (default: last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  expectTensor(x, 'logSoftmax');
  normAxis(axis, x.ndim, 'logSoftmax'); // a bad axis is named here, not inside logsumexp
  return sub(x, logsumexp(x, axis, true));
}

/** `exp(x) / Σ exp(x)` along `axis` (default: last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  expectTensor(x, 'softmax');
  normAxis(axis, x.ndim, 'softmax');
  return exp(logSoftmax(x, axis));
}
