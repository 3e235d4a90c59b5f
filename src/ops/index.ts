/** Every differentiable op of the engine, grouped by module. */
export { add, sub, mul, div, neg, type TensorLike } from './binary.js';
export { scale, pow, square, sqrt, exp, log, abs, sign, sin, cos, tanh, sigmoid, softplus, relu, leakyRelu } from './unary.js';
export { reshape, unsqueeze, squeeze, permute, transpose, broadcastTo, sumTo, slice, pad, index, concat, stack, flatten, astype } from './layout.js';
export { sum, mean, max, min, logsumexp, type Axes } from './reduce.js';
export { matmul } from './matmul.js';
export { where, greater, less, equal, gather, scatterAdd, oneHot, type IndexLike, type IndexArray } from './select.js';
export { softmax, logSoftmax } from './softmax.js';
export { crossEntropy, mse, type Reduction } from './loss.js';
export { conv2d, conv2dInputGrad, conv2dFilterGrad, maxPool2d, type ConvOptions, type Padding } from './conv.js';
export { batchNorm, batchMoments, type BatchNormOptions } from './batchnorm.js';
