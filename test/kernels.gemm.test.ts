/**
 * The WASM gemm against the TypeScript reference, on awkward sizes (1, 3, 5, 7, 17, 33, 63, 65,
 * non-multiples of the 5×8 tile, k = 1, k beyond one 256-deep block, m beyond one 60-row block),
 * every transpose flag, and batched products with broadcasting. Plus the arena's behaviour.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { wasmKernels } from '../src/kernels/backend.js';
import { align16 } from '../src/kernels/wasm.js';
import { gemmRef } from '../src/kernels/gemm-ref.js';

const awkward = fc.oneof(fc.constantFrom(1, 3, 5, 7, 8, 17, 33, 63, 65), fc.integer({ min: 1, max: 70 }));

/** float64 reference of op(A)·op(B) and the elementwise bound Σ|a||b| for the rounding error. */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, tA: boolean, tB: boolean): [Float64Array, Float64Array] {
  const ref = new Float64Array(m * n);
  const bound = new Float64Array(m * n);
  gemmRef(Float64Array.from(a), 0, Float64Array.from(b), 0, ref, 0, m, n, k, tA, tB);
  gemmRef(Float64Array.from(a, Math.abs), 0, Float64Array.from(b, Math.abs), 0, bound, 0, m, n, k, tA, tB);
  return [ref, bound];
}

function expectWithinRounding(c: Float32Array, ref: Float64Array, bound: Float64Array, k: number, label: string): void {
  const gamma = 2 * (k + 2) * 2 ** -24; // float32 dot-product rounding, with slack
  for (let i = 0; i < c.length; i++) {
    if (!(Math.abs(c[i]! - ref[i]!) <= gamma * bound[i]! + 1e-30)) {
      throw new Error(`${label}: element ${i} is ${c[i]}, reference ${ref[i]} (bound ${gamma * bound[i]!})`);
    }
  }
}

afterEach(() => mg.setBackend('auto'));

