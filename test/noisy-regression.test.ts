/**
 * The noisy regression task families of PLATIPUS and BMAML: ranges, noise, shapes.
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';

describe('noisy regression tasks', () => {
  test('the ambiguous family draws sines and lines in the papers\' ranges, with noise 0.3', () => {
    const tasks = new mg.NoisyRegressionTasks({ rng: new mg.Rng(1), dtype: 'float64', shots: 5 });
    const batch = tasks.sampleBatch(400);
    const kinds = batch.functions.map((f) => f.kind);
    expect(kinds.filter((k) => k === 'line').length).toBeGreaterThan(150);
    expect(kinds.filter((k) => k === 'sine').length).toBeGreaterThan(150);
    for (const f of batch.functions) {
      if (f.kind === 'line') {
        expect(Math.abs(f.slope)).toBeLessThanOrEqual(3);
        expect(Math.abs(f.intercept)).toBeLessThanOrEqual(3);
      } else {
        expect(f.amplitude).toBeGreaterThanOrEqual(0.1);
        expect(f.amplitude).toBeLessThanOrEqual(5);
      }
    }
    expect(new Set(batch.noiseStd)).toEqual(new Set([0.3]));
    // The residuals from the true functions have the noise's spread.
    let ss = 0;
    batch.functions.forEach((f, t) => {
      for (let j = 0; j < 5; j++) ss += (batch.ySupport.data[t * 5 + j]! - mg.evaluateFunction(f, batch.xSupport.data[t * 5 + j]!)) ** 2;
    });
    expect(Math.sqrt(ss / 2000)).toBeCloseTo(0.3, 1);
  });

  test('the BMAML family varies the frequency and scales the noise with the amplitude', () => {
    const batch = new mg.NoisyRegressionTasks({ setup: 'bmaml', rng: new mg.Rng(2), shots: 10 }).sampleBatch(50);
    expect(batch.xSupport.shape).toEqual([50, 10, 1]);
    batch.functions.forEach((f, t) => {
      expect(f.kind).toBe('sine');
      if (f.kind !== 'sine') return;
      expect(f.frequency).toBeGreaterThanOrEqual(0.5);
      expect(f.frequency).toBeLessThanOrEqual(2);
      expect(batch.noiseStd[t]).toBeCloseTo(0.01 * f.amplitude, 12);
    });
    expect(() => new mg.NoisyRegressionTasks({ setup: 'sine' as 'bmaml' })).toThrow(/setup must be 'ambiguous' or 'bmaml'/);
  });
});

test('the functions by hand, and the ranges of every draw', () => {
  expect(mg.evaluateFunction({ kind: 'sine', amplitude: 2, frequency: 0.5, phase: 1 }, 3)).toBeCloseTo(2 * Math.sin(0.5), 14);
  expect(mg.evaluateFunction({ kind: 'line', slope: 2, intercept: -1 }, 3)).toBe(5);
  const amb = new mg.NoisyRegressionTasks({ rng: new mg.Rng(3), shots: 5 }).sampleBatch(400);
  expect(amb.stacked).toBe(400);
  const sines = amb.functions.filter((f) => f.kind === 'sine');
  const lines = amb.functions.filter((f) => f.kind === 'line');
  // PLATIPUS's sines: y = A sin(x + u), u ∈ [0, π], held as the phase −u.
  for (const f of sines) expect(f.kind === 'sine' && f.frequency === 1 && f.phase <= 0 && f.phase >= -Math.PI).toBe(true);
  expect(Math.min(...lines.map((f) => (f.kind === 'line' ? f.slope : 0)))).toBeLessThan(-2);
  expect(Math.min(...lines.map((f) => (f.kind === 'line' ? f.intercept : 0)))).toBeLessThan(-2);
  expect(Math.min(...amb.xSupport.data)).toBeLessThan(-4);
  expect(Math.max(...amb.xSupport.data)).toBeLessThanOrEqual(5);
  const bm = new mg.NoisyRegressionTasks({ setup: 'bmaml', rng: new mg.Rng(4) }).sampleBatch(200);
  const phases = bm.functions.map((f) => (f.kind === 'sine' ? f.phase : NaN));
  expect(Math.max(...phases)).toBeGreaterThan(Math.PI);
  expect(Math.max(...phases)).toBeLessThanOrEqual(2 * Math.PI);
  expect(bm.xQuery.shape).toEqual([200, 5, 1]);
});

test('bad options and batch sizes are named', () => {
  expect(() => new mg.NoisyRegressionTasks({ shots: 0 })).toThrow(/NoisyRegressionTasks: shots must be a positive integer, got 0/);
  expect(() => new mg.NoisyRegressionTasks({ queryPoints: 1.5 })).toThrow(/NoisyRegressionTasks: queryPoints must be a positive integer, got 1.5/);
  expect(() => new mg.NoisyRegressionTasks({ dtype: 'int8' as 'float32' })).toThrow(/NoisyRegressionTasks: unknown dtype 'int8'/);
  expect(() => new mg.NoisyRegressionTasks({ shot: 5 } as never)).toThrow(/NoisyRegressionTasks/);
  const tasks = new mg.NoisyRegressionTasks({ rng: new mg.Rng(5) });
  expect(() => tasks.sampleBatch(0)).toThrow(/sampleBatch: tasks must be a positive integer, got 0/);
  expect(() => tasks.sampleBatch(2.5)).toThrow(/got 2.5/);
  expect(() => new mg.NoisyRegressionTasks({ shots: 2 ** 20 }).sampleBatch(2 ** 20)).toThrow(/NoisyRegressionTasks\.sampleBatch/);
  expect(tasks.sampleBatch(1).xSupport.shape).toEqual([1, 5, 1]);
  expect(new mg.NoisyRegressionTasks({ shots: 1, queryPoints: 1, rng: new mg.Rng(6) }).sampleBatch(1).xQuery.shape).toEqual([1, 1, 1]);
});
