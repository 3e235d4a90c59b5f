/**
 * The uncertainty experiment's pieces: the noisy task families, every method training, adapting
 * to an ensemble of the right size and scoring against the noise-free function (MAML's predictive
 * the noise alone), and the figure's band.
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { plotSvg } from '../src/io/svg.js';

describe.each(['maml', 'emaml', 'bmaml', 'platipus'] as const)('%s', (method) => {
  test('trains, adapts to an ensemble of its size, and scores', () => {
    const exp = new mg.UncertaintyExperiment({ method, particles: 3, innerSteps: 2, hidden: [8], seed: 4 });
    const loss = exp.step();
    expect(Number.isFinite(loss)).toBe(true);
    expect(exp.learner.iteration).toBe(1);
    const task = exp.tasks.sampleBatch(1).split()[0]!;
    const members = method === 'maml' ? 1 : 3;
    expect(exp.adapt(task)[0]!.shape[0]).toBe(members);
    const s = exp.evaluate(4);
    expect(s.tasks).toBe(4);
    for (const c of [s.coverage50, s.coverage90]) {
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(1);
    }
    expect(s.coverage90).toBeGreaterThanOrEqual(s.coverage50);
    const pic = exp.picture();
    expect(pic.members).toHaveLength(members);
    pic.mean.forEach((m, i) => {
      expect(pic.lower[i]).toBeLessThan(m);
      expect(pic.upper[i]).toBeGreaterThan(m);
    });
    // The truth drawn is the task's own function.
    expect(pic.truth[0]).toBeCloseTo(mg.evaluateFunction(pic.fn, -5), 12);
  });
});

test('MAML\'s predictive band is the observation noise alone; evaluation is deterministic', () => {
  const exp = new mg.UncertaintyExperiment({ method: 'maml', hidden: [8], seed: 2 });
  const pic = exp.picture(3);
  const sd = 0.3; // the ambiguous family's noise
  pic.mean.forEach((m, i) => expect(pic.upper[i]! - m).toBeCloseTo(mg.normalQuantile(0.95) * sd, 6));
  expect(exp.evaluate(3, 7)).toEqual(exp.evaluate(3, 7));
  expect(() => new mg.UncertaintyExperiment({ method: 'vi' as 'maml' })).toThrow(/method must be one of platipus, bmaml, emaml, maml/);
});

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

test('a band fills the region between its edges, and a band without a lower edge is refused', () => {
  const svg = plotSvg([{ label: 'band', x: [0, 1, 2], y: [1, 2, 1], lower: [0, 0, -1], color: '#00f', style: 'band' }]);
  expect(svg).toMatch(/<path d="M[^"]+ Z" fill="#00f" stroke="none" opacity="0.25"\/>/);
  expect(() => plotSvg([{ label: 'b', x: [0, 1], y: [1, 2], color: '#00f', style: 'band' }])).toThrow(/band 'b' needs a lower edge of 2 values/);
});