describe('WASM gemm', () => {
  test('is loaded here (Node 20 has WebAssembly SIMD)', () => {
    expect(wasmKernels()).not.toBeNull();
    expect(mg.getBackend()).toBe('wasm');
  });

  test('matches the reference for every transpose flag on awkward sizes', () => {
    fc.assert(
      fc.property(awkward, awkward, awkward, fc.boolean(), fc.boolean(), fc.nat(), (m, n, k, tA, tB, seed) => {
        const rng = new mg.Rng(seed);
        const a = mg.randn(tA ? [k, m] : [m, k], { rng });
        const b = mg.randn(tB ? [n, k] : [k, n], { rng });
        const c = mg.matmul(a, b, tA, tB);
        const [ref, bound] = reference(a.data as Float32Array, b.data as Float32Array, m, n, k, tA, tB);
        expectWithinRounding(c.data as Float32Array, ref, bound, k, `${m}×${k}·${k}×${n} tA=${tA} tB=${tB}`);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  test('large products cross the 256-deep k blocks and 60-row m blocks', () => {
    for (const [m, n, k] of [[130, 65, 300], [65, 9, 513], [200, 200, 257]] as const) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const rng = new mg.Rng(m + n + k);
          const a = mg.randn(tA ? [k, m] : [m, k], { rng });
          const b = mg.randn(tB ? [n, k] : [k, n], { rng });
          const [ref, bound] = reference(a.data as Float32Array, b.data as Float32Array, m, n, k, tA, tB);
          expectWithinRounding(mg.matmul(a, b, tA, tB).data as Float32Array, ref, bound, k, `${m}×${k}·${k}×${n} tA=${tA} tB=${tB}`);
        }
      }
    }
  });

  test('batched products with broadcast batch axes equal the JS backend', () => {
    fc.assert(
      fc.property(fc.constantFrom([[3], [3]], [[2, 1], [1, 4]], [[1], [5]], [[4], []]), awkward, awkward, awkward, fc.boolean(), fc.boolean(), (batches, m, n, k, tA, tB) => {
        const [ba, bb] = batches as unknown as [number[], number[]];
        const rng = new mg.Rng(m * 7 + n);
        const a = mg.randn([...ba, ...(tA ? [k, m] : [m, k])], { rng });
        const b = mg.randn([...bb, ...(tB ? [n, k] : [k, n])], { rng });
        const w = mg.matmul(a, b, tA, tB);
        mg.setBackend('js');
        const j = mg.matmul(a, b, tA, tB);
        mg.setBackend('auto');
        expect(w.shape).toEqual(j.shape);
        for (let i = 0; i < w.size; i++) expect(Math.abs(w.data[i]! - j.data[i]!)).toBeLessThan(1e-4 * Math.sqrt(k) * 4);
      }),
      { numRuns: 60 },
    );
  });

  test('a batch sharing one B (run as one taller product) equals the products taken one by one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), awkward, awkward, awkward, fc.boolean(), fc.boolean(), (batch, m, n, k, tA, tB) => {
        const rng = new mg.Rng(batch * 1000 + m * 7 + n);
        const a = mg.randn([batch, ...(tA ? [k, m] : [m, k])], { rng });
        const b = mg.randn(tB ? [n, k] : [k, n], { rng });
        const c = mg.matmul(a, b, tA, tB).data as Float32Array;
        for (let i = 0; i < batch; i++) {
          const ai = (a.data as Float32Array).subarray(i * m * k, (i + 1) * m * k);
          const [ref, bound] = reference(ai, b.data as Float32Array, m, n, k, tA, tB);
          expectWithinRounding(c.subarray(i * m * n, (i + 1) * m * n), ref, bound, k, `batch ${i} of ${batch}: ${m}×${k}·${k}×${n} tA=${tA} tB=${tB}`);
        }
      }),
      { numRuns: 80, seed: 5 },
    );
  });

  test('a small untransposed B is read in place (n a multiple of 8, k·n ≤ 4096), single and batched', () => {
    // Either side of the in-place limit (64·64 floats), edge rows (m mod 4 = 1, 2, 3), and a
    // batch whose products each have their own B.
    const shapes = [[1, 8, 1], [2, 8, 7], [3, 16, 33], [10, 40, 40], [5, 64, 64], [6, 64, 65], [9, 8, 256], [4, 8, 512], [13, 24, 100]];
    for (const [m, n, k] of shapes as [number, number, number][]) {
      for (const tA of [false, true]) {
        for (const batch of [1, 3]) {
          const rng = new mg.Rng(m * 131 + n * 7 + k + batch);
          const a = mg.randn([batch, ...(tA ? [k, m] : [m, k])], { rng });
          const b = mg.randn([batch, k, n], { rng });
          const c = mg.matmul(a, b, tA, false).data as Float32Array;
          for (let i = 0; i < batch; i++) {
            const ai = (a.data as Float32Array).subarray(i * m * k, (i + 1) * m * k);
            const bi = (b.data as Float32Array).subarray(i * k * n, (i + 1) * k * n);
            const [ref, bound] = reference(ai, bi, m, n, k, tA, false);
            expectWithinRounding(c.subarray(i * m * n, (i + 1) * m * n), ref, bound, k, `product ${i} of ${batch}: ${m}×${k}·${k}×${n} tA=${tA}`);
          }
        }
      }
    }
  });

  test('the benchmarks\' resident product (operands left in WASM memory) computes the same product, and checks its operands', () => {
    const w = wasmKernels()!;
    const rng = new mg.Rng(21);
    for (const [tA, tB] of [[false, false], [true, true]] as const) {
      const a = mg.randn([37, 37], { rng }), b = mg.randn([37, 37], { rng });
      const resident = w.residentGemm(a.data as Float32Array, b.data as Float32Array, 37, 37, 37, tA, tB);
      resident.run();
      const [ref, bound] = reference(a.data as Float32Array, b.data as Float32Array, 37, 37, 37, tA, tB);
      expectWithinRounding(resident.read(), ref, bound, 37, `resident 37³ tA=${tA} tB=${tB}`);
    }
    expect(() => w.residentGemm(new Float32Array(6), new Float32Array(6), 2, 2, 2, false, false)).toThrow(/residentGemm: operands of 6 and 6 floats for a 2×2·2×2 product/);
  });

  test('arena offsets stay exact past 2 GiB, and a call needing more than a WebAssembly memory can hold is refused with the fix named', () => {
    for (const bytes of [0, 1, 15, 16, 17, 2 ** 31 - 1, 2 ** 31 + 1, 3 * 2 ** 30 + 5, 2 ** 33 + 3]) {
      const a = align16(bytes);
      expect(a % 16).toBe(0);
      expect(a - bytes).toBeGreaterThanOrEqual(0);
      expect(a - bytes).toBeLessThan(16);
    }
    expect(() => wasmKernels()!.arena(5 * 2 ** 30)).toThrow(/WASM kernels: this call needs \d+ bytes of WebAssembly memory, more than the 4 GiB one can hold; use smaller tensors or setBackend\('js'\)/);
  });

  test('k = 0 gives zeros', () => {
    expect(mg.matmul(mg.zeros([3, 0]), mg.zeros([0, 5])).toArray()).toEqual(Array.from({ length: 3 }, () => [0, 0, 0, 0, 0]));
    // and a weight shared by a batch gets its (empty) gradient
    const x = mg.zeros([2, 3, 0]).requireGrad(), w = mg.zeros([0, 4]).requireGrad();
    expect(mg.grad(mg.sum(mg.matmul(x, w)), w).shape).toEqual([0, 4]);
  });
});

