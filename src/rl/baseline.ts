/**
 * The linear feature baseline of rllab, which the MAML paper's policy-gradient experiments use:
 * returns are regressed, per task, on [s, s², t/100, (t/100)², (t/100)³, 1] (s clipped to ±10)
 * by ridge regression, and the fit is subtracted from the returns.
 */

/** Features of one time step into `out` at `offset`; returns the feature count. */
function features(obs: Float32Array, o: number, d: number, t: number, out: Float64Array, offset: number): number {
  let k = offset;
  for (let j = 0; j < d; j++) out[k++] = Math.max(-10, Math.min(10, obs[o + j]!));
  for (let j = 0; j < d; j++) {
    const v = Math.max(-10, Math.min(10, obs[o + j]!));
    out[k++] = v * v;
  }
  const a = t / 100;
  out[k++] = a;
  out[k++] = a * a;
  out[k++] = a * a * a;
  out[k++] = 1;
  return k - offset;
}

/** Solves (A + λI) x = b for symmetric positive semi-definite A (n×n, row-major) by Cholesky; raises λ tenfold until it succeeds. */
export function ridgeSolve(A: Float64Array, b: Float64Array, n: number, lambda = 1e-5): Float64Array {
  for (let reg = lambda, tries = 0; tries < 10; reg *= 10, tries++) {
    const L = new Float64Array(n * n);
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let s = A[i * n + j]! + (i === j ? reg : 0);
        for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
        if (i === j) {
          if (!(s > 0)) ok = false;
          else L[i * n + i] = Math.sqrt(s);
        } else L[i * n + j] = s / L[j * n + j]!;
      }
    }
    if (!ok) continue;
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = b[i]!;
      for (let k = 0; k < i; k++) s -= L[i * n + k]! * y[k]!;
      y[i] = s / L[i * n + i]!;
    }
    const x = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!;
      x[i] = s / L[i * n + i]!;
    }
    if (x.every(Number.isFinite)) return x;
  }
  throw new RangeError('ridgeSolve: the system stays singular even with a large ridge term');
}

/**
 * The baseline's predictions for the `rows` time steps listed (`steps[i]` = [observation offset,
 * time index]) after fitting it to `returns` on those same steps.
 */
export function fitLinearBaseline(obs: Float32Array, d: number, steps: readonly (readonly [number, number])[], returns: Float64Array): Float64Array {
  const m = 2 * d + 4;
  const A = new Float64Array(m * m);
  const b = new Float64Array(m);
  const f = new Float64Array(m);
  for (const [i, [o, t]] of steps.entries()) {
    features(obs, o, d, t, f, 0);
    for (let p = 0; p < m; p++) {
      b[p] = b[p]! + f[p]! * returns[i]!;
      for (let q = 0; q < m; q++) A[p * m + q] = A[p * m + q]! + f[p]! * f[q]!;
    }
  }
  const w = ridgeSolve(A, b, m);
  return Float64Array.from(steps, ([o, t]) => {
    features(obs, o, d, t, f, 0);
    let s = 0;
    for (let p = 0; p < m; p++) s += w[p]! * f[p]!;
    return s;
  });
}
