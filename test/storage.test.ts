/**
 * The storage pool: the backward pass recycles the gradients it has consumed, and nothing a
 * caller can still reach (returned gradients, gradOutput, inputs, forward results) is recycled.
 * The suite runs with METAGRAD_POOL_POISON=1, so a recycled array is NaN until rewritten.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { allocData, allocOutput, POOL_MIN_ELEMENTS, recycle } from '../src/storage.js';

const snapshot = (ts: readonly Tensor[]) => ts.map((t) => Float64Array.from(t.data));
const expectUnchanged = (ts: readonly Tensor[], copies: Float64Array[]) =>
  ts.forEach((t, i) => expect(Float64Array.from(t.data)).toEqual(copies[i]));

/** One MAML meta-gradient on a batch of sine tasks, large enough (25·10·40 floats) to use the pool. */
function metaGradient(seed: number, hidden: number, steps: number, dtype: mg.DType = 'float32') {
  const rng = new mg.Rng(seed);
  const model = mg.mlp([1, hidden, hidden, 1]);
  const params = model.init({ rng, dtype });
  const batch = new mg.SineTasks({ rng, dtype }).sampleBatch(25);
  const inner = mg.summedTaskMse(model, batch.xSupport, batch.ySupport);
  const outer = mg.meanTaskMse(model, batch.xQuery, batch.yQuery);
  return mg.mamlGradient(params, Array(steps).fill(inner), outer, 0.01, { tasks: 25 });
}

describe('storage pool', () => {
  afterEach(() => {
    mg.setPoolLimit(32 * 2 ** 20);
  });

  test('a recycled array is zero-filled by allocData and poisoned (NaN) for allocOutput under the test setting', () => {
    mg.clearPool();
    const n = POOL_MIN_ELEMENTS + 3;
    const a = allocData('float32', n);
    a.fill(5);
    recycle(a);
    expect(mg.pooledMemory()).toBe(4 * n);
    const b = allocOutput('float32', n);
    expect(b).toBe(a); // the same array, reused
    expect(Number.isNaN(b[0]) && Number.isNaN(b[n - 1])).toBe(true);
    recycle(b);
    const c = allocData('float32', n);
    expect(c).toBe(a);
    expect(c.every((v) => v === 0)).toBe(true);
    expect(mg.pooledMemory()).toBe(0);
    // Too small to pool, or another dtype: not served from the pool.
    recycle(new Float32Array(POOL_MIN_ELEMENTS - 1));
    expect(mg.pooledMemory()).toBe(0);
    recycle(c);
    expect(allocData('float64', n)).not.toBe(c);
    mg.clearPool();
  });

  test('meta-gradients are bit-identical with and without recycling, and stay intact while later steps reuse the pool', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.integer({ min: 1, max: 3 }), fc.constantFrom('float32' as const, 'float64' as const), (seed, steps, dtype) => {
        mg.setPoolLimit(0);
        mg.clearPool();
        const plain = metaGradient(seed, 40, steps, dtype);
        mg.setPoolLimit(32 * 2 ** 20);
        const pooled = metaGradient(seed, 40, steps, dtype);
        expect(pooled.loss).toBe(plain.loss);
        pooled.grads.forEach((g, i) => expect(g.data).toEqual(plain.grads[i]!.data));
        expect(mg.pooledMemory()).toBeGreaterThan(0); // the pool was used
        const kept = snapshot(pooled.grads);
        metaGradient(seed + 1, 40, steps, dtype); // draws on the recycled arrays
        expectUnchanged(pooled.grads, kept);
      }),
      { numRuns: 6 },
    );
  });

  test('aliased gradients, gradOutput, inputs and outputs are never recycled', () => {
    const rng = new mg.Rng(3);
    const x = mg.randn([50, 40], { rng }).requireGrad();
    const w = mg.randn([40, 40], { rng }).requireGrad();
    const u = mg.randn([50, 40], { rng });
    // y = x·w + x·w + x: add passes its gradient through to both operands, and u to the first
    // add, so the gradient arrays are shared between several tensors of the sweep.
    const xw = mg.matmul(x, w);
    const y = mg.add(mg.add(xw, xw), x);
    const kept = snapshot([x, w, u, y, xw]);
    const [gx, gw] = mg.grad(y, [x, w], { gradOutput: u });
    const grads = snapshot([gx!, gw!]);
    // Expected: dx = 2·u·wᵀ + u, dw = 2·xᵀ·u.
    const ex = mg.add(mg.scale(mg.matmul(u, w, false, true), 2), u);
    const ew = mg.scale(mg.matmul(x, u, true, false), 2);
    expect(Array.from(gx!.data).every((v, i) => Math.abs(v - ex.data[i]!) < 1e-4 * (1 + Math.abs(v)))).toBe(true);
    expect(Array.from(gw!.data).every((v, i) => Math.abs(v - ew.data[i]!) < 1e-4 * (1 + Math.abs(v)))).toBe(true);
    for (let r = 0; r < 3; r++) metaGradient(r, 40, 2); // reuse whatever was recycled
    expectUnchanged([x, w, u, y, xw], kept);
    expectUnchanged([gx!, gw!], grads);
  });

  test('a gradient the sweep allocated and shares between two tensors is recycled only after both are done', () => {
    const rng = new mg.Rng(5);
    const x = mg.randn([50, 40], { rng }).requireGrad();
    const w = mg.randn([40, 40], { rng }).requireGrad();
    // relu's rule allocates the gradient of s; add hands that same array to t and to x2, and
    // x2's rule runs first: the array must survive until t's rule has read it.
    const t = mg.matmul(x, w);
    const x2 = mg.scale(x, 3);
    const s = mg.add(t, x2);
    const u = mg.randn([50, 40], { rng });
    const [gx, gw] = mg.grad(mg.relu(s), [x, w], { gradOutput: u });
    const gs = mg.mul(u, mg.tensor(Array.from(s.data, (v) => (v > 0 ? 1 : 0)), { shape: [50, 40] }));
    const ex = mg.add(mg.matmul(gs, w, false, true), mg.scale(gs, 3));
    const ew = mg.matmul(x, gs, true, false);
    [[gx!, ex], [gw!, ew]].forEach(([a, b]) => expect(Array.from(a!.data).every((v, i) => Math.abs(v - b!.data[i]!) < 1e-4 * (1 + Math.abs(v)))).toBe(true));
  });

  test('an array summed with itself goes back to the pool once', () => {
    mg.clearPool();
    const rng = new mg.Rng(6);
    const x = mg.randn([50, 40], { rng }).requireGrad();
    const w = mg.randn([40, 40], { rng }).requireGrad();
    const a = mg.matmul(x, w);
    // relu's rule allocates z's gradient; add hands it twice to a, where it is summed with itself.
    const [gw] = mg.grad(mg.relu(mg.add(a, a)), [w], { gradOutput: mg.randn([50, 40], { rng }) });
    expect(gw!.data.every(Number.isFinite)).toBe(true);
    const got = [0, 1, 2, 3].map(() => allocOutput('float32', 50 * 40));
    expect(new Set(got).size).toBe(4);
  });

  test('backward() leaves .grad intact through later work; the pool stays within its limit', () => {
    const rng = new mg.Rng(4);
    const x = mg.randn([25, 10, 40], { rng });
    const w = mg.randn([40, 40], { rng }).requireGrad();
    mg.sum(mg.relu(mg.matmul(mg.relu(mg.matmul(x, w)), w))).backward();
    const kept = snapshot([w.grad!]);
    mg.setPoolLimit(200_000);
    for (let r = 0; r < 3; r++) metaGradient(r, 40, 3);
    expect(mg.pooledMemory()).toBeLessThanOrEqual(200_000);
    expectUnchanged([w.grad!], kept);
    expect(mg.setPoolLimit(0)).toBe(200_000);
    expect(mg.pooledMemory()).toBe(0);
  });

  test('a bad limit is refused with a clear error', () => {
    expect(() => mg.setPoolLimit(-1)).toThrow(/setPoolLimit: bytes must be a finite number ≥ 0, got -1/);
    expect(() => mg.setPoolLimit(Number.NaN)).toThrow(/setPoolLimit/);
  });
});

