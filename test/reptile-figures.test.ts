/** The Reptile paper's Figure 3 runner: its curves resume exactly, and a checkpoint of another curve is refused. */
import { expect, test } from 'vitest';
import * as mg from '../src/index.js';

function fakeClasses(count: number): mg.OmniglotClass[] {
  const rng = new mg.Rng(1);
  const chars = Array.from({ length: count }, (_, c) => ({
    alphabet: 'fake',
    name: `character${c}`,
    images: Array.from({ length: 20 }, () => Float32Array.from({ length: 784 }, () => (rng.uniform() < 0.2 ? 1 : 0))),
  }));
  return mg.classesOf(chars, true);
}

const classes = fakeClasses(8);
const settings: mg.CurveSettings = { ...mg.FIGURE3_SETTINGS, iterations: 4, nWay: 3, trainShots: 4, innerBatch: 3 };
const model = mg.conv4({ classes: 3, filters: 4 });
const init = model.init({ rng: new mg.Rng(2) });
const weights = (c: mg.CombinationCurve): number[][] => c.learner.params.map((p) => Array.from(p.data));

test('the ten combinations of the figure, each with as many inner steps as coefficients', () => {
  expect(mg.FIGURE3_COMBINATIONS.map((c) => c.label)).toEqual(['g1', '½(g1+g2)', 'g1+g2', 'g2', '⅓(g1+g2+g3)', 'g1+g2+g3', 'g3', '¼(g1+g2+g3+g4)', 'g1+g2+g3+g4', 'g4']);
  expect(mg.FIGURE3_COMBINATIONS.find((c) => c.label === 'g3')!.coefficients).toEqual([0, 0, 1]);
  expect(mg.FIGURE3_SETTINGS.trainShots * mg.FIGURE3_SETTINGS.nWay).toBe(4 * mg.FIGURE3_SETTINGS.innerBatch); // four disjoint batches
});

test('a curve stopped and restored goes on exactly as one never stopped; another curve\'s checkpoint is refused', () => {
  const combination = mg.FIGURE3_COMBINATIONS[5]!; // g1+g2+g3
  const straight = new mg.CombinationCurve(model, init, classes, combination, settings, 3);
  for (let i = 0; i < 4; i++) straight.step();
  straight.record(classes, 2, new mg.Rng(9));

  const first = new mg.CombinationCurve(model, init, classes, combination, settings, 3);
  first.step();
  first.step();
  const saved = first.getState();
  const resumed = new mg.CombinationCurve(model, init, classes, combination, settings, 3);
  resumed.setState(saved);
  expect(resumed.iteration).toBe(2);
  resumed.step();
  resumed.step();
  resumed.record(classes, 2, new mg.Rng(9));
  expect(weights(resumed)).toEqual(weights(straight));
  expect(resumed.points).toEqual(straight.points);
  expect(straight.points[0]!.accuracy).toBeGreaterThanOrEqual(0);
  expect(weights(straight)).not.toEqual(init.map((p) => Array.from(p.data)));

  const other = new mg.CombinationCurve(model, init, classes, mg.FIGURE3_COMBINATIONS[9]!, settings, 3);
  expect(() => other.setState(saved)).toThrow(/CombinationCurve.setState: the checkpoint is of combination \{"label":"g1\+g2\+g3"/);
  expect(other.iteration).toBe(0);
  expect(() => new mg.CombinationCurve(model, init, classes, combination, { ...settings, outerLr: 0 }, 3)).toThrow(/outerLr must be/);
});
