#!/usr/bin/env node
/**
 * The uncertainty experiments of docs/bayes.md: every method on both task families, and BMAML
 * against EMAML as the number of particles grows. Each run writes results/bayes/<name>.json and
 * .svg; runs whose JSON exists are skipped, so an interrupted sweep continues where it stopped.
 * Then results/bayes/results.md tabulates every run found.
 *
 *   node scripts/bayes-experiments.mjs [--iterations N] [--only SUBSTRING]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '5000' }, only: { type: 'string' } } });
const runs = [];
for (const method of ['maml', 'emaml', 'bmaml', 'platipus']) runs.push({ name: `ambiguous-${method}`, args: ['--method', method, '--setup', 'ambiguous'] });
for (const shots of [5]) {
  for (const method of ['emaml', 'bmaml']) for (const particles of [1, 5, 10]) runs.push({ name: `sine-${shots}shot-${method}-${particles}`, args: ['--method', method, '--setup', 'bmaml', '--shots', String(shots), '--particles', String(particles)] });
  runs.push({ name: `sine-${shots}shot-maml`, args: ['--method', 'maml', '--setup', 'bmaml', '--shots', String(shots)] });
}
mkdirSync('results/bayes', { recursive: true });
for (const run of runs) {
  if (values.only !== undefined && !run.name.includes(values.only)) continue;
  const json = `results/bayes/${run.name}.json`;
  if (existsSync(json)) continue;
  const args = ['--experimental-wasm-relaxed-simd', 'build/src/cli/bayes.js', ...run.args, '--iterations', values.iterations, '--out', `results/bayes/${run.name}.svg`, '--json', json];
  console.log(`\n== ${run.name}: node ${args.join(' ')}`);
  const r = spawnSync('node', args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// The table of every run whose JSON exists.
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const lines = ['# Uncertainty runs', '', `Written by \`node scripts/bayes-experiments.mjs\` from the JSON files beside it. Scores on 200 new tasks: MSE of the ensemble's mean against the noise-free function on 50 points of [−5, 5]; Gaussian NLL and coverage of the central 50% and 90% intervals of noisy observations there (the predictive variance is the ensemble's plus the observation noise's). Time per meta-iteration as measured, on a shared machine.`, ''];
lines.push('| run | method | members | meta-iterations | MSE | NLL | coverage 50% | coverage 90% | ms / iteration |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const run of runs) {
  const json = `results/bayes/${run.name}.json`;
  if (!existsSync(json)) continue;
  const r = JSON.parse(readFileSync(json, 'utf8'));
  const members = r.settings.method === 'maml' ? 1 : r.settings.particles;
  const s = r.scores;
  lines.push(`| ${run.name} | ${r.settings.method} | ${members} | ${r.iterations} | ${s.mse.toFixed(3)} | ${s.nll.toFixed(2)} | ${pct(s.coverage50)} | ${pct(s.coverage90)} | ${r.msPerIteration.toFixed(1)} |`);
}
writeFileSync('results/bayes/results.md', `${lines.join('\n')}\n`);
console.log('wrote results/bayes/results.md');
