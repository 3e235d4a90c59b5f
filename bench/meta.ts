/**
 * Meta-learning cost on the sine MLP (1→40→40→1) with meta-batch 25: time per meta-iteration
 * of second-order MAML, FOMAML and Reptile at k inner steps, the MAML/FOMAML ratio, and the cost
 * of a Hessian-vector product relative to one gradient. Peak memory is not measured yet.
 */
import * as mg from '../src/index.js';
import { fmtTime, machineLine, table, time } from './harness.js';

export function run(): string {
  const rng = new mg.Rng(0);
  const model = mg.mlp([1, 40, 40, 1]);
  const tasks = new mg.SineTasks({ rng });
  const batch = tasks.sampleBatch(25);
  const ks = [1, 5, 10];
  const rows: string[][] = [];
  for (const k of ks) {
    const maml = new mg.MAML(model, model.init({ rng }), { innerSteps: k });
    const fomaml = new mg.MAML(model, model.init({ rng }), { innerSteps: k, firstOrder: true });
    const reptile = new mg.Reptile(model, model.init({ rng }), { innerSteps: k, iterations: 1e9 });
    const [a, b, c] = time(
      { [`MAML k=${k}`]: () => maml.step(batch), [`FOMAML k=${k}`]: () => fomaml.step(batch), [`Reptile k=${k}`]: () => reptile.step(batch) },
      { minTime: 0.5, maxTime: 2 },
    );
    rows.push([String(k), fmtTime(a!.mean), fmtTime(b!.mean), fmtTime(c!.mean), (a!.mean / b!.mean).toFixed(2)]);
  }
  const params = model.init({ rng });
  const f = mg.meanTaskMse(model, batch.xQuery, batch.yQuery);
  const [g, h] = time({ gradient: () => mg.valueAndGrad(f)(params), hvp: () => mg.hvp(f, params, params) }, { minTime: 0.5, maxTime: 2 });
  return [
    '## Meta-learning (sine MLP, meta-batch 25)',
    '',
    machineLine(),
    '',
    table(['k', 'MAML', 'FOMAML', 'Reptile', 'MAML / FOMAML'], rows),
    '',
    `One gradient of the query loss: ${fmtTime(g!.mean)}; one hvp: ${fmtTime(h!.mean)} (${(h!.mean / g!.mean).toFixed(2)}× a gradient).`,
    'Targets (issue 4): MAML k=1 ≤ 5 ms; MAML/FOMAML ≤ 1.5 at k=1; hvp ≤ 3× a gradient. Peak memory per k: not measured yet.',
  ].join('\n');
}
