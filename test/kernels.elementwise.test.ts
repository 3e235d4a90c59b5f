/**
 * The WASM elementwise, reduction, batch-norm and Adam kernels against the TypeScript loops
 * (computed in float64 on the same float32 inputs), called directly so that small and awkward
 * sizes (1, 3, 5, 7, 17, 33, 63, 65: partial vectors, partial 16-column blocks) are covered,
 * with every broadcasting pattern fast-check finds. Then the dispatch: whole ops above the
 * size threshold agree between the two backends.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { batchNormBackward, batchNormForward } from '../src/kernels/batchnorm.js';
import { WASM_MIN_ELEMENTS } from '../src/kernels/dispatch.js';
import * as K from '../src/kernels/elementwise.js';
import { sumAxesInto } from '../src/kernels/reduce.js';
import { BINARY_OPS, loadWasmSync, UNARY_OPS, type WasmKernels } from '../src/kernels/wasm.js';
import { broadcastShapes, broadcastStrides, sizeOf } from '../src/shape.js';

const wasm = loadWasmSync(false) as WasmKernels;
const awkward = fc.oneof(fc.constantFrom(1, 3, 5, 7, 16, 17, 33, 63, 65), fc.integer({ min: 1, max: 70 }));
/** Up to four axes, lengths awkward or 1, so broadcasting and collapsing get exercised. */
const shapeArb = fc.array(fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 9 }), fc.constantFrom(17, 33)), { minLength: 0, maxLength: 4 });

function randomF32(n: number, seed: number, positive = false): Float32Array {
  const rng = new mg.Rng(seed);
  return Float32Array.from({ length: n }, () => (positive ? 0.5 + rng.uniform() : rng.normal()));
}

