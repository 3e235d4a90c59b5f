/**
 * A stacked meta-batch shared between threads by parts (`Task.part`, `mamlGradient`'s
 * `perTask`, `MetaLearner.stepAsync`): the per-task rows of the parts, summed in task order,
 * are the whole batch's meta-gradient bit for bit, wherever the batch is cut.
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { MetaGradient, MetaGradientOffload, Task, Tensor } from '../src/index.js';

const model = mg.mlp([1, 12, 12, 1]);
const bits = (ts: readonly Tensor[]): number[][] => ts.map((t) => Array.from(t.data));

function setup(seed: number, tasks: number) {
  const rng = new mg.Rng(seed);
  return { params: model.init({ rng }), batch: new mg.SineTasks({ rng }).sampleBatch(tasks) };
}

/** Rows of the parts cut at `cuts`, concatenated and summed over the task axis. */
function summedParts(rows: (t: Task) => MetaGradient, batch: mg.RegressionBatch, cuts: number[]): Tensor[] {
  const bounds = [0, ...cuts, batch.stacked!];
  const parts = bounds.slice(1).map((end, i) => rows(batch.part(bounds[i]!, end)));
  parts.forEach((p, i) => p.grads.forEach((g) => expect(g.shape[0]).toBe(bounds[i + 1]! - bounds[i]!)));
  return parts[0]!.grads.map((_, j) => mg.sum(mg.concat(parts.map((p) => p.grads[j]!), 0), 0));
}

describe('Task.part', () => {
  test("a part holds its tasks' rows and averages its query loss over the whole batch", () => {
    const { params, batch } = setup(1, 5);
    const part = batch.part(1, 3);
    expect(part.stacked).toBe(2);
    expect(part.meanOver).toBe(5);
    expect(Array.from(part.xSupport.data)).toEqual(Array.from(batch.xSupport.data.subarray(10, 30)));
    // Two parts' query losses add up to the whole's (to rounding: each is a sum over its rows / 5).
    const whole = batch.queryLoss(model, mg.tileParams(params, 5)).item();
    const halves = batch.part(0, 2).queryLoss(model, mg.tileParams(params, 2)).item() + batch.part(2, 5).queryLoss(model, mg.tileParams(params, 3)).item();
    expect(halves).toBeCloseTo(whole, 5);
    // Parts of parts keep the whole's count.
    expect(part.part(1, 2).meanOver).toBe(5);
  });

  test('bad bounds and a bad meanOver are named', () => {
    const { batch } = setup(2, 4);
    expect(() => batch.part(2, 2)).toThrow(/0 ≤ start < end ≤ 4, got 2 and 2/);
    expect(() => batch.part(-1, 2)).toThrow(/0 ≤ start < end ≤ 4/);
    expect(() => batch.part(0, 5)).toThrow(/0 ≤ start < end ≤ 4/);
    expect(() => batch.part(0.5, 2)).toThrow(/integers/);
    expect(() => batch.split()[0]!.part!(0, 1)).toThrow(/not stacked/);
    const data = { xSupport: batch.xSupport, ySupport: batch.ySupport, xQuery: batch.xQuery, yQuery: batch.yQuery };
    expect(() => mg.supervisedTask(data, { stacked: true, meanOver: 3 })).toThrow(/meanOver \(3\) must be at least the stacked task count \(4\)/);
    expect(() => mg.supervisedTask(data, { stacked: true, meanOver: 4.5 })).toThrow(/meanOver/);
    expect(() => mg.supervisedTask(batch.split()[0] as mg.SupervisedTask, { meanOver: 4 })).toThrow(/meanOver applies to stacked tasks/);
  });
});