describe('matmul batching', () => {
  test('broadcast batch axes pair each matrix of a with the right matrix of b (against the products taken one by one)', () => {
    const rng = new mg.Rng(21);
    for (const [ba, bb] of [[[2, 1], [1, 3]], [[2, 3], [3]], [[3], [2, 1]], [[1, 3], [2, 1]], [[2, 1, 2], [3, 1]], [[2, 2], [2, 2]], [[2], [2, 2]]]) {
      const a = mg.randn([...ba!, 4, 5], { rng }), b = mg.randn([...bb!, 5, 3], { rng });
      const c = mg.matmul(a, b);
      const batch = c.shape.slice(0, -2);
      const at = (t: mg.Tensor, tb: number[], idx: number[]) => {
        let u = t;
        const lead = idx.length - tb.length;
        for (let d = 0; d < tb.length; d++) u = mg.index(u, 0, tb[d] === 1 ? 0 : idx[lead + d]!);
        return u;
      };
      for (let flat = 0; flat < c.size / 12; flat++) {
        const idx: number[] = [];
        let r = flat;
        for (let d = batch.length - 1; d >= 0; d--) { idx.unshift(r % batch[d]!); r = Math.floor(r / batch[d]!); }
        const want = mg.matmul(at(a, ba!, idx), at(b, bb!, idx)).data;
        const got = c.data.subarray(flat * 12, flat * 12 + 12);
        want.forEach((v, i) => expect(got[i], `batches ${JSON.stringify([ba, bb])} entry ${idx}`).toBeCloseTo(v, 5));
      }
    }
  });

  test('x·W for a batch of x and one W is the product of the stacked rows, bit for bit: forward (W and Wᵀ) and W\'s gradient', () => {
    const rng = new mg.Rng(22);
    for (const [T, n, k, m] of [[7, 10, 12, 12], [5, 10, 40, 40], [3, 7, 13, 9]]) {
      const x = mg.randn([T!, n!, k!], { rng, requiresGrad: true });
      const flat = mg.reshape(x, [T! * n!, k!]);
      for (const tB of [false, true]) {
        const w = mg.randn(tB ? [m!, k!] : [k!, m!], { rng, requiresGrad: true });
        const c = mg.randn([T!, n!, m!], { rng });
        const batched = mg.matmul(x, w, false, tB), stacked = mg.matmul(flat, w, false, tB);
        expect(Array.from(batched.data)).toEqual(Array.from(stacked.data));
        const gBatched = mg.grad(mg.sum(mg.mul(batched, c)), w);
        const gStacked = mg.grad(mg.sum(mg.mul(stacked, mg.reshape(c, [T! * n!, m!]))), w);
        expect(Array.from(gBatched.data)).toEqual(Array.from(gStacked.data));
      }
    }
  });
});

describe('WASM memory', () => {
  test('the arena grows for a large product, stays correct after the grow, and does not grow in a loop', () => {
    const w = wasmKernels()!;
    const small = () => mg.matmul(mg.ones([10, 40]), mg.ones([40, 40]));
    small();
    const big = mg.matmul(mg.ones([600, 700]), mg.ones([700, 500]));
    expect(big.data[0]).toBe(700);
    const grown = w.memoryBytes;
    expect(grown).toBeGreaterThan(600 * 700 * 4);
    for (let i = 0; i < 2000; i++) expect(small().data[17]).toBe(40);
    expect(w.memoryBytes).toBe(grown);
  });
});

