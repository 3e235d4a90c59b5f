#!/usr/bin/env node
/**
 * The uncertainty experiments of docs/bayes.md: every method on both task families, and BMAML
 * against EMAML as the number of particles grows. Each run writes results/bayes/<name>.json and
 * .svg; runs whose JSON exists are skipped, so an interrupted sweep continues where it stopped.
 *
 *   node scripts/bayes-experiments.mjs [--iterations N] [--only SUBSTRING]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
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