describe('small-array slabs', () => {
  afterEach(() => {
    mg.setSlabAllocation(true);
  });

  test('carved arrays are zero-filled, aligned and disjoint; small and large ones own no more than they should', () => {
    const size = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1100 }), fc.integer({ min: 1000, max: 3000 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(size, fc.constantFrom('float32' as const, 'float64' as const), fc.boolean()), { minLength: 1, maxLength: 200 }), (reqs) => {
        const got = reqs.map(([n, dtype, zero]) => (zero ? allocData : allocOutput)(dtype, n));
        got.forEach((a, i) => {
          const [n, dtype] = reqs[i]!;
          expect(a.length).toBe(n);
          expect(a instanceof Float64Array).toBe(dtype === 'float64');
          expect(a.every((v) => v === 0)).toBe(true); // fresh carvings are zero, even from allocOutput
          expect(a.byteOffset % 16).toBe(0);
          const carved = a.byteLength > 64 && a.byteLength < 4096;
          expect(a.buffer.byteLength).toBe(carved ? 32 * 1024 : a.byteLength);
          a.fill(i + 1);
        });
        // Writing each array with its own value left every other array untouched.
        got.forEach((a, i) => expect(a.every((v) => v === i + 1)).toBe(true));
      }),
      { numRuns: 40 },
    );
  });

  test('with slabs off every array owns its buffer, and meta-gradients are bit-identical either way', () => {
    const on = metaGradient(11, 40, 2);
    expect(mg.setSlabAllocation(false)).toBe(true);
    const small = allocData('float32', 400);
    expect(small.buffer.byteLength).toBe(1600);
    const off = metaGradient(11, 40, 2);
    expect(off.loss).toBe(on.loss);
    off.grads.forEach((g, i) => expect(g.data).toEqual(on.grads[i]!.data));
    expect(mg.setSlabAllocation(true)).toBe(false);
    expect(allocData('float32', 400).buffer.byteLength).toBe(32 * 1024);
  });

  test('a bad setting is refused', () => {
    expect(() => mg.setSlabAllocation('yes' as unknown as boolean)).toThrow(/setSlabAllocation: expected a boolean, got string/);
  });
});
