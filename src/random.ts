import { describeValue, showValue } from './checks.js';

/**
 * Seeded pseudo-random numbers. Every random draw in metagrad goes through an {@link Rng}: pass
 * one explicitly (`{ rng }` options) or set the library-wide default with {@link manualSeed}.
 *
 * The generator is xoshiro128** (Blackman & Vigna), seeded through splitmix32, so a seed gives
 * the same stream on every platform. Normal draws use the Marsaglia polar method.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare = 0;
  private hasSpare = false;

  /** @param seed any safe integer; the same seed gives the same stream, different seeds different ones. */
  constructor(seed: number = 0) {
    this.seed(seed);
  }

  /** Restarts the stream from `seed`. */
  seed(seed: number): void {
    // 1.5 would silently give seed 1's stream, and beyond 2^53 neighbouring integers cannot be
    // told apart: refuse them rather than alias two seeds.
    if (!Number.isInteger(seed)) throw new TypeError(`Rng.seed: seed must be an integer, got ${showValue(seed)}`);
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng.seed: seed must be a safe integer (|seed| ≤ 2^53 − 1), got ${seed}`);
    let x = seed >>> 0;
    const next = (): number => {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // The high bits (0 for seeds in [0, 2^32), whose streams stay as they always were) are mixed
    // in too, so 2^32 and 0, or −1 and 2^32 − 1, are different seeds.
    const hi = Math.floor(seed / 4294967296);
    if (hi !== 0) {
      x = (x ^ hi) >>> 0;
      this.s0 = (this.s0 ^ next()) >>> 0;
      this.s1 = (this.s1 ^ next()) >>> 0;
      this.s2 = (this.s2 ^ next()) >>> 0;
      this.s3 = (this.s3 ^ next()) >>> 0 || 1; // never the all-zero state, which yields only zeros
    }
    this.hasSpare = false;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 = s2 ^ s0;
    this.s3 = s3 ^ s1;
    this.s1 = s1 ^ this.s2;
    this.s0 = s0 ^ this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** A uniform float64 in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform float64 in [low, high). */
  uniformIn(low: number, high: number): number {
    if (!(low <= high) || !Number.isFinite(low) || !Number.isFinite(high)) throw new RangeError(`Rng.uniformIn: need finite low ≤ high, got ${showValue(low)} and ${showValue(high)}`);
    return low + (high - low) * this.uniform();
  }

  /** A standard normal draw (mean 0, standard deviation 1). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Fisher–Yates shuffle of `items` in place; returns it. */
  shuffle<T>(items: T[]): T[] {
    if (!Array.isArray(items)) throw new TypeError(`Rng.shuffle: items must be an array, got ${typeof items === 'number' ? items : describeValue(items)}`);
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  /** `k` distinct integers from [0, n), in random order. */
  sample(n: number, k: number): number[] {
    if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`Rng.sample: cannot draw ${k} distinct values from ${n}`);
    const pool = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const t = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = t;
    }
    return pool.slice(0, k);
  }

  /** A new generator seeded from this one: independent streams for sub-components. */
  fork(): Rng {
    return new Rng(this.nextU32());
  }

  /** The generator's full state, to save in a checkpoint. */
  getState(): number[] {
    // Unsigned, whichever way the words were last written, so equal states compare equal.
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.hasSpare ? 1 : 0, this.spare];
  }

  /** Restores a state from {@link getState}. */
  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== 6) throw new RangeError(`Rng.setState: expected the 6 numbers of getState(), got ${JSON.stringify(state)}`);
    const words = state.slice(0, 4);
    // xoshiro's state must be four 32-bit words, not all zero (that state only ever yields zeros).
    // A word may be signed: getState wrote the words as the generator last stored them (signed or
    // not) until it made them unsigned, and checkpoints from then hold such states.
    if (!words.every((w) => Number.isInteger(w) && w >= -(2 ** 31) && w < 2 ** 32) || words.every((w) => w === 0) || (state[4] !== 0 && state[4] !== 1) || !Number.isFinite(state[5])) {
      throw new RangeError(`Rng.setState: ${JSON.stringify(state)} is not a generator state (four 32-bit words, signed or unsigned, not all zero; 0 or 1; a finite number)`);
    }
    this.s0 = state[0]! >>> 0;
    this.s1 = state[1]! >>> 0;
    this.s2 = state[2]! >>> 0;
    this.s3 = state[3]! >>> 0;
    this.hasSpare = state[4] === 1;
    this.spare = state[5]!;
  }
}

let defaultRng = new Rng(0);

/** Reseeds the library-wide default generator used when no `rng` option is given. */
export function manualSeed(seed: number): void {
  defaultRng = new Rng(seed);
}

/** The library-wide default generator (seed 0 until {@link manualSeed} is called). */
export function getDefaultRng(): Rng {
  return defaultRng;
}

/** An `rng` option resolved: the generator given, or the default one; anything else is named (`what` says whose option). */
export function rngOption(what: string, rng: unknown): Rng {
  if (rng === undefined) return defaultRng;
  // Checked by shape rather than instanceof, so a generator from a second copy of the library still works.
  const r = rng as Record<string, unknown> | null;
  const methods = ['nextU32', 'uniform', 'uniformIn', 'normal'];
  if (typeof r !== 'object' || r === null || !methods.every((m) => typeof r[m] === 'function')) {
    const got = typeof r === 'object' && r !== null ? String(r.constructor?.name ?? 'an object') : String(rng);
    throw new TypeError(`${what}: rng must be an Rng (new Rng(seed)), got ${got}`);
  }
  return rng as Rng;
}

/**
 * The generator of meta-iteration `iteration` in a run seeded with `seed`: training noise drawn
 * from it does not depend on how many draws earlier iterations made, so a resumed run draws what
 * the uninterrupted one would.
 */
export function iterationRng(seed: number, iteration: number): Rng {
  return new Rng((((seed >>> 0) ^ Math.imul(iteration + 1, 0x9e3779b1)) >>> 0) + Math.floor(seed / 4294967296) * 4294967296);
}
