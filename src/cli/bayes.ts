#!/usr/bin/env node
/**
 * Few-shot regression with uncertainty: meta-train PLATIPUS, BMAML, EMAML or MAML on the noisy
 * task families of the probabilistic and Bayesian MAML papers, score the predictive
 * distributions on new tasks, and draw one task's ensemble, band and truth.
 *
 *   npm run bayes -- [--method platipus|bmaml|emaml|maml] [--setup ambiguous|bmaml]
 *                    [--iterations N] [--particles M] [--shots K] [--meta-batch N]
 *                    [--seed N] [--eval-tasks N] [--out FILE.svg] [--json FILE.json]
 */
import { parseArgs } from 'node:util';
import * as mg from '../index.js';
import { checkWritable, writeFileAtomicSync } from '../io/node.js';
import { plotSvg, type Series } from '../io/svg.js';
import { UNCERTAINTY_METHODS, UncertaintyExperiment, type UncertaintyMethod } from '../experiments/uncertainty.js';
import { intOption } from './args.js';
import { ProgressBar } from './progress.js';

function main(): void {
  const { values } = parseArgs({
    options: {
      method: { type: 'string', default: 'platipus' },
      setup: { type: 'string', default: 'ambiguous' },
      iterations: { type: 'string' },
      particles: { type: 'string' },
      shots: { type: 'string' },
      'meta-batch': { type: 'string' },
      seed: { type: 'string' },
      'eval-tasks': { type: 'string' },
      out: { type: 'string', default: 'bayes.svg' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(`usage: metagrad bayes [flags]   (in the repository: npm run bayes -- [flags])

Meta-trains a probabilistic or Bayesian meta-learner on noisy few-shot regression, scores its
predictive distributions on new tasks (MSE of the mean against the noise-free function; NLL and
coverage of 50% / 90% intervals of noisy observations) and draws one new task.

  --method platipus|bmaml|emaml|maml   the algorithm (default platipus)
  --setup ambiguous|bmaml              sines or lines with noise 0.3 (PLATIPUS), or sines of
                                       varying frequency with noise 0.01·A (BMAML); default ambiguous
  --iterations N                       meta-iterations (default 5000)
  --particles M                        particles (BMAML, EMAML) or test-time draws (PLATIPUS); default 10
  --shots K                            support points per task (default 5)
  --meta-batch N                       tasks per meta-iteration (default 10)
  --seed N                             the seed of every random draw (default 0)
  --eval-tasks N                       new tasks the scores average over (default 200)
  --out FILE.svg                       the figure (default bayes.svg)
  --json FILE.json                     also write the settings and scores
  -h, --help                           this text`);
    return;
  }
  const method = values.method as UncertaintyMethod;
  if (!UNCERTAINTY_METHODS.includes(method)) throw new RangeError(`--method must be one of ${UNCERTAINTY_METHODS.join(', ')}, got '${values.method}'`);
  const setup = values.setup;
  if (setup !== 'ambiguous' && setup !== 'bmaml') throw new RangeError(`--setup must be 'ambiguous' or 'bmaml', got '${setup}'`);
  const iterations = intOption('iterations', values.iterations, 5000);
  const evalTasks = intOption('eval-tasks', values['eval-tasks'], 200);
  const out = values.out!;
  if (!out.endsWith('.svg')) throw new RangeError(`--out must name an .svg file, got '${out}'`);
  if (values.json !== undefined && !values.json.endsWith('.json')) throw new RangeError(`--json must name a .json file, got '${values.json}'`);
  checkWritable(out);
  if (values.json !== undefined) checkWritable(values.json);

  const exp = new UncertaintyExperiment({
    method,
    setup,
    particles: intOption('particles', values.particles, 10),
    shots: intOption('shots', values.shots, 5),
    metaBatch: intOption('meta-batch', values['meta-batch'], 10),
    seed: intOption('seed', values.seed, 0, 0),
  });
  const s = exp.settings;
  console.error(`metagrad bayes: ${method} on '${setup}' tasks, ${s.shots} shots, ${method === 'maml' ? 'one model' : `${s.particles} ${method === 'platipus' ? 'draws' : 'particles'}`}, ${iterations} meta-iterations, seed ${s.seed}, kernels: ${mg.backendInfo().variant}`);
  const bar = new ProgressBar(iterations, method);
  let avg = NaN;
  const started = Date.now();
  for (let it = 1; it <= iterations; it++) {
    const loss = exp.step();
    avg = Number.isNaN(avg) ? loss : 0.98 * avg + 0.02 * loss;
    if (it % 25 === 0 || it === iterations) bar.update(it, `loss ${avg.toPrecision(3)}`);
  }
  const seconds = (Date.now() - started) / 1000;
  const scores = exp.evaluate(evalTasks);
  console.log(`\n${method} on ${evalTasks} new '${setup}' tasks (${(seconds / iterations * 1000).toFixed(1)} ms per meta-iteration):`);
  console.log(`  MSE of the mean ${scores.mse.toFixed(3)}   NLL ${scores.nll.toFixed(3)}   coverage 50%: ${(100 * scores.coverage50).toFixed(1)}%   90%: ${(100 * scores.coverage90).toFixed(1)}%`);

  const pic = exp.picture();
  const members: Series[] = pic.members.map((m, i) => ({ label: 'members', x: pic.grid, y: m, color: '#1f77b4', width: 1, opacity: 0.5, legend: i === 0 }));
  const svg = plotSvg(
    [
      { label: '90% band', x: pic.grid, y: pic.upper, lower: pic.lower, color: '#1f77b4', style: 'band' },
      ...members,
      { label: 'mean', x: pic.grid, y: pic.mean, color: '#d62728' },
      { label: 'true', x: pic.grid, y: pic.truth, color: '#222', dashed: true },
      { label: 'support', x: pic.support.x, y: pic.support.y, color: '#2ca02c', style: 'points' },
    ],
    { title: `${method.toUpperCase()} after ${iterations} meta-iterations: a new ${pic.fn.kind} task, ${s.shots} noisy points` },
  );
  writeFileAtomicSync(out, svg);
  console.log(`wrote ${out}`);
  if (values.json !== undefined) {
    writeFileAtomicSync(values.json, `${JSON.stringify({ settings: s, iterations, msPerIteration: (seconds / iterations) * 1000, scores }, null, 2)}\n`);
    console.log(`wrote ${values.json}`);
  }
}

try {
  main();
} catch (e) {
  console.error(`metagrad bayes: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
