#!/usr/bin/env node
/**
 * The Reptile paper's Figure 3 (inner-gradient combinations on Omniglot 5-way 5-shot): one
 * learning curve per combination, each resumable from its checkpoint in --out-dir, then the
 * figure (SVG) and a markdown report with the settings, the final accuracies and the run times.
 *
 *   npm run reproduce:reptile -- [--iterations N] [--eval-every N] [--eval-episodes N]
 *        [--out-dir DIR] [--resume] [--data DIR] [--cache FILE] [--seed N]
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import * as mg from '../index.js';
import { loadSafetensors, lockFile, saveSafetensors, writeFileAtomicSync } from '../io/node.js';
import { plotSvg } from '../io/svg.js';
import { loadOmniglot } from '../tasks/omniglot-node.js';
import { intOption } from './args.js';
import { ProgressBar } from './progress.js';

const USAGE = `usage: metagrad reproduce-reptile [flags]   (in the repository: npm run reproduce:reptile -- [flags])

The Reptile paper's Figure 3: learning curves of the outer update Σ cᵢgᵢ for ten combinations of
the gradients of four non-overlapping inner mini-batches, Omniglot 5-way 5-shot, plain SGD inside
and outside, no meta-batch; or (--figure 4) its Figure 4: final accuracy of Reptile and FOMAML
(separate or shared tail, cycling or with replacement) against the number of inner batches, their
size and the outer step. Each run resumes from its checkpoint in --out-dir.

  --figure 3|4        which figure (default 3)
  --iterations N      meta-iterations per run (default 40000 for Figure 3, the paper's; 10000 for Figure 4)
  --eval-every N      iterations between test points (default 1000; Figure 4: only at the end)
  --eval-episodes N   test episodes per point (default 100)
  --out-dir DIR       checkpoints, figures and report (default results/reptile-fig3 or -fig4)
  --resume            continue the curves whose checkpoints are in --out-dir
  --data DIR          the Omniglot archives (default ../shared/data/omniglot)
  --cache FILE        a decoded-images cache (default: none)
  --seed N            the seed of the split, the initial weights and every draw (default 0)
  -h, --help          this text

A finished run's checkpoint is replaced by NAME.done.json: its curve and run time.
Ctrl-C (or SIGTERM) stops after the iteration in progress and writes the curve's checkpoint.`;

/** Iterations of each Figure 4 run (the paper does not say; its Figure 3 runs 40,000). */
const FIGURE4_ITERATIONS = 10_000;

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** A file name for a combination's label: g1+g2 → g1-plus-g2, ½(g1+g2) → half-g1-plus-g2. */
function slug(label: string): string {
  return label.replace('½', 'half-').replace('⅓', 'third-').replace('¼', 'quarter-').replace(/[()]/g, '').replace(/\+/g, '-plus-');
}

/** Where a run's record goes once it has finished (beside its checkpoint, which it replaces). */
function finishedFile(checkpoint: string): string {
  return checkpoint.replace(/\.safetensors$/, '.done.json');
}

