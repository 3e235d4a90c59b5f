#!/usr/bin/env node
/**
 * The Reptile paper's Figure 3 (inner-gradient combinations on Omniglot 5-way 5-shot): one
 * learning curve per combination, each resumable from its checkpoint in --out-dir, then the
 * figure (SVG) and a markdown report with the settings, the final accuracies and the run times.
 *
 *   npm run reproduce:reptile -- [--iterations N] [--eval-every N] [--eval-episodes N]
 *        [--out-dir DIR] [--resume] [--data DIR] [--cache FILE] [--seed N]
 */
import { existsSync, mkdirSync } from 'node:fs';
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
and outside, no meta-batch. Each curve resumes from its checkpoint in --out-dir.

  --iterations N      meta-iterations per curve (default 40000, the paper's)
  --eval-every N      iterations between test points (default 1000)
  --eval-episodes N   test episodes per point (default 100)
  --out-dir DIR       checkpoints, figure3.svg and figure3.md (default results/reptile-fig3)
  --resume            continue the curves whose checkpoints are in --out-dir
  --data DIR          the Omniglot archives (default ../shared/data/omniglot)
  --cache FILE        a decoded-images cache (default: none)
  --seed N            the seed of the split, the initial weights and every draw (default 0)
  -h, --help          this text

Ctrl-C (or SIGTERM) stops after the iteration in progress and writes the curve's checkpoint.`;

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** A file name for a combination's label: g1+g2 → g1-plus-g2, ½(g1+g2) → half-g1-plus-g2. */
function slug(label: string): string {
  return label.replace('½', 'half-').replace('⅓', 'third-').replace('¼', 'quarter-').replace(/[()]/g, '').replace(/\+/g, '-plus-');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string' },
      'eval-every': { type: 'string' },
      'eval-episodes': { type: 'string' },
      'out-dir': { type: 'string', default: 'results/reptile-fig3' },
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
  const settings: mg.CurveSettings = { ...mg.FIGURE3_SETTINGS, iterations: intOption('iterations', values.iterations, mg.FIGURE3_SETTINGS.iterations) };
  const evalEvery = intOption('eval-every', values['eval-every'], 1000);
  const evalEpisodes = intOption('eval-episodes', values['eval-episodes'], 100);
  const seed = intOption('seed', values.seed, 0, 0);
  const dir = values['out-dir']!;
  const files = mg.FIGURE3_COMBINATIONS.map((c) => join(dir, `${slug(c.label)}.safetensors`));
  const existing = files.filter((f) => existsSync(f));
  if (existing.length > 0 && !values.resume) throw new Error(`${existing[0]} already exists: continue with --resume, or choose another --out-dir`);
  mkdirSync(dir, { recursive: true });
  const unlock = lockFile(join(dir, 'figure3'));

  console.error(`metagrad reproduce-reptile: Figure 3, ${settings.iterations} iterations per curve, seed ${seed}, kernels: ${mg.backendInfo().variant}`);
  const { train, test } = mg.splitCharacters(loadOmniglot(values.data!, { cache: values.cache }), new mg.Rng(seed));
  const trainClasses = mg.classesOf(train, true);
  const testClasses = mg.classesOf(test, false);
  const model = mg.conv4({ classes: settings.nWay });
  const init = model.init({ rng: new mg.Rng(seed + 1) });

  let stop: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stop !== null) process.exit(128 + os.constants.signals[sig]);
    stop = sig;
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);

  const curves: mg.CombinationCurve[] = [];
  const seconds: number[] = [];
  try {
    for (const [i, combination] of mg.FIGURE3_COMBINATIONS.entries()) {
      // Every curve starts from the same weights, and draws the same tasks.
      const curve = new mg.CombinationCurve(model, init, trainClasses, combination, settings, seed + 2);
      const file = files[i]!;
      let spent = 0;
      if (existsSync(file)) {
        const saved = loadSafetensors(file);
        try {
          curve.setState(saved);
        } catch (e) {
          throw new Error(`${file}: ${e instanceof Error ? e.message : String(e)}`);
        }
        spent = Number(saved.metadata.seconds ?? 0);
      }
      let t0 = performance.now();
      const save = (): void => {
        spent += (performance.now() - t0) / 1000;
        t0 = performance.now();
        const state = curve.getState();
        saveSafetensors(file, state.tensors, { ...state.metadata, seconds: String(spent) });
      };
      const bar = new ProgressBar(settings.iterations, combination.label, curve.iteration);
      const record = (): void => {
        const r = curve.record(testClasses, evalEpisodes, new mg.Rng(seed + 12345 + curve.iteration));
        bar.update(curve.iteration, `acc ${(100 * r.mean).toFixed(1)}%`);
      };
      if (curve.points.length === 0) record();
      const ended = await mg.trainLoop({
        iterations: settings.iterations,
        iteration: () => curve.iteration,
        step: () => curve.step(),
        evaluateEvery: evalEvery,
        evaluate: record,
        checkpointEvery: evalEvery,
        checkpoint: save,
        shouldStop: () => stop !== null,
      });
      if (ended === 'stopped') {
        console.error(`\n${stop}: stopped at iteration ${curve.iteration} of ${combination.label}; checkpoints in ${dir}, continue with --resume`);
        process.exitCode = 128 + os.constants.signals[stop!];
        return;
      }
      if (curve.points[curve.points.length - 1]!.iteration < curve.iteration) {
        record();
        save();
      }
      curves.push(curve);
      seconds.push(spent);
    }
  } finally {
    unlock();
  }

  const series = curves.map((c, i) => ({ label: c.combination.label, x: c.points.map((p) => p.iteration), y: c.points.map((p) => p.accuracy), color: COLORS[i % COLORS.length]! }));
  writeFileAtomicSync(join(dir, 'figure3.svg'), plotSvg(series, { title: 'Inner-gradient combinations, Omniglot 5-way 5-shot (test accuracy against iteration)', width: 800, height: 480 }));
  const rows = curves.map((c, i) => `| ${c.combination.label} | ${c.combination.coefficients.map((x) => x.toFixed(3)).join(', ')} | ${(100 * c.points[c.points.length - 1]!.accuracy).toFixed(1)}% | ${(seconds[i]! / 60).toFixed(1)} min |`);
  const s = settings;
  const report = [
    '# Reptile paper, Figure 3: inner-gradient combinations',
    '',
    `Written by \`npm run reproduce:reptile\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, kernels: ${mg.backendInfo().variant}).`,
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

main().catch((e: unknown) => {
  console.error(`metagrad reproduce-reptile: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