describe('backend selection', () => {
  test('setBackend switches and validates its argument', () => {
    mg.setBackend('js');
    expect(mg.getBackend()).toBe('js');
    expect(mg.backendInfo().variant).toBe('typescript');
    mg.setBackend('wasm');
    expect(mg.getBackend()).toBe('wasm');
    expect(() => mg.setBackend('gpu' as never)).toThrow(/expected 'js', 'wasm' or 'auto', got 'gpu'/);
  });

  test('the relaxed-SIMD build, where the runtime takes it, matches the float64 reference; without the flag the plain build loads', () => {
    // In a child Node: products on awkward shapes for every transpose flag, and a strided,
    // padded convolution with both gradients, each against float64 with a rounding bound.
    const script = `
      import('./build/src/index.js').then((mg) => {
        const rng = new mg.Rng(4);
        let worst = 0;
        const check = (got, ref, bound, k) => {
          for (let i = 0; i < got.size; i++) worst = Math.max(worst, Math.abs(got.data[i] - ref.data[i]) / (2 * (k + 2) * 2 ** -24 * bound.data[i] + 1e-30));
        };
        const f64 = (t) => mg.astype(t, 'float64');
        for (const [m, n, k] of [[1, 1, 1], [7, 5, 3], [17, 33, 65], [64, 65, 300], [10, 40, 40], [5, 64, 64], [6, 64, 65]]) {
          for (const tA of [false, true]) for (const tB of [false, true]) {
            const a = mg.randn(tA ? [k, m] : [m, k], { rng }), b = mg.randn(tB ? [n, k] : [k, n], { rng });
            check(mg.matmul(a, b, tA, tB), mg.matmul(f64(a), f64(b), tA, tB), mg.matmul(mg.abs(f64(a)), mg.abs(f64(b)), tA, tB), k);
          }
        }
        const x = mg.randn([3, 9, 7, 5], { rng }), w = mg.randn([3, 3, 5, 6], { rng }), o = { stride: 2, padding: 'same' };
        const y = mg.conv2d(x, w, o), dy = mg.randn(y.shape, { rng });
        check(y, mg.conv2d(f64(x), f64(w), o), mg.conv2d(mg.abs(f64(x)), mg.abs(f64(w)), o), 45);
        check(mg.conv2dInputGrad(dy, w, x.shape, o), mg.conv2dInputGrad(f64(dy), f64(w), x.shape, o), mg.conv2dInputGrad(mg.abs(f64(dy)), mg.abs(f64(w)), x.shape, o), 54);
        check(mg.conv2dFilterGrad(x, dy, w.shape, o), mg.conv2dFilterGrad(f64(x), f64(dy), w.shape, o), mg.conv2dFilterGrad(mg.abs(f64(x)), mg.abs(f64(dy)), w.shape, o), 60);
        console.log(JSON.stringify({ variant: mg.backendInfo().variant, worst }));
      });`;
    const run = (flags: string[]) => JSON.parse(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8', stdio: 'pipe' })) as { variant: string; worst: number };
    const plain = run([]);
    expect(plain.variant).toBe('simd');
    expect(plain.worst).toBeLessThanOrEqual(1);
    const relaxed = run(['--experimental-wasm-relaxed-simd']);
    expect(['relaxed-simd', 'simd']).toContain(relaxed.variant); // never fails where it is missing
    expect(relaxed.worst).toBeLessThanOrEqual(1);
    expect(relaxed.variant).toBe('relaxed-simd'); // Node 20 takes it with the flag
  });

  test('METAGRAD_BACKEND selects the backend for a process, and a bad value is named', () => {
    const script = "import('./build/src/index.js').then(m => console.log(m.getBackend()))";
    const run = (v: string) => execFileSync(process.execPath, ['-e', script], { env: { ...process.env, METAGRAD_BACKEND: v }, encoding: 'utf8', stdio: 'pipe' }).trim();
    expect(run('js')).toBe('js');
    expect(run('wasm')).toBe('wasm');
    expect(() => run('cuda')).toThrow(/METAGRAD_BACKEND must be 'js', 'wasm' or 'auto', got 'cuda'/);
  });
});
