/** Command-line option parsing shared by the CLIs. */

/** An integer option at least `min`, or `fallback` when absent; a bad value names the option. */
export function intOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  // Decimal digits only: Number() would also take '0x2', ' 2 ', '2e0' and '' (as 0).
  if (!/^[0-9]+$/.test(value)) throw new RangeError(`--${name} must be an integer ≥ ${min}, got '${value}'`);
  const n = Number(value);
  // Safe integers only: beyond 2^53 neighbouring values cannot be told apart.
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`--${name} must be an integer ≥ ${min}, got '${value}'`);
  return n;
}
