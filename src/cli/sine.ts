#!/usr/bin/env node
/**
 * The main job: meta-train on sine-wave regression with MAML, FOMAML or Reptile, compare the
 * post-adaptation MSE against joint training on all tasks, and draw a figure like Figure 1 of
 * the Reptile paper.
 *
 *   npm run sine -- [--method maml|fomaml|reptile] [--iterations N] [--meta-batch N]
 *                   [--seed N] [--eval-tasks N] [--out sine.svg]
 */
import { parseArgs } from 'node:util';
import * as mg from '../index.js';
import type { Model, RegressionBatch, Tensor } from '../index.js';
import { checkWritable, writeFileAtomicSync } from '../io/node.js';
import { plotSvg } from '../io/svg.js';
import { intOption } from './args.js';
import { ProgressBar } from './progress.js';
import { trainJoint } from './train-joint.js';

const METHODS = ['maml', 'fomaml', 'reptile'] as const;
type Method = (typeof METHODS)[number];

function main(): void {
  const { values } = parseArgs({
    options: {
      method: { type: 'string', default: 'maml' },
      iterations: { type: 'string' },
      'meta-batch': { type: 'string' },
      seed: { type: 'string' },
      'eval-tasks': { type: 'string' },
      out: { type: 'string', default: 'sine.svg' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(`usage: metagrad sine [flags]   (in the repository: npm run sine -- [flags])

Meta-trains on sine-wave regression, compares the MSE after adaptation with joint training on
all tasks, and draws the fitted curves.

  --method maml|fomaml|reptile   the algorithm (default maml)
  --iterations N                 meta-iterations (default 8000; Reptile 6000)
  --meta-batch N                 tasks per meta-iteration (default 25)
  --seed N                       the seed of every random draw (default 0)
  --eval-tasks N                 new tasks the MSE is averaged over (default 500)
  --out FILE.svg                 the figure (default sine.svg)
  -h, --help                     this text`);
    return;
  }
  const method = values.method as Method;
  if (!METHODS.includes(method)) throw new RangeError(`--method must be one of ${METHODS.join(', ')}, got '${values.method}'`);
  const iterations = intOption('iterations', values.iterations, method === 'reptile' ? 6000 : 8000);
  const metaBatch = intOption('meta-batch', values['meta-batch'], 25);
  const seed = intOption('seed', values.seed, 0, 0);
  const evalTasks = intOption('eval-tasks', values['eval-tasks'], 500);
  const out = values.out!;
  if (!out.endsWith('.svg')) throw new RangeError(`--out must name an .svg file, got '${out}'`);
  checkWritable(out); // now, not after the training

  const rng = new mg.Rng(seed);
  const setup = method === 'reptile' ? 'reptile' : 'maml';
  const model = mg.mlp([1, 40, 40, 1]);
  const tasks = new mg.SineTasks({ setup, rng: rng.fork() });
  const init = model.init({ rng: rng.fork() });
  const evalLr = method === 'reptile' ? 0.02 : 0.01;
  console.error(`metagrad sine: ${method.toUpperCase()} (${setup} setup), ${iterations} meta-iterations, meta-batch ${metaBatch}, seed ${seed}, kernels: ${mg.backendInfo().variant}`);

  // Meta-training.
  const learner =
    method === 'reptile'
      ? new mg.Reptile(model, init, { iterations, innerLr: 0.02, innerSteps: 5, metaStepSize: 1, metaStepSizeFinal: 0 })
      : new mg.MAML(model, init, { innerLr: 0.01, innerSteps: 1, firstOrder: method === 'fomaml' });
  const bar = new ProgressBar(iterations, method);
  let avg = NaN;
  for (let it = 1; it <= iterations; it++) {
    const loss = learner.step(tasks.sampleBatch(metaBatch));
    avg = Number.isNaN(avg) ? loss : 0.98 * avg + 0.02 * loss;
    if (it % 50 === 0 || it === iterations) bar.update(it, `loss ${avg.toFixed(3)}`);
  }

  // Baseline: joint training on all tasks (minimise the expected loss directly).
  const joint = trainJoint(model, model.init({ rng: rng.fork() }), tasks, iterations, metaBatch);

  // Evaluation on new tasks.
  const steps = [0, 1, 5, 10];
  const evalSampler = new mg.SineTasks({ setup, rng: rng.fork() });
  const batches: RegressionBatch[] = [];
  for (let left = evalTasks; left > 0; left -= 100) batches.push(evalSampler.sampleBatch(Math.min(100, left)));
  const ours = mg.evaluate(model, learner.params, batches, steps, evalLr);
  const base = mg.evaluate(model, joint, batches, steps, evalLr);
  console.log(`\nPost-adaptation MSE on ${evalTasks} new tasks (K=${tasks.shots}, SGD step ${evalLr}), mean ± 95% CI:`);
  console.log(`${'steps'.padEnd(7)}${method.toUpperCase().padEnd(22)}joint training`);
  for (const k of steps) {
    const a = ours.get(k)!, b = base.get(k)!;
    console.log(`${String(k).padEnd(7)}${`${a.mean.toFixed(3)} ± ${a.ci95.toFixed(3)}`.padEnd(22)}${b.mean.toFixed(3)} ± ${b.ci95.toFixed(3)}`);
  }

  // Figure: one new task, before and after adaptation.
  writeFileAtomicSync(out, figure(model, learner.params, evalSampler, evalLr, method));
  console.log(`\nwrote ${out}`);
}

function figure(model: Model, params: Tensor[], sampler: mg.SineTasks, lr: number, method: string): string {
  const batch = sampler.sampleBatch(1);
  const task = batch.tasks[0]!;
  const grid = mg.linspace(-5, 5, 200);
  const xg = mg.reshape(grid, [1, 200, 1]);
  const predict = (ps: Tensor[]) => mg.noGrad(() => model.forward(ps, xg)).data;
  const steps = method === 'reptile' ? 32 : 10;
  let phi = mg.tileParams(params, 1).map((p) => p.detach());
  const before = predict(phi);
  const inner = mg.summedTaskMse(model, batch.xSupport, batch.ySupport);
  phi = mg.sgdInnerLoop(phi, Array(steps).fill(inner), lr, 'detached').params;
  const after = predict(phi);
  const truth = Float64Array.from(grid.data, (x) => task.amplitude * Math.sin(x + task.phase));
  return plotSvg(
    [
      { label: 'true', x: grid.data, y: truth, color: '#222' },
      { label: 'before', x: grid.data, y: before, color: '#1f77b4', dashed: true },
      { label: `after ${steps} steps`, x: grid.data, y: after, color: '#d62728' },
      { label: 'sampled', x: batch.xSupport.data, y: batch.ySupport.data, color: '#2ca02c', style: 'points' },
    ],
    { title: `After ${method.toUpperCase()} training: adapting to a new sine task` },
  );
}

try {
  main();
} catch (e) {
  console.error(`metagrad sine: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
