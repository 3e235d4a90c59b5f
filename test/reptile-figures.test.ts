/** The Reptile paper's Figures 3 and 4: the runs resume exactly, a checkpoint of another run is refused, and the mini-batch schemes hold the rows their names say. */
import { describe, expect, test } from 'vitest';
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

test("a finished run's record keeps its curve and time, and is refused for another run or when damaged, naming the file", () => {
  const combination = mg.FIGURE3_COMBINATIONS[3]!; // g2
  const curve = new mg.CombinationCurve(model, init, classes, combination, settings, 3);
  for (let i = 0; i < 4; i++) curve.step();
  curve.record(classes, 2, new mg.Rng(9));
  const text = mg.finishedRunJson(curve, 12.5);
  const run = mg.readFinishedRun(text, combination, settings, 'g2.done.json');
  expect(run).toEqual({ combination, settings, points: curve.points, seconds: 12.5 });
  const edited = (change: (r: Record<string, unknown>) => void): string => {
    const r = JSON.parse(text) as Record<string, unknown>;
    change(r);
    return JSON.stringify(r);
  };
  const cases: [string, RegExp][] = [
    ['{"points":', /g2\.done\.json: not valid JSON/],
    ['[1]', /g2\.done\.json: not a record of a finished run/],
    [edited((r) => (r.points = [])), /its curve is missing or damaged/],
    [edited((r) => (r.points = [{ iteration: 4, accuracy: 1.5 }])), /its curve is missing or damaged/],
    [edited((r) => (r.points = [{ iteration: 3, accuracy: 0.5 }])), /its curve ends at iteration 3, not 4/],
    // Every point is checked, not only the last.
    [edited((r) => (r.points = [7, { iteration: 4, accuracy: 0.5 }])), /its curve is missing or damaged/],
    [edited((r) => (r.points = [{ iteration: 1.5, accuracy: 0.5 }, { iteration: 4, accuracy: 0.5 }])), /its curve is missing or damaged/],
    [edited((r) => (r.points = [{ iteration: 2, accuracy: '0.5' }, { iteration: 4, accuracy: 0.5 }])), /its curve is missing or damaged/],
    [edited((r) => (r.points = [{ iteration: 2, accuracy: -0.1 }, { iteration: 4, accuracy: 0.5 }])), /its curve is missing or damaged/],
    [edited((r) => (r.seconds = -1)), /its run time -1 is not a number of seconds/],
    [edited((r) => (r.seconds = undefined)), /its run time undefined is not a number of seconds/],
  ];
  for (const [bad, message] of cases) expect(() => mg.readFinishedRun(bad, combination, settings, 'g2.done.json')).toThrow(message);
  expect(() => mg.readFinishedRun(text, mg.FIGURE3_COMBINATIONS[9]!, settings, 'f')).toThrow(/f: its combination is \{"label":"g2","coefficients":\[0,1\]\}, not \{"label":"g4"/);
  expect(() => mg.readFinishedRun(text, combination, { ...settings, outerLr: 0.5 }, 'f')).toThrow(/f: its settings are .*"outerLr":0\.03.*, not .*"outerLr":0\.5/);
  expect(mg.readFinishedRun(edited((r) => (r.points = [{ iteration: 4, accuracy: 0 }])), combination, settings, 'f').points).toEqual([{ iteration: 4, accuracy: 0 }]);
  // The ends of the ranges are values too: accuracy 1, and no time at all.
  expect(mg.readFinishedRun(edited((r) => ((r.points = [{ iteration: 4, accuracy: 1 }]), (r.seconds = 0))), combination, settings, 'f')).toMatchObject({ points: [{ iteration: 4, accuracy: 1 }], seconds: 0 });
});

describe('Figure 4: how the inner mini-batches are drawn', () => {
  // 3 classes × 6 rows, labels class-major.
  const labels = Int32Array.from({ length: 18 }, (_, i) => Math.floor(i / 6));

  test('cycling: consecutive slices of one shuffle, disjoint until the rows run out, then wrapping onto the first', () => {
    const b = mg.miniBatches('cycling', labels, 5, 6, new mg.Rng(1));
    expect(b).toHaveLength(5);
    expect(new Set(b.slice(0, 3).flat()).size).toBe(18); // three batches of 6 hold every row once
    expect(b[3]).toEqual(b[0]); // the fourth starts the cycle again
    expect(b[4]).toEqual(b[1]);
  });

  test('replacement: every row of every batch drawn from all rows, so a batch may repeat rows and overlap the others', () => {
    const b = mg.miniBatches('replacement', labels, 200, 6, new mg.Rng(2));
    const rows = b.flat();
    expect(rows.every((r) => Number.isInteger(r) && r >= 0 && r < 18)).toBe(true);
    expect(new Set(rows).size).toBe(18);
    expect(b.some((batch) => new Set(batch).size < batch.length)).toBe(true);
    const counts = Array.from({ length: 18 }, (_, r) => rows.filter((x) => x === r).length);
    for (const c of counts) expect(Math.abs(c - 1200 / 18)).toBeLessThan(30); // uniform: 66.7 each, sd ≈ 8
  });

  test('separate tail: the last batch takes ⌈size/N⌉ rows of every class and never overlaps the other batches, which cycle through the rest', () => {
    for (const [k, size] of [[4, 6], [9, 5], [1, 3]] as const) {
      const b = mg.miniBatches('separate-tail', labels, k, size, new mg.Rng(3));
      const tail = b[b.length - 1]!;
      expect(b).toHaveLength(k);
      expect(tail).toHaveLength(size);
      const perClass = [0, 1, 2].map((c) => tail.filter((r) => labels[r] === c).length);
      expect(Math.max(...perClass)).toBeLessThanOrEqual(Math.ceil(size / 3));
      const rest = new Set(b.slice(0, -1).flat());
      expect(tail.some((r) => rest.has(r))).toBe(false);
    }
    expect(() => mg.miniBatches('separate-tail', labels, 2, 18, new mg.Rng(4))).toThrow(/leaving none for the other batches/);
    expect(() => mg.miniBatches('sideways' as never, labels, 2, 3, new mg.Rng(4))).toThrow(/scheme must be/);
  });

  test('a task adapts on the batches given, step k on batch k mod count', () => {
    const x = mg.randn([6, 2], { rng: new mg.Rng(5) });
    const batches = [[0, 1], [4, 5, 2]];
    const task = mg.supervisedTask({ xSupport: x, ySupport: [0, 1, 0, 1, 0, 1], xQuery: x, yQuery: [0, 1, 0, 1, 0, 1] }, { loss: 'cross-entropy', batches });
    const net = mg.mlp([2, 2]);
    const p = net.init({ rng: new mg.Rng(6) });
    for (const step of [0, 1, 2, 3]) {
      const rows = batches[step % 2]!;
      const own = mg.supervisedTask({ xSupport: mg.selectRows(x, rows), ySupport: rows.map((r) => r % 2), xQuery: x, yQuery: [0, 1, 0, 1, 0, 1] }, { loss: 'cross-entropy' });
      expect(task.supportLoss(net, p, step).item()).toBe(own.supportLoss(net, p, 0).item());
    }
    expect(() => mg.supervisedTask({ xSupport: x, ySupport: [0, 1, 0, 1, 0, 1], xQuery: x, yQuery: [0, 1, 0, 1, 0, 1] }, { batches: [[0, 6]] })).toThrow(/batches must be a non-empty list of non-empty lists of support rows in \[0, 6\)/);
    expect(() => mg.supervisedTask({ xSupport: x, ySupport: [0, 1, 0, 1, 0, 1], xQuery: x, yQuery: [0, 1, 0, 1, 0, 1] }, { batches: [[0]], innerBatch: 2 })).toThrow(/give batches, or innerBatch and order, not both/);
  });

  test('the runs of the figure: four lines on panels a and b, shared-tail FOMAML with full batches on c', () => {
    const points = mg.figure4Points();
    const on = (panel: string) => points.filter((p) => p.panel === panel);
    expect(on('a')).toHaveLength(4 * 8);
    expect(on('b')).toHaveLength(4 * 10 - 1); // no separate tail of 100 from 100 images
    expect(on('c').every((p) => p.method.label === 'FOMAML (shared-tail, cycling)' && p.innerBatch === 100 && p.innerSteps === 4)).toBe(true);
    expect(on('c').map((p) => p.x)).toEqual([-7.5, -6, -4.5, -3, -1.5, 0, 1.5, 3, 4.5]);
    expect(mg.figure4Coefficients('reptile', 3)).toEqual([1, 1, 1]);
    expect(mg.figure4Coefficients('fomaml', 3)).toEqual([0, 0, 1]);
  });

  test('a Figure 4 run (separate tail) steps, stops and resumes exactly', () => {
    const s: mg.CurveSettings = { ...settings, innerBatch: 3, scheme: 'separate-tail' };
    const c = { label: 'FOMAML (separate-tail, cycling)', coefficients: mg.figure4Coefficients('fomaml', 3) };
    const straight = new mg.CombinationCurve(model, init, classes, c, s, 4);
    for (let i = 0; i < 3; i++) straight.step();
    const first = new mg.CombinationCurve(model, init, classes, c, s, 4);
    first.step();
    const resumed = new mg.CombinationCurve(model, init, classes, c, s, 4);
    resumed.setState(first.getState());
    resumed.step();
    resumed.step();
    expect(weights(resumed)).toEqual(weights(straight));
  });
});
