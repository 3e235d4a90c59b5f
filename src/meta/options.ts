/**
 * Checks for the meta-learners' numeric options, so a bad value is named when the learner is
 * built rather than surfacing later as NaN weights or an error deep inside a step.
 */

/** Throws a RangeError naming `owner` and `name` unless `v` is a finite number > 0. */
export function checkPositive(owner: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`${owner}: ${name} must be a positive number, got ${String(v)}`);
}

/** Throws a RangeError naming `owner` and `name` unless `v` is a finite number ≥ 0. */
export function checkNonNegative(owner: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${owner}: ${name} must be a non-negative number, got ${String(v)}`);
}

/** Throws a RangeError naming `owner` and `name` unless `v` is an integer ≥ 1. */
export function checkPositiveInteger(owner: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${owner}: ${name} must be a positive integer, got ${String(v)}`);
}
