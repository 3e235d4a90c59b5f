#!/usr/bin/env node
/**
 * Few-shot Omniglot training with the papers' presets:
 *
 *   npm run omniglot -- --preset reptile-5way-1shot [--iterations N] [--data DIR] [--seed N]
 *        [--eval-every N] [--eval-episodes N] [--checkpoint FILE.safetensors]
 *        [--checkpoint-every N] [--resume | --overwrite] [--cache FILE] [--workers N]
 *        [--split standard | mamlpp] [--running-stats]
 *   npm run omniglot -- --evaluate --checkpoint FILE.safetensors [--eval-episodes N]
 *
 * Checkpoints (safetensors, written atomically) hold the whole training state; --resume continues
 * a stopped run and gives the same result as an uninterrupted run with the same seed. A new run
 * refuses a --checkpoint file that already exists unless --overwrite is given (a forgotten
 * --resume must not replace hours of training with iteration 0), and it writes its first
 * checkpoint before training, so a path that cannot be written fails at once. With
 * --checkpoint, Ctrl-C (SIGINT) or SIGTERM stops the run after the iteration in progress and
 * writes the checkpoint first, so an interrupted run loses nothing (exit code 128 + signal number:
 * 130 for SIGINT, 143 for SIGTERM); a second signal stops at once. A training run holds
 * `FILE.safetensors.lock` while it runs, so a second run into the same checkpoint is refused.
 * --workers N (MAML, FOMAML and MAML++) spreads each meta-batch over N worker threads besides the main
 * one; the weights are bit-identical to a single-threaded run, so a run may resume with any N.
 * --evaluate trains nothing: it restores a checkpoint (its configuration and seed come from the
 * file) and reports test accuracy in both batch-norm modes (and, for a MAML++ run with
 * --running-stats, with its per-step running statistics too).
 */