describe("mamlGradient's perTask rows", () => {
  const cases = [
    { name: 'second order, k = 1', s: { innerSteps: 1, firstOrder: false } },
    { name: 'second order, k = 3', s: { innerSteps: 3, firstOrder: false } },
    { name: 'first order, k = 2', s: { innerSteps: 2, firstOrder: true } },
    { name: 'recomputed, k = 3', s: { innerSteps: 3, firstOrder: false, recompute: true } },
    { name: 'checkpointed, k = 4, every 2', s: { innerSteps: 4, firstOrder: false, recompute: { every: 2 } } },
  ];
  test.each(cases)('$name: the parts\' rows summed in order are the whole batch\'s gradient bit for bit, wherever it is cut', ({ s }) => {
    const { params, batch } = setup(3, 7);
    const settings = { innerLr: 0.02, tail: 'separate' as const, ...s };
    const whole = mg.mamlTaskGradient(model, params, batch, settings);
    const rows = (t: Task) => mg.mamlTaskGradient(model, params, t, { ...settings, perTask: true });
    for (const cuts of [[], [1], [3], [6], [2, 5], [1, 2, 3, 4, 5, 6]]) {
      expect(bits(summedParts(rows, batch, cuts)), `cut at ${cuts.join(', ')}`).toEqual(bits(whole.grads));
    }
  });

  test('perTask without stacked tasks is refused', () => {
    const { params, batch } = setup(4, 2);
    const one = batch.split()[0]!;
    expect(() => mg.mamlTaskGradient(model, params, one, { innerLr: 0.01, innerSteps: 1, firstOrder: false, perTask: true })).toThrow(/perTask needs tasks/);
  });
});

/** An offload that computes its parts on this thread, taking `away` tasks in `size` parts. */
function localOffload(algorithm: mg.MetaAlgorithm, away: number, size: number, seen: number[][]): MetaGradientOffload {
  return {
    size,
    share: () => away,
    compute: async (params, tasks, settings, context) => {
      expect(settings).toMatchObject({ perTask: true });
      seen.push(tasks.map((t) => t.stacked ?? 1));
      return tasks.map((t) => algorithm.taskRows!(model, params, t, context));
    },
  };
}

describe('MetaLearner.stepAsync on a stacked meta-batch', () => {
  test.each([
    { name: 'MAML', settings: { innerLr: 0.02, innerSteps: 2, firstOrder: false, tail: 'separate' as const } },
    { name: 'FOMAML', settings: { innerLr: 0.02, innerSteps: 2, firstOrder: true, tail: 'separate' as const } },
  ])('$name: any share, in any number of parts, gives step()\'s weights bit for bit', async ({ settings }) => {
    const T = 6;
    const algorithm = mg.maml(settings);
    const make = () => new mg.MetaLearner(model, model.init({ rng: new mg.Rng(8) }), algorithm, new mg.Adam({ lr: 0.01 }));
    const serial = make();
    const sampler = new mg.SineTasks({ rng: new mg.Rng(9) });
    const batches = Array.from({ length: 3 }, () => sampler.sampleBatch(T));
    const losses = batches.map((b) => serial.step(b));
    for (const [away, size] of [[0, 1], [1, 1], [3, 1], [6, 1], [4, 2], [5, 3], [2, 4]] as const) {
      const seen: number[][] = [];
      const split = make();
      for (const [i, b] of batches.entries()) expect(await split.stepAsync(b, localOffload(algorithm, away, size, seen))).toBeCloseTo(losses[i]!, 5);
      expect(bits(split.params), `${away} tasks away in ${size} parts`).toEqual(bits(serial.params));
      // The share went out in min(size, away) parts that cover it.
      for (const parts of seen) {
        expect(parts).toHaveLength(Math.min(size, away));
        expect(parts.reduce((a, b) => a + b, 0)).toBe(away);
      }
    }
  });

  test("an offload's failure fails the step and changes nothing; a bad share is named", async () => {
    const algorithm = mg.maml({ innerLr: 0.02, innerSteps: 1, firstOrder: false, tail: 'separate' });
    const learner = new mg.MetaLearner(model, model.init({ rng: new mg.Rng(8) }), algorithm, new mg.Adam());
    const before = bits(learner.params);
    const batch = new mg.SineTasks({ rng: new mg.Rng(1) }).sampleBatch(4);
    const failing: MetaGradientOffload = { share: () => 2, compute: () => Promise.reject(new Error('worker 0 crashed')) };
    await expect(learner.stepAsync(batch, failing)).rejects.toThrow(/worker 0 crashed/);
    await expect(learner.stepAsync(batch, { share: () => 5, compute: async () => [] })).rejects.toThrow(/offload.share\(4\) must be an integer in \[0, 4\], got 5/);
    await expect(learner.stepAsync(batch, { share: () => 2, compute: async () => [] })).rejects.toThrow(/offload returned 0 meta-gradients for 1 parts/);
    expect(bits(learner.params)).toEqual(before);
    expect(learner.iteration).toBe(0);
  });
});
