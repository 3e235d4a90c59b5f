/**
 * Meta-learning cost on the sine MLP (1→40→40→1) with meta-batch 25: time per meta-iteration
 * of second-order MAML, FOMAML and Reptile at k inner steps, the MAML/FOMAML ratio, and the cost
 * of a Hessian-vector product relative to one gradient; and the memory a meta-step holds at its
 * peak (the graph alive between the meta-loss and its gradient), measured as heap + array
 * buffers after a forced collection, with the meta-loss held, minus the same without it (with
 * the storage pool off, so arrays kept for reuse are not counted).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import * as mg from '../src/index.js';
import { fmtRatio, fmtTime, machineLine, pairedRatio, stepFrom, table, time } from './harness.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const liveBytes = (): number => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/**
 * Bytes held by the graph of one meta-step's meta-loss (before its gradient frees it): the
 * median of five measurements, since compiled code of a first run and array buffers that V8
 * frees on a background thread land in the same counters.
 */
function graphBytes(model: mg.Model, params: mg.Tensor[], batch: mg.RegressionBatch, k: number, mode: 'second-order' | 'first-order' | 'reptile'): number {
  // The storage pool would count arrays it keeps for reuse as held memory: off while measuring.
  const limit = mg.setPoolLimit(0);
  try {
    const runs = [0, 1, 2, 3, 4].map(() => graphBytesOnce(model, params, batch, k, mode)).sort((a, b) => a - b);
    return runs[2]!;
  } finally {
    mg.setPoolLimit(limit);
  }
}

function graphBytesOnce(model: mg.Model, params: mg.Tensor[], batch: mg.RegressionBatch, k: number, mode: 'second-order' | 'first-order' | 'reptile'): number {
  const T = batch.xSupport.shape[0]!;
  const inner = mg.summedTaskMse(model, batch.xSupport, batch.ySupport);
  const before = liveBytes();
  const phi = params.map((p) => new mg.Tensor(p.data, p.shape, true));
  let held: unknown;
  if (mode === 'reptile') held = mg.innerGradients(phi, Array(k).fill(inner), 0.02, { tasks: T }).params;
  else {
    const adapted = mg.sgdInnerLoop(mg.tileParams(phi, T), Array(k).fill(inner), 0.01, mode).params;
    held = mg.meanTaskMse(model, batch.xQuery, batch.yQuery)(adapted);
  }
  const after = liveBytes();
  if (held === undefined) throw new Error('unreachable');
  return after - before;
}
export function run(): string {
  const rng = new mg.Rng(0);
  const model = mg.mlp([1, 40, 40, 1]);
  const tasks = new mg.SineTasks({ rng });
  const batch = tasks.sampleBatch(25);
  const ks = [1, 5, 10, 32];
  const rows: string[][] = [];
  const memRows: string[][] = [];
  for (const k of ks) {
    const maml = stepFrom(new mg.MAML(model, model.init({ rng }), { innerSteps: k }), batch);
    const fomaml = stepFrom(new mg.MAML(model, model.init({ rng }), { innerSteps: k, firstOrder: true }), batch);
    const reptile = stepFrom(new mg.Reptile(model, model.init({ rng }), { innerSteps: k, iterations: 1e9 }), batch);
    const [a, b, c] = time({ [`MAML k=${k}`]: maml, [`FOMAML k=${k}`]: fomaml, [`Reptile k=${k}`]: reptile }, { minTime: 0.5, maxTime: 2 });
    const ratio = pairedRatio(maml, fomaml);
    rows.push([String(k), fmtTime(a!.mean), fmtTime(b!.mean), fmtTime(c!.mean), fmtRatio(ratio)]);
    const p0 = model.init({ rng });
    const mib = (x: number) => `${(x / 2 ** 20).toFixed(2)} MiB`;
    memRows.push([String(k), mib(graphBytes(model, p0, batch, k, 'second-order')), mib(graphBytes(model, p0, batch, k, 'first-order')), mib(graphBytes(model, p0, batch, k, 'reptile'))]);
  }
  const params = model.init({ rng });
  const f = mg.meanTaskMse(model, batch.xQuery, batch.yQuery);
  const gradient = () => mg.valueAndGrad(f)(params);
  const hvp = () => mg.hvp(f, params, params);
  const [g, h] = time({ gradient, hvp }, { minTime: 0.5, maxTime: 2 });
  const hvpRatio = pairedRatio(hvp, gradient);
  return [
    '## Meta-learning (sine MLP, meta-batch 25)',
    '',
    machineLine(),
    '',
    'Times per meta-iteration (Benchmark.js means). The MAML / FOMAML column is measured separately in 15 alternating rounds (MAML, FOMAML, MAML, ...), so load from other processes falls on both sides of each ratio: median (range over rounds).',
    '',
    table(['k', 'MAML', 'FOMAML', 'Reptile', 'MAML / FOMAML'], rows),
    '',
    'Memory held at the peak of a meta-step (the graph between meta-loss and gradient; Reptile: the adapted parameters):',
    '',
    table(['k', 'MAML', 'FOMAML', 'Reptile'], memRows),
    '',
    `One gradient of the query loss: ${fmtTime(g!.mean)}; one hvp: ${fmtTime(h!.mean)}; hvp / gradient in alternating rounds: ${fmtRatio(hvpRatio)}.`,
    'Targets: MAML k=1 ≤ 5 ms; MAML/FOMAML ≤ 1.5 at k=1; hvp ≤ 3× a gradient.',
  ].join('\n');
}
