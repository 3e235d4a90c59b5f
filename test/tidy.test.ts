/**
 * `tidy`: what a step does not return goes back to the pool, and nothing it returns (or stores
 * in a leaf's `.grad`) is ever handed out again. The suite runs with METAGRAD_POOL_POISON=1, so
 * an array recycled too early reads NaN; `churn` then overwrites whatever the pool holds.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { allocData, POOL_MIN_ELEMENTS, recycle } from '../src/storage.js';

const N = POOL_MIN_ELEMENTS; // the smallest poolable length

/** Takes every pooled array back out and fills it with 7 (what a later step would do to it). */
function churn(): void {
  const held: Float32Array[] = [];
  while (mg.pooledMemory() > 0) {
    const before = mg.pooledMemory();
    // Any pooled length will do: try the lengths the tests use.
    for (const n of [N, 2 * N, 3 * N, 4 * N, 5 * N, 6 * N, N * N]) {
      const a = mg.zeros([n]).data as Float32Array;
      a.fill(7);
      held.push(a);
    }
    if (mg.pooledMemory() === before) break;
  }
}

const copy = (t: Tensor) => Float64Array.from(t.data);

describe('tidy', () => {
  afterEach(() => {
    mg.setPoolLimit(32 * 2 ** 20);
    mg.clearPool();
  });

  test('returns what fn returns, recycles the temporaries and leaves the returned tensors and the inputs alone', () => {
    mg.clearPool();
    const x = mg.randn([N], { rng: new mg.Rng(1) });
    const xCopy = copy(x);
    const r = mg.tidy(() => {
      const a = mg.mul(x, x);
      const b = mg.add(a, x);
      const c = mg.exp(mg.neg(b));
      return { c, list: [b], label: 'step' };
    });
    // mul's and neg's outputs were temporaries: two arrays of N floats.
    expect(mg.pooledMemory()).toBe(2 * 4 * N);
    const want = [copy(r.c), copy(r.list[0]!)];
    churn();
    expect(copy(r.c)).toEqual(want[0]);
    expect(copy(r.list[0]!)).toEqual(want[1]);
    expect(copy(x)).toEqual(xCopy);
    expect(r.label).toBe('step');
    expect(r.c.data.every(Number.isFinite)).toBe(true);
  });

  test('any subset of the temporaries, returned in any structure, survives; exactly the rest is recycled (fast-check)', () => {
    const containers = ['array', 'object', 'map', 'set', 'nested', 'classInstance', 'rawArrays', 'buffers'] as const;
    const wrap = (how: (typeof containers)[number], kept: Tensor[]): unknown => {
      if (how === 'array') return kept;
      if (how === 'object') return Object.fromEntries(kept.map((t, i) => [`t${i}`, t]));
      if (how === 'map') return new Map(kept.map((t, i) => [i, t]));
      if (how === 'set') return new Set(kept);
      if (how === 'nested') return [{ deep: [kept] }];
      if (how === 'rawArrays') return kept.map((t) => t.data);
      if (how === 'buffers') return kept.map((t) => t.data.buffer);
      return new (class Holder {
        constructor(readonly tensors: Tensor[]) {}
      })(kept);
    };
    fc.assert(
      fc.property(fc.array(fc.record({ len: fc.integer({ min: 1, max: 3 }), keep: fc.boolean() }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 1e6 }), (specs, seed) => {
        for (const how of containers) {
          mg.clearPool();
          const rng = new mg.Rng(seed);
          const made: Tensor[] = [];
          const result = mg.tidy(() => {
            for (const s of specs) made.push(mg.scale(mg.randn([s.len * N], { rng }), 2));
            return wrap(how, made.filter((_, i) => specs[i]!.keep));
          });
          expect(result).toBeDefined();
          // randn's arrays and the dropped scale outputs are recycled; kept ones are not.
          const dropped = specs.reduce((s, sp) => s + (sp.keep ? 0 : sp.len * N * 4), 0);
          const randnBytes = specs.reduce((s, sp) => s + sp.len * N * 4, 0);
          expect(mg.pooledMemory(), how).toBe(dropped + randnBytes);
          const want = made.map(copy);
          churn();
          made.forEach((t, i) => {
            if (specs[i]!.keep) expect(copy(t), how).toEqual(want[i]);
          });
        }
      }),
      { numRuns: 25 },
    );
  });

  test('a graph returned by tidy can still be differentiated afterwards, giving the same gradient', () => {
    const rng = new mg.Rng(2);
    const w = mg.randn([N], { rng, requiresGrad: true });
    const x = mg.randn([N], { rng });
    const lossOf = (): Tensor => mg.sum(mg.tanh(mg.mul(mg.exp(mg.mul(w, x)), x)));
    const want = copy(mg.grad(lossOf(), w));
    mg.clearPool();
    const loss = mg.tidy(lossOf); // the activations are saved on the tape: they must survive
    churn();
    expect(copy(mg.grad(loss, w))).toEqual(want);
    // Second order too: the graph of a gradient returned with createGraph survives.
    const hvWant = copy(mg.grad(mg.sum(mg.mul(mg.grad(lossOf(), w, { createGraph: true }), x)), w));
    const g = mg.tidy(() => mg.grad(lossOf(), w, { createGraph: true }));
    churn();
    expect(copy(mg.grad(mg.sum(mg.mul(g, x)), w))).toEqual(hvWant);
  });

  test('what a recorded op saved for its rule (not an input or output) survives with a returned graph', () => {
    const rng = new mg.Rng(4);
    const w = mg.randn([4 * N], { rng, requiresGrad: true });
    const x = mg.randn([4 * N], { rng });
    // max saves a routing mask of the input's size, allocated inside the step.
    const lossOf = (): Tensor => mg.sum(mg.max(mg.reshape(mg.exp(mg.mul(w, x)), [N, 4]), 1));
    const want = copy(mg.grad(lossOf(), w));
    mg.clearPool();
    const loss = mg.tidy(lossOf);
    churn();
    expect(copy(mg.grad(loss, w))).toEqual(want);
  });

  test('the .grad of a tensor made inside tidy and returned survives it, in any structure', () => {
    const make = (): Tensor => {
      const v = mg.randn([2 * N], { rng: new mg.Rng(5), requiresGrad: true });
      mg.sum(mg.square(mg.exp(v))).backward();
      return v;
    };
    const want = copy(make().grad!);
    const structures: [(t: Tensor) => unknown, (r: unknown) => Tensor][] = [
      [(t) => t, (r) => r as Tensor],
      [(t) => ({ deep: [new Map([['k', new Set([t])]])] }), (r) => [...(r as { deep: Map<string, Set<Tensor>>[] }).deep[0]!.get('k')!][0]!],
    ];
    for (const [wrap, unwrap] of structures) {
      mg.clearPool();
      const out = mg.tidy(() => wrap(make()));
      churn();
      expect(copy(unwrap(out).grad!)).toEqual(want);
      // A .grad set by other means than backward() (a gradient stored by hand) is reached the same way.
      mg.clearPool();
      const byHand = mg.tidy(() => {
        const v = mg.randn([2 * N], { rng: new mg.Rng(5) });
        v.grad = mg.scale(mg.exp(v), 2);
        return wrap(v);
      });
      churn();
      const v0 = mg.randn([2 * N], { rng: new mg.Rng(5) });
      expect(copy(unwrap(byHand).grad!)).toEqual(copy(mg.scale(mg.exp(v0), 2)));
    }
  });

  test('the gradients that backward() stores in .grad inside tidy survive it', () => {
    const rng = new mg.Rng(3);
    const w = mg.randn([2 * N], { rng, requiresGrad: true });
    const want = copy(mg.grad(mg.sum(mg.square(mg.exp(w))), w));
    mg.tidy(() => {
      mg.sum(mg.square(mg.exp(w))).backward();
    });
    churn();
    expect(copy(w.grad!)).toEqual(want);
  });

  test('nested calls: what the inner one returns belongs to the outer one', () => {
    const x = mg.randn([N], { rng: new mg.Rng(4) });
    mg.clearPool();
    const kept = mg.tidy(() => {
      const inner = mg.tidy(() => mg.exp(mg.exp(x))); // recycles one array
      expect(mg.pooledMemory()).toBe(4 * N);
      return inner;
    });
    expect(mg.pooledMemory()).toBe(4 * N); // the outer one returned it: still alive
    const want = copy(kept);
    churn();
    expect(copy(kept)).toEqual(want);
    mg.clearPool();
    mg.tidy(() => {
      mg.tidy(() => mg.exp(mg.exp(x)));
    });
    expect(mg.pooledMemory()).toBe(2 * 4 * N); // dropped by the outer one: recycled there
  });

  test('if fn throws, the error propagates and nothing is recycled', () => {
    const x = mg.randn([N], { rng: new mg.Rng(5) });
    mg.clearPool();
    let leaked: Tensor | null = null;
    expect(() =>
      mg.tidy(() => {
        leaked = mg.exp(x);
        throw new Error('step failed');
      }),
    ).toThrow('step failed');
    expect(mg.pooledMemory()).toBe(0);
    expect(leaked!.data.every(Number.isFinite)).toBe(true);
  });

  test('bad input is refused with a clear error, and an async step before anything is recycled', () => {
    expect(() => mg.tidy(42 as unknown as () => void)).toThrow(/tidy: expected a function, got number/);
    const x = mg.randn([N], { rng: new mg.Rng(6) });
    mg.clearPool();
    let made: Tensor | null = null;
    expect(() =>
      mg.tidy(async () => {
        made = mg.exp(x);
        await Promise.resolve();
        return made;
      }),
    ).toThrow(/tidy: fn returned a promise; tidy needs a synchronous function/);
    expect(mg.pooledMemory()).toBe(0);
    expect(made!.data.every(Number.isFinite)).toBe(true);
  });

  test('an array recycled twice is pooled once (never handed to two owners)', () => {
    mg.clearPool();
    const a = allocData('float32', N);
    recycle(a);
    recycle(a);
    expect(mg.pooledMemory()).toBe(4 * N);
    const b = allocData('float32', N);
    const c = allocData('float32', N);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });
});

