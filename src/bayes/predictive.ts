/**
 * Predictive distributions of ensembles (particles, or draws of a probabilistic meta-learner) and
 * the measures of how good and how honest they are: for regression the mean, Gaussian intervals,
 * their coverage and the negative log-likelihood; for classification the averaged class
 * probabilities, their accuracy and calibration (ECE, MCE, a reliability table).
 */
import { softmax } from '../ops/softmax.js';
import { noGrad } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { fmt } from '../shape.js';

/** The standard normal's quantile function Φ⁻¹(p) (Acklam's rational approximation, relative error below 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must lie in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** A Gaussian predictive distribution at n points. */
export interface RegressionPredictive {
  /** The ensemble's mean at each point. */
  mean: Float64Array;
  /** The ensemble's variance at each point plus the observation noise's. */
  variance: Float64Array;
}

/**
 * The predictive mean and variance of an ensemble's outputs `[S, n]` or `[S, n, 1]` (S members):
 * the members' mean, and their variance (over S, not S − 1) plus `noiseVariance`.
 */
export function regressionPredictive(outputs: Tensor, options: { noiseVariance?: number } = {}): RegressionPredictive {
  if (outputs.ndim < 2 || outputs.ndim > 3 || (outputs.ndim === 3 && outputs.shape[2] !== 1)) throw new RangeError(`regressionPredictive: expected the ensemble's outputs as [members, points] or [members, points, 1], got ${fmt(outputs.shape)}`);
  const noise = options.noiseVariance ?? 0;
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new RangeError(`regressionPredictive: noiseVariance must be a finite number ≥ 0, got ${noise}`);
  const [S, n] = outputs.shape as [number, number];
  const mean = new Float64Array(n);
  const variance = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let s = 0; s < S; s++) m += outputs.data[s * n + i]!;
    m /= S;
    let v = 0;
    for (let s = 0; s < S; s++) v += (outputs.data[s * n + i]! - m) ** 2;
    mean[i] = m;
    variance[i] = v / S + noise;
  }
  return { mean, variance };
}

/** How well a regression predictive fits targets. */
export interface RegressionScores {
  /** Mean squared error of the predictive mean. */
  mse: number;
  /** Mean Gaussian negative log-likelihood of the targets (NaN when a variance is 0). */
  nll: number;
  /** Fraction of targets inside the central interval of each level asked for, e.g. { 0.5: …, 0.9: … }. */
  coverage: Record<string, number>;
}

/** Scores of a predictive against targets `y` (n numbers): MSE, NLL and the coverage of central intervals at `levels` (default 50% and 90%). */
export function regressionScores(p: RegressionPredictive, y: ArrayLike<number>, levels: readonly number[] = [0.5, 0.9]): RegressionScores {
  const n = p.mean.length;
  if (y.length !== n) throw new RangeError(`regressionScores: ${n} predictions but ${y.length} targets`);
  let se = 0;
  let nll = 0;
  for (let i = 0; i < n; i++) {
    const e = y[i]! - p.mean[i]!;
    se += e * e;
    const v = p.variance[i]!;
    nll += v > 0 ? 0.5 * Math.log(2 * Math.PI * v) + (e * e) / (2 * v) : NaN;
  }
  const coverage: Record<string, number> = {};
  for (const level of levels) {
    const z = normalQuantile(0.5 + level / 2);
    let inside = 0;
    for (let i = 0; i < n; i++) if (Math.abs(y[i]! - p.mean[i]!) <= z * Math.sqrt(p.variance[i]!)) inside++;
    coverage[String(level)] = inside / n;
  }
  return { mse: se / n, nll: nll / n, coverage };
}

/** The class probabilities of an ensemble from its members' logits `[S, n, classes]`: the mean of the members' softmax, `[n, classes]`. */
export function classProbabilities(logits: Tensor): Float64Array[] {
  if (logits.ndim !== 3) throw new RangeError(`classProbabilities: expected logits [members, points, classes], got ${fmt(logits.shape)}`);
  const [S, n, C] = logits.shape as [number, number, number];
  const p = noGrad(() => softmax(logits, -1));
  return Array.from({ length: n }, (_, i) => {
    const row = new Float64Array(C);
    for (let s = 0; s < S; s++) for (let c = 0; c < C; c++) row[c]! += p.data[(s * n + i) * C + c]! / S;
    return row;
  });
}

/** A bin of a reliability table: the predictions whose confidence fell in [from, to). */
export interface ReliabilityBin {
  from: number;
  to: number;
  count: number;
  /** Mean confidence (the top class's probability) in the bin. */
  confidence: number;
  /** Fraction of the bin's predictions that were right. */
  accuracy: number;
}

/** Accuracy and calibration of class probabilities. */
export interface Calibration {
  accuracy: number;
  /** Expected calibration error: Σ_bins (count/n)·|accuracy − confidence|. */
  ece: number;
  /** Maximum calibration error over non-empty bins. */
  mce: number;
  /** The reliability table (equal-width confidence bins). */
  bins: ReliabilityBin[];
}

/** Calibration of probabilities (one row per point) against integer labels, over `bins` equal-width confidence bins (default 10). */
export function calibration(probabilities: readonly ArrayLike<number>[], labels: ArrayLike<number>, bins = 10): Calibration {
  const n = probabilities.length;
  if (labels.length !== n) throw new RangeError(`calibration: ${n} predictions but ${labels.length} labels`);
  if (n === 0) throw new RangeError('calibration: no predictions');
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`calibration: bins must be a positive integer, got ${bins}`);
  const count = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const right = new Array<number>(bins).fill(0);
  let correct = 0;
  probabilities.forEach((row, i) => {
    let best = 0;
    for (let c = 1; c < row.length; c++) if (row[c]! > row[best]!) best = c;
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= row.length) throw new RangeError(`calibration: label ${i} is ${label}, not a class index below ${row.length}`);
    const b = Math.min(bins - 1, Math.floor(row[best]! * bins));
    count[b]!++;
    conf[b]! += row[best]!;
    if (best === label) {
      right[b]!++;
      correct++;
    }
  });
  let ece = 0;
  let mce = 0;
  const table: ReliabilityBin[] = count.map((c, b) => {
    const confidence = c > 0 ? conf[b]! / c : 0;
    const accuracy = c > 0 ? right[b]! / c : 0;
    if (c > 0) {
      ece += (c / n) * Math.abs(accuracy - confidence);
      mce = Math.max(mce, Math.abs(accuracy - confidence));
    }
    return { from: b / bins, to: (b + 1) / bins, count: c, confidence, accuracy };
  });
  return { accuracy: correct / n, ece, mce, bins: table };
}