import { parseArgs } from 'node:util';
import * as mg from '../index.js';
import { saveSafetensors } from '../io/node.js';
import { openCheckpoint, restoreRun, RUN_OPTIONS, trainWithCheckpoints } from './run.js';
import { TaskWorkers } from '../train/task-workers-node.js';
import { loadOmniglot } from '../tasks/omniglot-node.js';
import { isRecord } from '../checks.js';
import { intOption } from './args.js';
import { ProgressBar } from './progress.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string' },
      iterations: { type: 'string' },
      data: { type: 'string', default: '../shared/data/omniglot' },
      seed: { type: 'string' },
      ...RUN_OPTIONS,
      calibration: { type: 'boolean', default: false },
      cache: { type: 'string' },
      workers: { type: 'string' },
      split: { type: 'string' },
      'running-stats': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(`usage: metagrad omniglot [flags]   (in the repository: npm run omniglot -- [flags])

Few-shot Omniglot training with the papers' presets, checkpoints and exact resume, or the
evaluation of a checkpoint.

  --preset NAME            ${Object.keys(mg.PRESETS).join(', ')} (default reptile-5way-1shot)
  --iterations N           meta-iterations (default: the preset's)
  --seed N                 the seed of the split and every draw (default 0; a checkpoint's own wins)
  --split standard|mamlpp  1,200 / 423 characters, or 1,150 / 50 / 423 (default: the preset's)
  --data DIR               the folder of images_background.zip and images_evaluation.zip
                           (default ../shared/data/omniglot)
  --cache FILE             a decoded-images cache, rebuilt when damaged (default: none)
  --eval-every N           test (or validation) accuracy every N iterations; 0: never (default 1000)
  --eval-episodes N        episodes per evaluation (default 200)
  --checkpoint FILE        the run's checkpoint, written atomically (default: none)
  --checkpoint-every N     iterations between checkpoints (default: --eval-every, or 1000)
  --resume                 continue the run in --checkpoint
  --overwrite              start a new run over an existing --checkpoint
  --running-stats          MAML++: keep per-step batch-norm running statistics (BNRS) and
                           report accuracy with them too (default: off; a checkpoint keeps its own)
  --workers N              worker threads besides the main one, MAML, FOMAML and MAML++ (default 0)
  --evaluate               train nothing: report the accuracy of --checkpoint in both
                           batch-norm modes (--eval-episodes, default 200)
  --calibration            with --evaluate: also the ECE, MCE and reliability table
  -h, --help               this text

Ctrl-C (or SIGTERM) stops after the iteration in progress and writes the checkpoint first.`);
    return;
  }
  const checkpoint = values.checkpoint;
  if (values.calibration && !values.evaluate) throw new Error('--calibration reports on a checkpoint: give it with --evaluate');
  const saved = openCheckpoint({ checkpoint, resume: values.resume!, overwrite: values.overwrite!, evaluate: values.evaluate! });
  const savedRun = saved === undefined ? undefined : runInfo(saved.metadata, checkpoint!);
  // A checkpoint names its preset; a different --preset is refused rather than mixed in.
  if (savedRun?.preset !== undefined && values.preset !== undefined && values.preset !== savedRun.preset) {
    throw new Error(`--preset ${values.preset} differs from the preset ${savedRun.preset} that ${checkpoint} was trained with`);
  }
  const presetName = values.preset ?? savedRun?.preset ?? 'reptile-5way-1shot';
  let config: mg.FewShotConfig;
  if (values.evaluate) {
    // The file says what it is: its configuration, so no flag can mismatch it.
    config = savedRun!.config;
  } else {
    // Own keys only: 'toString' or '__proto__' must not find what every object inherits.
    const preset = Object.hasOwn(mg.PRESETS, presetName) ? mg.PRESETS[presetName] : undefined;
    if (preset === undefined) throw new RangeError(`--preset must be one of ${Object.keys(mg.PRESETS).join(', ')}, got '${presetName}'`);
    const split = values.split ?? savedRun?.config.split ?? preset.split;
    if (split !== undefined && split !== 'standard' && split !== 'mamlpp') throw new RangeError(`--split must be 'standard' (1,200 / 423 characters) or 'mamlpp' (1,150 / 50 / 423), got '${split}'`);
    const runningStats = values['running-stats'] ?? savedRun?.config.runningStats;
    if (runningStats === true && preset.method !== 'mamlpp') throw new Error(`--running-stats applies to MAML++; ${presetName} is ${preset.method}`);
    config = {
      ...preset,
      iterations: intOption('iterations', values.iterations, savedRun?.config.iterations ?? preset.iterations),
      ...(split === undefined ? {} : { split }),
      ...(runningStats === true ? { runningStats } : {}),
    };
  }
  // The seed also fixes the train/test character split, so a checkpoint's own seed wins.
  const seed = savedRun?.seed ?? intOption('seed', values.seed, 0, 0);
  if (savedRun?.seed !== undefined && values.seed !== undefined && Number(values.seed) !== savedRun.seed) {
    throw new Error(`--seed ${values.seed} differs from the seed ${savedRun.seed} that ${checkpoint} was trained with`);
  }
  const evalEvery = intOption('eval-every', values['eval-every'], 1000, 0);
  const evalEpisodes = intOption('eval-episodes', values['eval-episodes'], 200);
  const checkpointEvery = intOption('checkpoint-every', values['checkpoint-every'], evalEvery > 0 ? evalEvery : 1000);
  const workers = intOption('workers', values.workers, 0, 0);
  if (workers > 0 && config.method === 'reptile') {
    throw new Error(`--workers applies to MAML, FOMAML and MAML++; ${presetName} is Reptile, whose tasks share one inner Adam state and so run in order`);
  }

  console.error(`metagrad omniglot: ${presetName}, ${config.iterations} iterations, seed ${seed}, kernels: ${mg.backendInfo().variant}${workers > 0 && !values.evaluate ? `, ${workers} worker thread${workers > 1 ? 's' : ''}` : ''}`);
  const chars = loadOmniglot(values.data!, { cache: values.cache, onProgress: (d, t) => d % 4000 === 0 && console.error(`  decoded ${d}/${t} images`) });
  const counts = mg.CLASS_SPLITS[config.split ?? 'standard'];
  const { train, validation, test } = mg.splitCharacters(chars, new mg.Rng(seed), counts.train, counts.validation);
  const trainClasses = mg.classesOf(train, true);
  const testClasses = mg.classesOf(test, false);
  // The periodic evaluations watch the validation characters when the split has them.
  const [watched, watchedName] = validation.length > 0 ? [mg.classesOf(validation, false), 'validation'] : [testClasses, 'test'];
  const model = mg.fewShotModel(config);
  const trainer = new mg.FewShotTrainer(model, trainClasses, config, seed);
  if (saved !== undefined) restoreRun(trainer, saved, checkpoint!, values.evaluate!);
  const finalReport = (): void => {
    const modes = config.runningStats === true ? ([true, false, 'running-stats'] as const) : ([true, false] as const);
    for (const mode of modes) {
      const name = mode === true ? 'transductive' : mode === false ? 'non-transductive' : 'per-step running statistics';
      const bar = new ProgressBar(evalEpisodes, `test episodes, ${name}`);
      const r = trainer.evaluate(testClasses, evalEpisodes, mode, new mg.Rng(seed + 54321), (done) => bar.update(done, ''));
      console.log(`${presetName} after ${trainer.iteration} iterations, ${name}: ${(100 * r.mean).toFixed(2)}% ± ${(100 * r.ci95).toFixed(2)} (${r.n} episodes)`);
    }
  };
  if (values.evaluate) {
    finalReport();
    if (values.calibration) {
      const c = trainer.calibration(testClasses, evalEpisodes, new mg.Rng(seed + 54321));
      console.log(`${presetName} calibration (transductive, ${evalEpisodes} episodes, 10 bins): accuracy ${(100 * c.accuracy).toFixed(2)}%, ECE ${(100 * c.ece).toFixed(2)}%, MCE ${(100 * c.mce).toFixed(2)}%`);
      console.log('confidence bin    queries  mean confidence  accuracy');
      for (const b of c.bins) if (b.count > 0) console.log(`[${b.from.toFixed(1)}, ${b.to.toFixed(1)})    ${String(b.count).padStart(7)}  ${b.confidence.toFixed(3).padStart(15)}  ${b.accuracy.toFixed(3).padStart(8)}`);
    }
    return;
  }
  const save = (): void => {
    const state = trainer.getState();
    saveSafetensors(checkpoint!, state.tensors, { ...state.metadata, run: JSON.stringify({ preset: presetName, seed }) });
  };
  const bar = new ProgressBar(config.iterations, presetName, trainer.iteration);
  let acc = NaN;
  const report = (): void => {
    const rng = new mg.Rng(seed + 12345);
    const r = trainer.evaluate(watched, evalEpisodes, true, rng);
    acc = r.mean;
    console.error(`\n${new Date().toISOString()} iteration ${trainer.iteration}: ${watchedName} accuracy (transductive, ${r.n} episodes) ${(100 * r.mean).toFixed(2)}% ± ${(100 * r.ci95).toFixed(2)}`);
  };
  let pool: TaskWorkers | undefined;
  const finished = await trainWithCheckpoints({
    checkpoint,
    iterations: config.iterations,
    iteration: () => trainer.iteration,
    step: () => (pool === undefined ? trainer.step() : trainer.stepAsync(pool)),
    evaluateEvery: evalEvery,
    evaluate: report,
    checkpointEvery,
    save,
    onProgress: (it, avg) => bar.update(it, `loss ${avg.toFixed(3)}${Number.isNaN(acc) ? '' : ` acc ${(100 * acc).toFixed(1)}%`}`),
    open: async () => (pool = workers > 0 ? await TaskWorkers.start({ workers, model: { module: new URL('../index.js', import.meta.url).href, export: 'fewShotModel', options: config } }) : undefined),
  });
  if (finished) finalReport();
}

/** What a checkpoint says about the run that wrote it: its configuration, and (from this CLI) preset and seed. */
function runInfo(metadata: Record<string, string>, file: string): { config: mg.FewShotConfig; preset?: string; seed?: number } {
  const raw = metadata.metagrad;
  if (raw === undefined) throw new Error(`${file} is not a metagrad checkpoint (no 'metagrad' metadata)`);
  const parse = (key: string, text: string): Record<string, unknown> => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new Error(`${file}: its '${key}' metadata is not valid JSON (damaged checkpoint?)`);
    }
    if (!isRecord(v)) throw new Error(`${file}: its '${key}' metadata is not a JSON object (damaged checkpoint?)`);
    return v;
  };
  const { config } = parse('metagrad', raw) as { config?: mg.FewShotConfig };
  if (typeof config !== 'object' || config === null) throw new Error(`${file}: its 'metagrad' metadata holds no configuration (damaged checkpoint?)`);
  const run = metadata.run === undefined ? {} : (parse('run', metadata.run) as { preset?: string; seed?: number });
  return { config, preset: run.preset, seed: run.seed };
}

main().catch((e: unknown) => {
  console.error(`metagrad omniglot: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