/** A curve to run: its checkpoint file, label, update and settings. */
interface Job {
  file: string;
  label: string;
  combination: mg.Combination;
  settings: mg.CurveSettings;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      figure: { type: 'string', default: '3' },
      iterations: { type: 'string' },
      'eval-every': { type: 'string' },
      'eval-episodes': { type: 'string' },
      'out-dir': { type: 'string' },
      resume: { type: 'boolean', default: false },
      data: { type: 'string', default: '../shared/data/omniglot' },
      cache: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.figure !== '3' && values.figure !== '4') throw new RangeError(`--figure must be 3 or 4, got '${values.figure}'`);
  const figure = values.figure;
  const iterations = intOption('iterations', values.iterations, figure === '3' ? mg.FIGURE3_SETTINGS.iterations : FIGURE4_ITERATIONS);
  const evalEvery = intOption('eval-every', values['eval-every'], figure === '3' ? 1000 : iterations);
  const evalEpisodes = intOption('eval-episodes', values['eval-episodes'], 100);
  const seed = intOption('seed', values.seed, 0, 0);
  const dir = values['out-dir'] ?? `results/reptile-fig${figure}`;
  const base: mg.CurveSettings = { ...mg.FIGURE3_SETTINGS, iterations };
  const jobs: Job[] =
    figure === '3'
      ? mg.FIGURE3_COMBINATIONS.map((c) => ({ file: join(dir, `${slug(c.label)}.safetensors`), label: c.label, combination: c, settings: base }))
      : mg.figure4Points().map((p) => ({
          file: join(dir, `${p.panel}-${p.method.update}-${p.method.scheme}-${p.x}.safetensors`),
          label: `4${p.panel} ${p.method.label} ${p.panel === 'c' ? `log2 step ${p.x}` : p.panel === 'a' ? `${p.x} batches` : `batch ${p.x}`}`,
          combination: { label: p.method.label, coefficients: mg.figure4Coefficients(p.method.update, p.innerSteps) },
          settings: { ...base, innerBatch: p.innerBatch, outerLr: p.outerLr, scheme: p.method.scheme },
        }));
  const existing = jobs.flatMap((j) => [j.file, finishedFile(j.file)]).filter((f) => existsSync(f));
  if (existing.length > 0 && !values.resume) throw new Error(`${existing[0]} already exists: continue with --resume, or choose another --out-dir`);
  mkdirSync(dir, { recursive: true });
  const unlock = lockFile(join(dir, `figure${figure}`));

  console.error(`metagrad reproduce-reptile: Figure ${figure}, ${jobs.length} runs of ${iterations} iterations, seed ${seed}, kernels: ${mg.backendInfo().variant}`);
  const { train, test } = mg.splitCharacters(loadOmniglot(values.data!, { cache: values.cache }), new mg.Rng(seed));
  const trainClasses = mg.classesOf(train, true);
  const testClasses = mg.classesOf(test, false);
  const model = mg.conv4({ classes: base.nWay });
  const init = model.init({ rng: new mg.Rng(seed + 1) });

  let stop: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stop !== null) process.exit(128 + os.constants.signals[sig]);
    stop = sig;
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);

  const curves: Pick<mg.CombinationCurve, 'combination' | 'points'>[] = [];
  const seconds: number[] = [];
  try {
    for (const job of jobs) {
      const done = finishedFile(job.file);
      if (existsSync(done)) {
        const run = mg.readFinishedRun(readFileSync(done, 'utf8'), job.combination, job.settings, done);
        curves.push(run);
        seconds.push(run.seconds);
        continue;
      }
      // Every run starts from the same weights, and draws the same tasks.
      const curve = new mg.CombinationCurve(model, init, trainClasses, job.combination, job.settings, seed + 2);
      let spent = 0;
      if (existsSync(job.file)) {
        const saved = loadSafetensors(job.file);
        try {
          curve.setState(saved);
        } catch (e) {
          throw new Error(`${job.file}: ${e instanceof Error ? e.message : String(e)}`);
        }
        spent = Number(saved.metadata.seconds ?? 0);
      }
      let t0 = performance.now();
      const save = (): void => {
        spent += (performance.now() - t0) / 1000;
        t0 = performance.now();
        const state = curve.getState();
        saveSafetensors(job.file, state.tensors, { ...state.metadata, seconds: String(spent) });
      };
      const bar = new ProgressBar(iterations, job.label, curve.iteration);
      const record = (): void => {
        const r = curve.record(testClasses, evalEpisodes, new mg.Rng(seed + 12345 + curve.iteration));
        bar.update(curve.iteration, `acc ${(100 * r.mean).toFixed(1)}%`);
      };
      if (curve.points.length === 0 && figure === '3') record();
      const ended = await mg.trainLoop({
        iterations,
        iteration: () => curve.iteration,
        step: () => curve.step(),
        evaluateEvery: evalEvery,
        evaluate: record,
        checkpointEvery: Math.min(evalEvery, 1000),
        checkpoint: save,
        shouldStop: () => stop !== null,
      });
      if (ended === 'stopped') {
        console.error(`\n${stop}: stopped at iteration ${curve.iteration} of ${job.label}; checkpoints in ${dir}, continue with --resume`);
        process.exitCode = 128 + os.constants.signals[stop!];
        return;
      }
      if (curve.points.length === 0 || curve.points[curve.points.length - 1]!.iteration < curve.iteration) {
        record();
        save();
      }
      // A finished run keeps its curve and time only: written first, then its checkpoint goes.
      writeFileAtomicSync(done, mg.finishedRunJson(curve, spent));
      rmSync(job.file);
      curves.push(curve);
      seconds.push(spent);
    }
  } finally {
    unlock();
  }
  if (figure === '3') writeFigure3(dir, curves, seconds, base, seed, evalEvery, evalEpisodes);
  else writeFigure4(dir, curves, seconds, base, seed, evalEpisodes);
}

const header = (what: string): string => `Written by \`npm run reproduce:reptile${what}\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, kernels: ${mg.backendInfo().variant}).`;