/** |got − want| ≤ rel·|want| + abs elementwise, naming the first element that is not. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, abs: number, label: string): void {
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= rel * Math.abs(want[i]!) + abs)) {
      throw new Error(`${label}: element ${i} is ${got[i]}, expected ${want[i]}`);
    }
  }
}

afterEach(() => mg.setBackend('auto'));

describe('WASM elementwise kernels', () => {
  test('are loaded here', () => {
    expect(wasm).not.toBeNull();
  });

  test('binary ops equal the TypeScript loops under every broadcasting pattern', () => {
    const runs = { add: K.addRun, sub: K.subRun, mul: K.mulRun, div: K.divRun };
    fc.assert(
      fc.property(shapeArb, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.nat(3), fc.constantFrom(...(Object.keys(BINARY_OPS) as (keyof typeof BINARY_OPS)[])), fc.boolean(), fc.nat(), (full, ones, drop, op, swap, seed) => {
        const other = full.slice(Math.min(drop, full.length)).map((d, i) => (ones[i] ? 1 : d));
        const [sa, sb] = swap ? [other, full] : [full, other];
        const shape = broadcastShapes(sa, sb, op);
        const a = randomF32(sizeOf(sa), seed);
        const b = randomF32(sizeOf(sb), seed + 1, op === 'div');
        const aStr = broadcastStrides(sa, shape, op), bStr = broadcastStrides(sb, shape, op);
        const want = new Float64Array(sizeOf(shape));
        K.binaryBroadcast(runs[op], Float64Array.from(a), aStr, Float64Array.from(b), bStr, shape, want);
        const got = new Float32Array(want.length);
        wasm.binary(op, a, aStr, b, bStr, shape, got);
        expectClose(got, want, 2 ** -23, 0, `${op} [${sa}] ∘ [${sb}]`);
      }),
      { numRuns: 400, seed: 3 },
    );
  });

  test('unary ops equal the TypeScript loops, including relu and step at exactly 0', () => {
    const loops: Record<keyof typeof UNARY_OPS, (x: Float64Array, p: number, out: Float64Array) => void> = {
      relu: (x, _p, o) => K.reluInto(x, o),
      neg: (x, _p, o) => K.negInto(x, o),
      square: (x, _p, o) => K.squareInto(x, o),
      scale: (x, p, o) => K.scaleInto(x, p, o),
      sqrt: (x, _p, o) => K.sqrtInto(x, o),
    };
    fc.assert(
      fc.property(awkward, fc.constantFrom(...(Object.keys(UNARY_OPS) as (keyof typeof UNARY_OPS)[])), fc.double({ min: -3, max: 3, noNaN: true }), fc.nat(), (n, op, p, seed) => {
        const x = randomF32(n, seed, op === 'sqrt');
        if (op !== 'sqrt') x[seed % n] = 0;
        const pf = Math.fround(p);
        const want = new Float64Array(n);
        loops[op](Float64Array.from(x), pf, want);
        const got = new Float32Array(n);
        wasm.unary(op, x, pf, got);
        expectClose(got, want, 2 ** -23, 2 ** -149, `${op}(p=${pf}) on ${n}`);
      }),
      { numRuns: 300, seed: 4 },
    );
  });

  test('the fused relu backward (g · step) equals the TypeScript loop, including x exactly 0', () => {
    fc.assert(
      fc.property(awkward, fc.double({ min: -3, max: 3, noNaN: true }), fc.nat(), (n, p, seed) => {
        const g = randomF32(n, seed);
        const x = randomF32(n, seed + 1);
        x[seed % n] = 0;
        const pf = Math.fround(p);
        const want = new Float64Array(n);
        K.stepMulInto(Float64Array.from(g), Float64Array.from(x), pf, want);
        const got = new Float32Array(n);
        wasm.stepMul(g, x, pf, got);
        expectClose(got, want, 2 ** -23, 2 ** -149, `stepMul(p=${pf}) on ${n}`);
      }),
      { numRuns: 200, seed: 5 },
    );
  });

  test('sums over any set of axes equal the TypeScript loop, or decline and leave it to TypeScript', () => {
    let handled = 0;
    fc.assert(
      fc.property(shapeArb, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.nat(), (shape, pick, seed) => {
        const axes = shape.map((_, i) => i).filter((i) => pick[i]);
        const x = randomF32(sizeOf(shape), seed);
        const outShape = shape.filter((_, i) => !axes.includes(i));
        const want = new Float64Array(sizeOf(outShape));
        sumAxesInto(Float64Array.from(x), shape, axes, want);
        const got = new Float32Array(want.length).fill(NaN);
        if (!wasm.sumAxes(x, shape, axes, got)) {
          expect(Number.isNaN(got[0] ?? NaN), 'a declined sum writes nothing').toBe(true);
          return;
        }
        handled++;
        // float32 summation of up to n terms of |x| ≲ 4.
        const terms = sizeOf(shape) / Math.max(1, want.length);
        expectClose(got, want, 0, (terms + 1) * 4 * 2 ** -22, `sum [${shape}] over [${axes}]`);
      }),
      { numRuns: 400, seed: 5 },
    );
    expect(handled).toBeGreaterThan(100);
  });

  test('batch-norm forward and backward equal the TypeScript loops', () => {
    fc.assert(
      fc.property(awkward, awkward, fc.boolean(), fc.nat(), (rows, c, keepXhat, seed) => {
        const x = randomF32(rows * c, seed), gamma = randomF32(c, seed + 1), beta = randomF32(c, seed + 2);
        const g = randomF32(rows * c, seed + 3);
        const [x64, gamma64, beta64] = [x, gamma, beta].map((a) => Float64Array.from(a)) as [Float64Array, Float64Array, Float64Array];
        const out = new Float64Array(rows * c), xhat = new Float64Array(rows * c), inv = new Float64Array(c), mean = new Float64Array(c);
        batchNormForward(x64, gamma64, beta64, 1e-5, c, out, xhat, inv, mean);
        const gotOut = new Float32Array(rows * c), gotXhat = new Float32Array(rows * c), gotInv = new Float32Array(c), gotMean = new Float32Array(c);
        wasm.batchNormForward(x, gamma, beta, 1e-5, c, gotOut, keepXhat ? gotXhat : null, gotInv, gotMean);
        // μ itself, from its definition.
        const direct = Array.from({ length: c }, (_, j) => Array.from({ length: rows }, (_, r) => x64[r * c + j]!).reduce((a, b) => a + b, 0) / rows);
        expectClose(mean, Float64Array.from(direct), 1e-12, 1e-12, `mean (TypeScript) ${rows}×${c}`);
        expectClose(gotMean, mean, 0, 4 * 2 ** -22, `mean ${rows}×${c}`);
        // 1/σ can be large when a channel is nearly constant (rows = 1 gives x̂ = 0): compare x̂
        // and outputs against their natural scales.
        expectClose(gotInv, inv, 1e-4, 0, `invStd ${rows}×${c}`);
        expectClose(gotOut, out, 1e-4, 4e-4, `out ${rows}×${c}`);
        if (keepXhat) expectClose(gotXhat, xhat, 1e-4, 4e-4, `xhat ${rows}×${c}`);
        const xhat32 = Float32Array.from(xhat), inv32 = Float32Array.from(inv);
        const dx = new Float64Array(rows * c), dg = new Float64Array(c), db = new Float64Array(c);
        batchNormBackward(Float64Array.from(g), Float64Array.from(xhat32), Float64Array.from(inv32), gamma64, c, dx, dg, db);
        const gotDx = new Float32Array(rows * c), gotDg = new Float32Array(c), gotDb = new Float32Array(c);
        wasm.batchNormBackward(g, xhat32, inv32, gamma, c, gotDx, gotDg, gotDb);
        const dxScale = Math.max(...Array.from(inv32, Math.abs)) * 8e-4;
        expectClose(gotDb, db, 0, rows * 4 * 2 ** -21, `dbeta ${rows}×${c}`);
        expectClose(gotDg, dg, 0, rows * 16 * 2 ** -21, `dgamma ${rows}×${c}`);
        expectClose(gotDx, dx, 1e-4, dxScale, `dx ${rows}×${c}`);
      }),
      { numRuns: 200, seed: 6 },
    );
  });

  test('the Adam update equals the TypeScript loop and updates the moments in place', () => {
    fc.assert(
      fc.property(awkward, fc.nat(), (n, seed) => {
        const p = randomF32(n, seed), g = randomF32(n, seed + 1);
        const m = randomF32(n, seed + 2), v = randomF32(n, seed + 3, true);
        const [b1, b2, stepSize, epsHat] = [0.9, 0.999, 1e-3, 1e-8];
        const m64 = Float64Array.from(m), v64 = Float64Array.from(v), want = new Float64Array(n);
        for (let j = 0; j < n; j++) {
          m64[j] = b1 * m64[j]! + (1 - b1) * g[j]!;
          v64[j] = b2 * v64[j]! + (1 - b2) * g[j]! * g[j]!;
          want[j] = p[j]! - (stepSize * m64[j]!) / (Math.sqrt(v64[j]!) + epsHat);
        }
        const got = new Float32Array(n);
        wasm.adam(p, g, m, v, got, b1, b2, stepSize, epsHat);
        expectClose(m, m64, 1e-6, 1e-6, 'm');
        expectClose(v, v64, 1e-6, 1e-6, 'v');
        expectClose(got, want, 1e-6, 1e-6, 'parameters');
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});

describe('elementwise dispatch', () => {
  /** A gradient computed under each backend: relu, batch norm, broadcasting, sums and Adam. */
  function run(backend: 'js' | 'wasm'): Float32Array[] {
    mg.setBackend(backend);
    const rng = new mg.Rng(1);
    const x = mg.randn([40, 9, 64], { rng });
    const params = [mg.randn([64], { rng }), mg.randn([64], { rng }), mg.randn([9, 64], { rng })];
    const f = (p: mg.Tensor[]) => mg.sum(mg.square(mg.relu(mg.add(mg.batchNorm(x, p[0]!, p[1]!), p[2]!))));
    const [, g] = mg.valueAndGrad(f)(params);
    const adam = new mg.Adam({ lr: 0.1 });
    return [...g, ...adam.step(params, g)].map((t) => t.data as Float32Array);
  }

  test('whole ops above the size threshold agree between the WASM and TypeScript backends', () => {
    expect(40 * 9 * 64).toBeGreaterThan(WASM_MIN_ELEMENTS);
    const viaWasm = run('wasm');
    const viaJs = run('js');
    viaWasm.forEach((w, i) => expectClose(w, viaJs[i]!, 1e-3, 1e-3, `result ${i}`));
  });

  test.each(['wasm', 'js'] as const)("batchNorm's observe reports the batch's mean and biased variance, off the tape (%s)", (backend) => {
    mg.setBackend(backend);
    const rng = new mg.Rng(3);
    // A variance near ε, so that σ² = 1/(1/σ)² − ε is checked to the ε.
    const x = mg.add(mg.mul(mg.randn([2 * WASM_MIN_ELEMENTS, 2, 6], { rng }), 0.01), 0.02);
    const [gamma, beta] = [mg.randn([6], { rng, requiresGrad: true }), mg.randn([6], { rng, requiresGrad: true })];
    const seen: { mean: mg.Tensor; variance: mg.Tensor }[] = [];
    const y = mg.batchNorm(x, gamma, beta, { observe: (m) => seen.push(m) });
    const plain = mg.batchNorm(x, gamma, beta);
    expect(Array.from(y.data)).toEqual(Array.from(plain.data));
    expect(seen).toHaveLength(1);
    const want = mg.batchMoments(x);
    expectClose(seen[0]!.mean.data as Float32Array, want.mean.data as Float32Array, 1e-6, 1e-5, 'mean');
    expectClose(seen[0]!.variance.data as Float32Array, want.variance.data as Float32Array, 1e-4, 0, 'variance');
    expect(seen[0]!.mean.requiresGrad || seen[0]!.variance.requiresGrad).toBe(false);
    expect(() => mg.batchNorm(x, gamma, beta, { observe: 3 as never })).toThrow(/batchNorm: observe must be a function of \{ mean, variance \}, got number/);
    expect(() => mg.batchNorm(x, gamma, beta, { observe: () => undefined, stats: want })).toThrow(/batchNorm: observe reports the batch statistics, and with stats given none are computed/);
  });

  test.each(['wasm', 'js'] as const)('relu and leaky relu backward: the fused kernel gives the recorded rule\'s numbers bit for bit (%s)', (backend) => {
    mg.setBackend(backend);
    const rng = new mg.Rng(2);
    const x = mg.randn([3 * WASM_MIN_ELEMENTS + 5], { rng, requiresGrad: true });
    const v = mg.randn(x.shape, { rng });
    for (const f of [(t: mg.Tensor) => mg.relu(t), (t: mg.Tensor) => mg.leakyRelu(t, 0.2)]) {
      const loss = () => mg.sum(mg.mul(f(mg.mul(x, x)), v));
      const fused = mg.grad(loss(), x); // not recording: the one-pass kernel
      const recorded = mg.grad(loss(), x, { createGraph: true }); // recording: mul by a mask
      expect(Array.from(fused.data)).toEqual(Array.from(recorded.data));
    }
  });
});
