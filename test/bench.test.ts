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
