/**
 * Meta-learning cost on the sine MLP (1→40→40→1) with meta-batch 25: time per meta-iteration
 * of second-order MAML, FOMAML and Reptile at k inner steps, the MAML/FOMAML ratio, and the cost
 * of a Hessian-vector product relative to one gradient; and the memory a meta-step holds at its
 * peak: the bytes of the distinct arrays the graph between the meta-loss and its gradient reaches
 * (through each recorded op's inputs and saved values), the parameters and the batch excluded.
 * Counted from the graph itself, it is the same on every repeat, unlike heap readings, into which
 * compiled code and arrays freed on a background thread fall.
 */
import * as mg from '../src/index.js';
import { fmtRatio, fmtTime, machineLine, pairedRatio, stepFrom, table, time } from './harness.js';

/** Bytes of the distinct arrays reachable from `roots` through the tape, not counting those of `exclude`. */
function reachableBytes(roots: readonly unknown[], exclude: readonly mg.Tensor[]): number {
  const counted = new Set<ArrayBufferView>(exclude.map((t) => t.data));
  const seen = new Set<object>();
  const stack = [...roots];
  let bytes = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof mg.Tensor) {
      if (!counted.has(v.data)) {
        counted.add(v.data);
        bytes += v.data.byteLength;
      }
      if (v.node !== null && v.node.vjp !== null) stack.push(v.node);
    } else if (ArrayBuffer.isView(v)) {
      if (!counted.has(v)) {
        counted.add(v);
        bytes += v.byteLength;
      }
    } else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else stack.push(...Object.values(v));
  }
  return bytes;
}

/**
 * Bytes a meta-step holds at its peak (see the header); `recompute`: one inner step's graph and
 * the k stored parameter vectors; `checkpointed`: one inner step's graph, the checkpoints every
 * s = ⌈√k⌉ steps but the one being replayed, and that segment's s parameter vectors.
 */
export function graphBytes(model: mg.Model, params: mg.Tensor[], batch: mg.RegressionBatch, k: number, mode: 'second-order' | 'first-order' | 'reptile' | 'recompute' | 'checkpointed'): number {
  const T = batch.xSupport.shape[0]!;
  const inner = mg.summedTaskMse(model, batch.xSupport, batch.ySupport);
  const phi = params.map((p) => new mg.Tensor(p.data, p.shape, true));
  const exclude = [...phi, batch.xSupport, batch.ySupport, batch.xQuery, batch.yQuery];
  if (mode === 'reptile') return reachableBytes([mg.innerGradients(phi, Array(k).fill(inner), 0.02, { tasks: T }).params], exclude);
  if (mode === 'recompute' || mode === 'checkpointed') {
    const at = mg.tileParams(params, T).map((p) => new mg.Tensor(p.data, p.shape, true));
    const g = mg.grad(inner(at), at, { createGraph: true });
    const s = Math.ceil(Math.sqrt(k));
    const kept = mode === 'recompute' ? k : Math.ceil(k / s) - 1 + Math.min(s, k);
    return reachableBytes([g], [...exclude, ...at]) + kept * at.reduce((n, p) => n + p.data.byteLength, 0);
  }
  const adapted = mg.sgdInnerLoop(mg.tileParams(phi, T), Array(k).fill(inner), 0.01, mode).params;
  return reachableBytes([mg.meanTaskMse(model, batch.xQuery, batch.yQuery)(adapted)], exclude);
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
    memRows.push([String(k), mib(graphBytes(model, p0, batch, k, 'second-order')), mib(graphBytes(model, p0, batch, k, 'recompute')), mib(graphBytes(model, p0, batch, k, 'checkpointed')), mib(graphBytes(model, p0, batch, k, 'first-order')), mib(graphBytes(model, p0, batch, k, 'reptile'))]);
  }
  const params = model.init({ rng });
  const f = mg.meanTaskMse(model, batch.xQuery, batch.yQuery);
  const gradient = () => mg.valueAndGrad(f)(params);
  const hvp = () => mg.tidy(() => mg.hvp(f, params, params));
  const hvpReverse = () => mg.tidy(() => mg.hvp(f, params, params, { method: 'reverse-over-reverse' }));
  const out = (ps: mg.Tensor[]) => model.forward(ps, batch.xQuery);
  const jvp = () => mg.tidy(() => mg.jvp(out, params, params));
  const jvpReverse = () => mg.tidy(() => mg.jvp(out, params, params, { method: 'double-vjp' }));
  const forward = () => mg.tidy(() => out(params));
  const [g, h] = time({ gradient, hvp }, { minTime: 0.5, maxTime: 2 });
  const hvpRatio = pairedRatio(hvp, gradient);
  const hvpReverseRatio = pairedRatio(hvpReverse, gradient);
  const jvpRatio = pairedRatio(jvp, forward);
  const jvpReverseRatio = pairedRatio(jvpReverse, forward);
  return [
    '## Meta-learning (sine MLP, meta-batch 25)',
    '',
    machineLine(),
    '',
    'Times per meta-iteration (Benchmark.js means). The MAML / FOMAML column is measured separately in 15 alternating rounds (MAML, FOMAML, MAML, ...), so load from other processes falls on both sides of each ratio: median (range over rounds).',
    '',
    table(['k', 'MAML', 'FOMAML', 'Reptile', 'MAML / FOMAML'], rows),
    '',
    'Memory held at the peak of a meta-step (the arrays the graph between meta-loss and gradient reaches; MAML with recompute: one inner step\'s graph and the k stored parameter vectors, or with checkpoints every ⌈√k⌉ steps those and one segment\'s; Reptile: the adapted parameters). PyTorch 1.13\'s saved tensors for second-order MAML on this MLP: 0.36 / 2.8 / 8.8 MiB at k = 1 / 10 / 32:',
    '',
    table(['k', 'MAML', 'MAML, recompute', 'MAML, recompute, checkpoints every ⌈√k⌉', 'FOMAML', 'Reptile'], memRows),
    '',
    `One gradient of the query loss: ${fmtTime(g!.mean)}; one hvp: ${fmtTime(h!.mean)}. In alternating rounds: hvp / gradient ${fmtRatio(hvpRatio)} forward-over-reverse (the default), ${fmtRatio(hvpReverseRatio)} reverse-over-reverse; jvp of the network's output / its forward pass ${fmtRatio(jvpRatio)} in forward mode (the default), ${fmtRatio(jvpReverseRatio)} by two reverse sweeps.`,
    'Targets: MAML k=1 ≤ 5 ms; MAML/FOMAML ≤ 1.5 at k=1; hvp ≤ 3× a gradient.',
  ].join('\n');
}
