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
