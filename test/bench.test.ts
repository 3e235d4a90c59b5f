import { describe, expect, it } from 'vitest';
import * as mg from '../src/index.js';
import { stepFrom } from '../bench/harness.js';

describe('bench harness', () => {
  it('stepFrom times every meta-step from the same parameters, so a learner stepped thousands of times never drifts', () => {
    const model = mg.mlp([1, 8, 1]);
    const batch = new mg.SineTasks({ rng: new mg.Rng(1) }).sampleBatch(4);
    const learner = (): mg.MAML => new mg.MAML(model, model.init({ rng: new mg.Rng(2) }), { innerSteps: 2, firstOrder: true });
    const timed = learner();
    const start = timed.params;
    const step = stepFrom(timed, batch);
    const first = step();
    expect(timed.params).not.toBe(start); // the step itself did move the learner
    expect(step()).toBe(first);
    expect(step()).toBe(first);
    // Plain steps move on: the second sees other parameters and another loss.
    const plain = learner();
    expect(plain.step(batch)).toBe(first);
    expect(plain.step(batch)).not.toBe(first);
  });
});

describe('bench memory', () => {
  it('a meta-step\'s graph is counted from the graph itself: the same bytes on every repeat; recomputing inner steps holds less at k = 10', async () => {
    const { graphBytes } = await import('../bench/meta.js');
    const model = mg.mlp([1, 40, 40, 1]);
    const rng = new mg.Rng(3);
    const batch = new mg.SineTasks({ rng }).sampleBatch(25);
    const params = model.init({ rng });
    for (const mode of ['second-order', 'recompute', 'first-order', 'reptile'] as const) {
      const a = graphBytes(model, params, batch, 4, mode);
      expect(a).toBeGreaterThan(0);
      expect(graphBytes(model, params, batch, 4, mode)).toBe(a);
    }
    const full = graphBytes(model, params, batch, 10, 'second-order');
    expect(graphBytes(model, params, batch, 10, 'recompute')).toBeLessThan(full / 1.3);
    expect(graphBytes(model, params, batch, 10, 'checkpointed')).toBeLessThan(full / 2);
    // At k = 1 the graph holds no task-tiled copy of φ: below PyTorch 1.13's 0.36 MiB of saved tensors.
    expect(graphBytes(model, params, batch, 1, 'second-order')).toBeLessThan(0.36 * 2 ** 20);
    // First order does not grow with k; second order does.
    expect(graphBytes(model, params, batch, 8, 'first-order')).toBe(graphBytes(model, params, batch, 2, 'first-order'));
    expect(graphBytes(model, params, batch, 8, 'second-order')).toBeGreaterThan(3 * graphBytes(model, params, batch, 2, 'second-order'));
  });
});