function writeFigure3(dir: string, curves: readonly Pick<mg.CombinationCurve, 'combination' | 'points'>[], seconds: number[], s: mg.CurveSettings, seed: number, evalEvery: number, evalEpisodes: number): void {
  const series = curves.map((c, i) => ({ label: c.combination.label, x: c.points.map((p) => p.iteration), y: c.points.map((p) => p.accuracy), color: COLORS[i % COLORS.length]! }));
  writeFileAtomicSync(join(dir, 'figure3.svg'), plotSvg(series, { title: 'Inner-gradient combinations, Omniglot 5-way 5-shot (test accuracy against iteration)', width: 800, height: 480 }));
  const rows = curves.map((c, i) => `| ${c.combination.label} | ${c.combination.coefficients.map((x) => x.toFixed(3)).join(', ')} | ${(100 * c.points[c.points.length - 1]!.accuracy).toFixed(1)}% | ${(seconds[i]! / 60).toFixed(1)} min |`);
  const report = [
    '# Reptile paper, Figure 3: inner-gradient combinations',
    '',
    header(''),
    '',
    `Omniglot 5-way, seed ${seed} (standard 1,200 / 423 split, rotations as training classes). Each iteration: one task of ${s.nWay} classes × ${s.trainShots} images, shuffled; ${'k'} inner SGD steps (k = the number of coefficients) of step size ${s.innerLr} on disjoint mini-batches of ${s.innerBatch}; the outer update Σ cᵢgᵢ by plain SGD of step size ${s.outerLr}; no meta-batch. Test points every ${evalEvery} iterations: ${evalEpisodes} new ${s.evalShots}-shot episodes of test characters, ${s.evalSteps} SGD steps of step size ${s.innerLr} on the support set, transductive. Every curve starts from the same weights and draws the same tasks.`,
    '',
    '![Figure 3](figure3.svg)',
    '',
    `| combination | coefficients | test accuracy at ${s.iterations} | training time |`,
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
  writeFileAtomicSync(join(dir, 'figure3.md'), report);
  console.error(`\nwrote ${join(dir, 'figure3.svg')} and ${join(dir, 'figure3.md')}`);
}

function writeFigure4(dir: string, curves: readonly Pick<mg.CombinationCurve, 'combination' | 'points'>[], seconds: number[], s: mg.CurveSettings, seed: number, evalEpisodes: number): void {
  const points = mg.figure4Points();
  const final = (i: number): number => curves[i]!.points[curves[i]!.points.length - 1]!.accuracy;
  const panels = [
    { panel: 'a', axis: 'inner iterations', title: 'Final test accuracy against the number of inner iterations (batches of 25)' },
    { panel: 'b', axis: 'inner batch size', title: 'Final test accuracy against the inner batch size (4 iterations)' },
    { panel: 'c', axis: 'log2 outer step', title: 'Shared-tail FOMAML, full batches: final test accuracy against the outer step' },
  ] as const;
  const tables: string[] = [];
  for (const { panel, axis, title } of panels) {
    const idx = points.map((p, i) => [p, i] as const).filter(([p]) => p.panel === panel);
    const methods = [...new Set(idx.map(([p]) => p.method.label))];
    const series = methods.map((m, j) => {
      const mine = idx.filter(([p]) => p.method.label === m);
      return { label: m, x: mine.map(([p]) => p.x), y: mine.map(([, i]) => final(i)), color: COLORS[j % COLORS.length]! };
    });
    writeFileAtomicSync(join(dir, `figure4${panel}.svg`), plotSvg(series, { title, width: 640, height: 400 }));
    const xs = [...new Set(idx.map(([p]) => p.x))];
    tables.push(`### 4${panel}: ${axis}`, '', `![Figure 4${panel}](figure4${panel}.svg)`, '', `| ${axis} | ${methods.join(' | ')} |`, `| --- |${methods.map(() => ' --- |').join('')}`);
    for (const x of xs) tables.push(`| ${x} | ${methods.map((m) => { const hit = idx.find(([p]) => p.x === x && p.method.label === m); return hit === undefined ? '—' : `${(100 * final(hit[1])).toFixed(1)}%`; }).join(' | ')} |`);
    tables.push('');
  }
  const total = seconds.reduce((a, b) => a + b, 0);
  const report = [
    '# Reptile paper, Figure 4: overlap between inner-loop mini-batches',
    '',
    header(' -- --figure 4'),
    '',
    `Omniglot 5-way, seed ${seed}, Figure 3's tasks (${s.nWay} classes × ${s.trainShots} images, inner SGD step ${s.innerLr}, plain SGD outside, no meta-batch), ${s.iterations} iterations a run; final accuracy on ${evalEpisodes} new ${s.evalShots}-shot episodes of test characters, ${s.evalSteps} SGD steps, transductive. Reptile's update is the sum of the inner gradients, FOMAML's the last one; a separate tail is ⌈batch/5⌉ images of each class kept out of the other batches. Every run starts from the same weights. ${(total / 3600).toFixed(1)} h of training in all.`,
    '',
    ...tables,
  ].join('\n');
  writeFileAtomicSync(join(dir, 'figure4.md'), report);
  console.error(`\nwrote ${join(dir, 'figure4a.svg')}, b, c and ${join(dir, 'figure4.md')}`);
}

main().catch((e: unknown) => {
  console.error(`metagrad reproduce-reptile: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
