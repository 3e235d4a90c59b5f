/**
 * Weight initialisers. Each draws from a seeded generator (option `rng`, default: the
 * library-wide one).
 *
 * - `uniformFanIn` (the default for Linear, as PyTorch's nn.Linear): U(−1/√fan_in, 1/√fan_in)
 *   for weights and biases.
 * - `heNormal`: N(0, 2/fan_in), for ReLU networks.
 * - `glorotUniform`: U(−√(6/(fan_in+fan_out)), +√(…)).
 * - `zerosInit`: zeros (biases).
 */
import { rand, randn, zeros } from '../creation.js';
import type { Rng } from '../random.js';
import type { DType, Tensor } from '../tensor.js';

/** Draws a tensor of `shape` given the layer's fan-in and fan-out. */
export type Initializer = (shape: readonly number[], fanIn: number, fanOut: number, options: { rng?: Rng; dtype?: DType }) => Tensor;

/** U(−1/√fan_in, 1/√fan_in), as PyTorch's nn.Linear: the default for weights and biases. */
export const uniformFanIn: Initializer = (shape, fanIn, _fanOut, o) => {
  const r = 1 / Math.sqrt(fanIn);
  return rand(shape, { ...o, low: -r, high: r });
};

/** N(0, 2/fan_in) (He et al. 2015), for ReLU networks. */
export const heNormal: Initializer = (shape, fanIn, _fanOut, o) => randn(shape, { ...o, std: Math.sqrt(2 / fanIn) });

/** U(−√(6/(fan_in+fan_out)), +√(6/(fan_in+fan_out))) (Glorot & Bengio 2010). */
export const glorotUniform: Initializer = (shape, fanIn, fanOut, o) => {
  const r = Math.sqrt(6 / (fanIn + fanOut));
  return rand(shape, { ...o, low: -r, high: r });
};

/** Zeros, of the requested dtype (for biases). */
export const zerosInit: Initializer = (shape, _fanIn, _fanOut, o) => zeros(shape, { dtype: o.dtype });
