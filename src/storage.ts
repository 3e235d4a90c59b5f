/**
 * Tensor storage: where `allocData` gets its typed arrays, and the pool of recycled ones.
 *
 * A fresh typed array of tens of kilobytes costs far more than writing it: V8 zero-fills it,
 * the allocator may map fresh pages that fault on first touch, and the external memory it adds
 * drives extra garbage collections (measured here: 18 µs for a fresh 160 kB array against 2 µs
 * for re-zeroing one already held). A MAML step allocates a few megabytes of such arrays, most
 * of them gradients that die inside the backward pass.
 *
 * So the backward pass hands back what it can prove dead: a gradient allocated during the
 * same pass, that the pass has consumed, that no gradient it still holds shares, and that is
 * neither a requested gradient nor anything a caller passed in (see `runTape` in autograd.ts).
 * `allocData` serves requests of the same dtype and length from those arrays, zero-filled as a
 * fresh array is; `allocOutput` skips the zeroing, for kernels that write every element. Only
 * arrays of at least {@link POOL_MIN_ELEMENTS} elements are kept, and the pool holds at most
 * {@link setPoolLimit} bytes (default 32 MiB); {@link clearPool} empties it.
 *
 * Nothing a caller can reach is ever recycled: tensors the user created, gradients returned by
 * `grad`/`backward`, forward results and anything recorded on the tape keep their arrays for as
 * long as they live, exactly as without the pool.
 *
 * Small arrays (65 bytes to 4 kB) never reach the pool: they are carved from shared 32 kB
 * slabs instead, because giving each its own buffer costs more than most kernels that fill them
 * (see {@link setSlabAllocation}).
 *
 * With the environment variable `METAGRAD_POOL_POISON=1` (the test suite sets it), recycled
 * arrays are filled with NaN, so a kernel that skips an element of an `allocOutput` array shows
 * up as NaN in its result instead of as stale numbers.
 */
import type { DType, TypedArray } from './dtype.js';

/**
 * Arrays shorter than this are not pooled. A fresh small array still costs ≈ 1 µs, but pooling
 * down to 128 elements measured the same on a sine MAML step, so the pool keeps to large ones.
 */
export const POOL_MIN_ELEMENTS = 1024;

const pools = { float32: new Map<number, Float32Array[]>(), float64: new Map<number, Float64Array[]>() };
let pooledBytes = 0;
let limitBytes = 32 * 2 ** 20;
/** Arrays allocated since the innermost {@link trackAllocations} began (weakly held), or null. */
let tracked: WeakSet<TypedArray> | null = null;

const poison = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.METAGRAD_POOL_POISON === '1';

/** A zero-filled array of `n` elements: recycled when the pool has one of that dtype and length. */
export function allocData(dtype: DType, n: number): TypedArray {
  return take(dtype, n, true);
}

/**
 * An array of `n` elements whose contents are unspecified (a recycled array keeps old
 * values): only for a kernel that writes every element before anything reads it.
 */
export function allocOutput(dtype: DType, n: number): TypedArray {
  return take(dtype, n, false);
}

