/**
 * Checks for numeric options (step sizes, counts), shared by the optimisers, the meta-learners
 * and the few-shot trainer's configuration, so a bad value is named where it is given rather
 * than surfacing later as NaN weights or an error deep inside a step. `what` names the option,
 * e.g. `'MAML: innerLr'`. Also `isRecord`, the shape test for parsed JSON objects that the
 * checkpoint readers share, `describeValue` and `showValue`, how errors name a value of the wrong
 * kind and show it, and `checkOptionsObject` for every options argument in the public API (an
 * object, of known keys).
 */

/** Whether `v` is a plain key-value object, as parsed JSON objects are (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value of the wrong kind as an error message names it: `a function`, `an array`, `null`, `number`... */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  return typeof v;
}

/**
 * A value as an error message shows it: strings quoted and arrays bracketed, so `'2'` or `[0, 0]`
 * given for a number is not shown as if it were one (`got "2"`, not `got 2`).
 */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(showValue).join(', ')}]`;
  return String(v);
}

/**
 * The option names a function takes, each mapped to `true`, or to `'flag'` for a boolean option
 * (checked to be one: `{ firstOrder: 'false' }` would read as true). Typed as
 * `OptionKeys<XOptions>`, the list must name every key of the interface and nothing else, so it
 * cannot drift from it.
 */
export type OptionKeys<T> = Readonly<Record<keyof T, true | 'flag'>>;

/** An {@link OptionKeys} table whatever the interface. */
export type OptionTable = Readonly<Record<string, true | 'flag'>>;

/**
 * Throws unless `options` is an object whose keys are all among `known`, with a boolean for each
 * flag. A non-object (an array or a number there: a shape or a stride given bare) and a flag that
 * is not a boolean (`'false'` is truthy) are TypeErrors; a key the function does not take is a
 * RangeError, since a misspelt option (`innerStep` for `innerSteps`) would otherwise be ignored
 * without a word and its default used. `example` shows a good object; `hint` is added to the
 * message for a non-object.
 */
export function checkOptionsObject(op: string, options: unknown, known: OptionTable, example: string, hint = ''): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const got = Array.isArray(options) ? `an array [${options.join(',')}]` : String(options);
    throw new TypeError(`${op}: options must be an object such as ${example}, got ${got}${hint}`);
  }
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(known, key)) {
      const names = Object.keys(known);
      throw new RangeError(`${op}: unknown option '${key}'; ${names.length === 0 ? 'it takes none' : `the options are ${names.join(', ')}`}`);
    }
    if (known[key] === 'flag' && value !== undefined && typeof value !== 'boolean') throw new TypeError(`${op}: ${key} must be true or false, got ${showValue(value)}`);
  }
}

/** Throws a RangeError naming `what` unless `v` is a finite number > 0. */
export function checkPositive(what: string, v: unknown): void {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`${what} must be a positive number, got ${showValue(v)}`);
}

/** Throws a RangeError naming `what` unless `v` is a finite number ≥ 0. */
export function checkNonNegative(what: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${what} must be a non-negative number, got ${showValue(v)}`);
}

/** Throws a RangeError naming `what` unless `v` is an integer ≥ `min` (1: positive, 0: non-negative). */
export function checkInteger(what: string, v: unknown, min: 0 | 1 = 1): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RangeError(`${what} must be a ${min === 1 ? 'positive' : 'non-negative'} integer, got ${showValue(v)}`);
}
