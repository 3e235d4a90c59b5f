/**
 * The uncertainty experiment's pieces: every method training, adapting
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

test('a band fills the region between its edges, and a band without a lower edge is refused', () => {
  const svg = plotSvg([{ label: 'band', x: [0, 1, 2], y: [1, 2, 1], lower: [0, 0, -1], color: '#00f', style: 'band' }]);
  expect(svg).toMatch(/<path d="M[^"]+ Z" fill="#00f" stroke="none" opacity="0.25"\/>/);
  expect(() => plotSvg([{ label: 'b', x: [0, 1], y: [1, 2], color: '#00f', style: 'band' }])).toThrow(/band 'b' needs a lower edge of 2 values/);
});