function take(dtype: DType, n: number, zero: boolean): TypedArray {
  let a: TypedArray | undefined;
  const bytes = n * (dtype === 'float64' ? 8 : 4);
  if (bytes > SLAB_MIN_BYTES && bytes < SLAB_MAX_BYTES && slabEnabled) return carve(dtype, n, bytes);
  if (n >= POOL_MIN_ELEMENTS) {
    a = (pools[dtype] as Map<number, TypedArray[]>).get(n)?.pop();
    if (a !== undefined) {
      pooledBytes -= a.byteLength;
      if (zero) a.fill(0);
    }
    a ??= dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    pooled.delete(a);
    if (tracked !== null) tracked.add(a);
    scopes[scopes.length - 1]?.arrays.push(a);
    return a;
  }
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/**
 * Arrays of more than this many bytes (and less than {@link SLAB_MAX_BYTES}) are carved from a
 * shared slab. V8 keeps typed arrays of up to 64 bytes inside its own heap, where they cost
 * ≈ 40 ns; a larger one gets a separately allocated, zeroed backing store and costs ≈ 1 µs
 * (measured: 0.66 µs for 20 floats, 1.0 µs for 400, 1.3 µs for 1,000), as much as the whole
 * kernel of a [10×40]·[40×40] product. A view on an existing slab costs 0.04–0.36 µs.
 */
const SLAB_MIN_BYTES = 64;
/** Arrays of at least this many bytes get their own buffer (large ones may be pooled instead). */
const SLAB_MAX_BYTES = 4096;
/**
 * Size of a slab. Larger slabs amortise their own allocation better (views of 1,000 floats:
 * 0.92 µs each from 8 kB slabs, 0.36 µs from 32 kB, 0.32 µs from 64 kB) but a single live
 * view keeps its whole slab alive, so this is also the most one small tensor can pin.
 */
const SLAB_BYTES = 32 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;
let slabEnabled = true;

/**
 * A fresh, zero-filled array of `n` elements (`bytes` bytes) on the current slab, starting a new
 * slab when it is full. Slabs are never reused: a slab is ordinary garbage once no array
 * carved from it is reachable, which is the same rule as Node's `Buffer` pool.
 */
function carve(dtype: DType, n: number, bytes: number): TypedArray {
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const a = dtype === 'float64' ? new Float64Array(slab, slabUsed, n) : new Float32Array(slab, slabUsed, n);
  slabUsed += (bytes + 15) & ~15;
  return a;
}

/**
 * Turns the carving of small arrays (65 bytes to 4 kB) from shared 32 kB slabs on or off
 * (default on); returns the previous setting. With it on, a small tensor's `data` is a view
 * into a slab shared with other tensors (so `data.buffer` is larger than the tensor, and its
 * `byteOffset` may be non-zero), and one small tensor kept alive keeps its whole slab (at most
 * 32 kB) alive. Turn it off for code that needs each array to own its buffer, for example to
 * transfer it to a worker.
 */
export function setSlabAllocation(on: boolean): boolean {
  if (typeof on !== 'boolean') throw new TypeError(`setSlabAllocation: expected a boolean, got ${typeof on}`);
  const prev = slabEnabled;
  slabEnabled = on;
  return prev;
}

/**
 * @internal Runs `fn` recording which poolable arrays {@link allocData} hands out meanwhile;
 * `fn` receives that set. It holds them weakly, so tracking never keeps an array alive. Nested
 * calls record into their own set only, so an outer caller never sees (or recycles) what an
 * inner one allocated.
 */
export function trackAllocations<T>(fn: (fresh: WeakSet<TypedArray>) => T): T {
  const outer = tracked;
  tracked = new WeakSet<TypedArray>();
  try {
    return fn(tracked);
  } finally {
    tracked = outer;
  }
}

/** Arrays now in the pool: recycling one twice would hand it to two owners. */
const pooled = new WeakSet<TypedArray>();

/** An open allocation scope: the poolable arrays handed out in it, and buffers that must survive it. */
interface Scope {
  arrays: TypedArray[];
  kept: Set<ArrayBufferLike>;
}
const scopes: Scope[] = [];

/**
 * @internal Runs `fn` in an allocation scope, then recycles every poolable array handed out
 * meanwhile except those whose buffers `survivors(result)` lists or {@link keepAlive} marked;
 * the survivors count as allocations of the enclosing scope, if any. The caller guarantees that
 * nothing else allocated in `fn` is used again (see `tidy`). If `fn` throws nothing is recycled.
 */
export function allocationScope<T>(fn: () => T, survivors: (result: T) => Iterable<ArrayBufferLike>): T {
  const scope: Scope = { arrays: [], kept: new Set() };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  for (const b of survivors(result)) scope.kept.add(b);
  const outer = scopes[scopes.length - 1];
  for (const a of scope.arrays) {
    if (scope.kept.has(a.buffer)) outer?.arrays.push(a);
    else recycle(a);
  }
  return result;
}

/**
 * @internal Marks `a` as escaping every open allocation scope (it was stored where a scope's
 * result cannot show it, such as a leaf's `.grad`), so none of them recycles it.
 */
export function keepAlive(a: TypedArray): void {
  for (const s of scopes) s.kept.add(a.buffer);
}

/**
 * @internal Returns `a` to the pool. The caller guarantees that nothing will read or write `a`
 * again: it must come from {@link allocData} and be unreachable from anything a caller holds.
 */
export function recycle(a: TypedArray): void {
  if (a.length < POOL_MIN_ELEMENTS || pooledBytes + a.byteLength > limitBytes || pooled.has(a)) return;
  const pool = pools[a instanceof Float64Array ? 'float64' : 'float32'] as Map<number, TypedArray[]>;
  let list = pool.get(a.length);
  if (list === undefined) pool.set(a.length, (list = []));
  if (poison) a.fill(NaN);
  list.push(a);
  pooled.add(a);
  pooledBytes += a.byteLength;
}

/**
 * Sets the most memory (bytes) the pool of recycled arrays may hold; 0 turns recycling off.
 * Lowering it drops what no longer fits. Returns the previous limit.
 */
export function setPoolLimit(bytes: number): number {
  if (typeof bytes !== 'number' || !(bytes >= 0) || !Number.isFinite(bytes)) throw new RangeError(`setPoolLimit: bytes must be a finite number ≥ 0, got ${bytes}`);
  const prev = limitBytes;
  limitBytes = bytes;
  if (pooledBytes > limitBytes) clearPool();
  return prev;
}

/** Drops every pooled array (they become ordinary garbage). */
export function clearPool(): void {
  pools.float32.clear();
  pools.float64.clear();
  pooledBytes = 0;
}

/** Bytes currently held by the pool. */
export function pooledMemory(): number {
  return pooledBytes;
}