describe('FewShotTrainer runs its steps in tidy', () => {
  /** Synthetic 28×28 characters, enough for 5-way episodes. */
  function classes(): mg.OmniglotClass[] {
    const rng = new mg.Rng(9);
    const chars: mg.Character[] = Array.from({ length: 6 }, (_, c) => ({
      alphabet: 'synthetic',
      name: `c${c}`,
      images: Array.from({ length: 12 }, () => Float32Array.from({ length: 784 }, () => (rng.uniform() < 0.2 ? 1 : 0))),
    }));
    return mg.classesOf(chars, true);
  }

  test.each(['reptile-5way-1shot', 'maml-5way-1shot'])('%s: the same weights and accuracies as with recycling off', (preset) => {
    const cls = classes();
    const config = { ...mg.PRESETS[preset]!, metaBatch: 2, evalSteps: 3 };
    const run = () => {
      const t = new mg.FewShotTrainer(mg.conv4({ classes: 5 }), cls, config, 0);
      t.step();
      t.step();
      const acc = t.evaluate(cls, 2, false, new mg.Rng(1)).mean;
      return { params: t.params.map(copy), acc };
    };
    const recycled = run();
    churn();
    mg.setPoolLimit(0); // nothing is ever recycled: the reference
    const reference = run();
    mg.setPoolLimit(32 * 2 ** 20);
    expect(recycled.acc).toBe(reference.acc);
    recycled.params.forEach((p, i) => expect(p).toEqual(reference.params[i]));
    expect(recycled.params.every((p) => p.every(Number.isFinite))).toBe(true);
  }, 60_000);
});

