/**
 * Gaussian policies: an MLP gives the mean action, a learned log standard deviation per action
 * dimension (independent of the state) the spread, as in the MAML paper's policies. Parameters
 * are the MLP's followed by `logStd` `[1, actions]`; with a leading task axis on every parameter
 * (`tileParams`) and on the observations, each task runs its own policy in one computation.
 */
import { add, mul, sub } from '../ops/binary.js';
import { sum } from '../ops/reduce.js';
import { exp, scale, square } from '../ops/unary.js';
import { forwardStacked, type InitOptions, type Model } from '../nn/model.js';
import { mlp, type ActivationName } from '../nn/mlp.js';
import { full } from '../creation.js';
import { noGrad } from '../autograd.js';
import type { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { checkOptionsObject, checkPositive, type OptionKeys } from '../checks.js';

/** A {@link Model} whose output is the mean action, with the log-density and KL of its Gaussian. */
export interface GaussianPolicy extends Model {
  /** The mean network's inputs. */
  readonly observationSize: number;
  /** Action dimensions. */
  readonly actionSize: number;
  /** log π(a | s) summed over action dimensions: `[n]` for `[n, d]` inputs, `[T, n]` stacked. */
  logProb(params: readonly Tensor[], observations: Tensor, actions: Tensor): Tensor;
  /** KL(π_old ‖ π_params) at each observation: `[n]`, or `[T, n]` stacked (`old` is not differentiated). */
  kl(old: readonly Tensor[], params: readonly Tensor[], observations: Tensor): Tensor;
  /** Actions drawn from the policy at `observations` (stacked: `[T, n, d]` with tiled params), off the tape. */
  sample(params: readonly Tensor[], observations: Tensor, rng: Rng): Float32Array;
}

/** Options of {@link gaussianMlpPolicy}. */
export interface GaussianPolicyOptions {
  /** Hidden activation. Default 'relu' (the MAML paper's). */
  activation?: ActivationName;
  /** The initial standard deviation of every action dimension. Default 1. */
  initStd?: number;
}

const POLICY_OPTIONS: OptionKeys<GaussianPolicyOptions> = { activation: true, initStd: true };
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** A Gaussian MLP policy with layer sizes `sizes` (observations first, actions last): the MAML paper's is [d, 100, 100, a]. */
export function gaussianMlpPolicy(sizes: readonly number[], options: GaussianPolicyOptions = {}): GaussianPolicy {
  checkOptionsObject('gaussianMlpPolicy', options, POLICY_OPTIONS, "{ initStd: 1, activation: 'relu' }");
  const net = mlp(sizes, { activation: options.activation ?? 'relu' });
  const initStd = options.initStd ?? 1;
  checkPositive('gaussianMlpPolicy: initStd', initStd);
  const actions = sizes[sizes.length - 1]!;
  const layers = 2 * (sizes.length - 1);
  const split = (params: readonly Tensor[]): [Tensor[], Tensor] => {
    if (params.length !== layers + 1) throw new RangeError(`gaussianMlpPolicy: expected ${layers + 1} parameter tensors (the MLP's and logStd), got ${params.length}`);
    return [params.slice(0, layers), params[layers]!];
  };
  const mean = (params: readonly Tensor[], obs: Tensor): [Tensor, Tensor] => {
    const [w, logStd] = split(params);
    const stacked = obs.ndim === 3;
    return [stacked ? forwardStacked(net, w, obs, obs.shape[0]!) : net.forward(w, obs), logStd];
  };
  return {
    observationSize: sizes[0]!,
    actionSize: actions,
    init(o: InitOptions = {}) {
      return [...net.init(o), full([1, actions], Math.log(initStd), { dtype: o.dtype ?? 'float32' })];
    },
    forward: (params, x) => mean(params, x)[0],
    logProb(params, obs, act) {
      const [mu, logStd] = mean(params, obs);
      // −½ Σ ((a − μ)/σ)² − Σ log σ − (d/2) log 2π
      const z = mul(sub(act, mu), exp(scale(logStd, -1)));
      const quad = scale(sum(square(z), -1), -0.5);
      return add(sub(quad, sum(logStd, -1)), -actions * HALF_LOG_2PI);
    },
    kl(old, params, obs) {
      const [muOld, lsOld] = noGrad(() => mean(old, obs));
      const [mu, ls] = mean(params, obs);
      // Σ [log σ − log σ_old + (σ_old² + (μ_old − μ)²) / (2σ²) − ½]
      const num = add(exp(scale(lsOld, 2)), square(sub(muOld, mu)));
      const terms = add(sub(ls, lsOld), mul(num, scale(exp(scale(ls, -2)), 0.5)));
      return add(sum(terms, -1), -0.5 * actions);
    },
    sample(params, obs, rng) {
      return noGrad(() => {
        const [mu, logStd] = mean(params, obs);
        const out = new Float32Array(mu.size);
        const per = logStd.size / (obs.ndim === 3 ? obs.shape[0]! : 1); // logStd is [1, a] or [T, 1, a]
        const rows = mu.size / actions / (obs.ndim === 3 ? obs.shape[0]! : 1);
        for (let i = 0; i < mu.size; i++) {
          const task = Math.floor(i / (rows * actions));
          out[i] = mu.data[i]! + Math.exp(logStd.data[task * per + (i % actions)]!) * rng.normal();
        }
        return out;
      });
    },
  };
}