describe('the sine meta-learners run their meta-gradients in tidy', () => {
  test.each([
    ['MAML', { firstOrder: false }],
    ['FOMAML', { firstOrder: true }],
    ['Reptile', {}],
  ] as const)('%s: the same weights as with recycling off', (name, opts) => {
    const run = () => {
      const rng = new mg.Rng(7);
      const model = mg.mlp([1, 40, 40, 1]);
      const tasks = new mg.SineTasks({ setup: 'maml', rng });
      const params = model.init({ rng });
      const learner = name === 'Reptile' ? new mg.Reptile(model, params, { innerLr: 0.02, innerSteps: 3, iterations: 10 }) : new mg.MAML(model, params, { innerLr: 0.01, innerSteps: 2, ...opts });
      const losses = [0, 1, 2].map(() => learner.step(tasks.sampleBatch(25)));
      return { params: learner.params.map(copy), losses };
    };
    const recycled = run();
    churn();
    mg.setPoolLimit(0);
    const reference = run();
    mg.setPoolLimit(32 * 2 ** 20);
    expect(recycled.losses).toEqual(reference.losses);
    recycled.params.forEach((p, i) => expect(p).toEqual(reference.params[i]));
    expect(recycled.params.every((p) => p.every(Number.isFinite))).toBe(true);
  });
});
