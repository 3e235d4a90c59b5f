#!/usr/bin/env node
/**
 * LEO on Omniglot embeddings:
 *
 *   npm run leo -- --preset leo-5way-1shot [--ablation no-relation-net|weight-space|no-finetuning]
 *        [--iterations N] [--seed N] [--data DIR] [--cache FILE] [--embeddings FILE]
 *        [--eval-every N] [--eval-episodes N] [--checkpoint FILE] [--checkpoint-every N]
 *        [--resume | --overwrite]
 *   npm run leo -- --evaluate --checkpoint FILE [--eval-episodes N]
 *
 * The embeddings (a Conv4 trained on the training characters' classes, then every image's
 * feature vector) are computed once per seed and kept in --embeddings. Checkpoints, --resume,
 * the lock and Ctrl-C behave as in the omniglot CLI.
 */
import { parseArgs } from 'node:util';
import * as mg from '../index.js';
import { saveSafetensors } from '../io/node.js';
import { loadOmniglot } from '../tasks/omniglot-node.js';
import { omniglotEmbeddings } from '../experiments/embeddings-node.js';
import { isRecord } from '../checks.js';
import { intOption } from './args.js';
import { ProgressBar } from './progress.js';
import { openCheckpoint, restoreRun, RUN_OPTIONS, trainWithCheckpoints } from './run.js';

const ABLATIONS: Record<string, mg.LeoConfig['leo']> = {
  'no-relation-net': { relationNet: false },
  'weight-space': { space: 'weights' },
  'no-finetuning': { finetuneSteps: 0 },
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string' },
      ablation: { type: 'string' },
      iterations: { type: 'string' },
      seed: { type: 'string' },
      data: { type: 'string', default: '../shared/data/omniglot' },
      cache: { type: 'string' },
      embeddings: { type: 'string', default: 'runs/omniglot-embeddings.safetensors' },
      ...RUN_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(`usage: metagrad leo [flags]   (in the repository: npm run leo -- [flags])

LEO (latent embedding optimisation) on Omniglot embeddings, with checkpoints and exact resume,
or the evaluation of a checkpoint.

  --preset NAME            ${Object.keys(mg.LEO_PRESETS).join(', ')} (default leo-5way-1shot)
  --ablation NAME          ${Object.keys(ABLATIONS).join(', ')} (default: none)
  --iterations N           meta-iterations (default: the preset's)
  --seed N                 the seed of the split, the embeddings and every draw (default 0)
  --data DIR               the folder of the Omniglot zips (default ../shared/data/omniglot)
  --cache FILE             a decoded-images cache (default: none)
  --embeddings FILE        the embeddings cache, made on first use
                           (default runs/omniglot-embeddings.safetensors)
  --eval-every N           test accuracy every N iterations; 0: never (default 1000)
  --eval-episodes N        episodes per evaluation (default 600)
  --checkpoint FILE        the run's checkpoint, written atomically (default: none)
  --checkpoint-every N     iterations between checkpoints (default: --eval-every, or 1000)
  --resume                 continue the run in --checkpoint
  --overwrite              start a new run over an existing --checkpoint
  --evaluate               train nothing: report the test accuracy of --checkpoint
  -h, --help               this text`);
    return;
  }
  const checkpoint = values.checkpoint;
  const saved = openCheckpoint({ checkpoint, resume: values.resume!, overwrite: values.overwrite!, evaluate: values.evaluate! });
  const savedRun = saved === undefined ? undefined : runInfo(saved.metadata, checkpoint!);
  for (const [flag, given, there] of [['preset', values.preset, savedRun?.preset], ['ablation', values.ablation, savedRun?.ablation]] as const) {
    if (savedRun !== undefined && given !== undefined && given !== there) throw new Error(`--${flag} ${given} differs from the ${flag} ${there ?? 'none'} that ${checkpoint} was trained with`);
  }
  const presetName = values.preset ?? savedRun?.preset ?? 'leo-5way-1shot';
  const preset = Object.hasOwn(mg.LEO_PRESETS, presetName) ? mg.LEO_PRESETS[presetName] : undefined;
  if (preset === undefined) throw new RangeError(`--preset must be one of ${Object.keys(mg.LEO_PRESETS).join(', ')}, got '${presetName}'`);
  const ablation = values.ablation ?? savedRun?.ablation;
  if (ablation !== undefined && !Object.hasOwn(ABLATIONS, ablation)) throw new RangeError(`--ablation must be one of ${Object.keys(ABLATIONS).join(', ')}, got '${ablation}'`);
  const config: mg.LeoConfig = values.evaluate
    ? savedRun!.config
    : { ...preset, iterations: intOption('iterations', values.iterations, savedRun?.config.iterations ?? preset.iterations), leo: { ...preset.leo, ...(ablation === undefined ? {} : ABLATIONS[ablation]) } };
  const seed = savedRun?.seed ?? intOption('seed', values.seed, 0, 0);
  if (savedRun?.seed !== undefined && values.seed !== undefined && Number(values.seed) !== savedRun.seed) throw new Error(`--seed ${values.seed} differs from the seed ${savedRun.seed} that ${checkpoint} was trained with`);
  const evalEvery = intOption('eval-every', values['eval-every'], 1000, 0);
  const evalEpisodes = intOption('eval-episodes', values['eval-episodes'], 600);
  const checkpointEvery = intOption('checkpoint-every', values['checkpoint-every'], evalEvery > 0 ? evalEvery : 1000);
  const name = `${presetName}${ablation === undefined ? '' : ` (${ablation})`}`;

  console.error(`metagrad leo: ${name}, ${config.iterations} iterations, seed ${seed}, kernels: ${mg.backendInfo().variant}`);
  const chars = loadOmniglot(values.data!, { cache: values.cache });
  const split = mg.splitCharacters(chars, new mg.Rng(seed), mg.CLASS_SPLITS.standard.train, 0);
  let bar: ProgressBar | null = null;
  const embeddings = omniglotEmbeddings(split, {
    seed,
    cache: values.embeddings,
    onProgress: (phase, done, total, loss) => {
      if (bar === null || done === 1) bar = new ProgressBar(total, phase === 'train' ? 'embedding network' : 'embedding images');
      bar.update(done, loss === undefined ? '' : `loss ${loss.toFixed(3)}`);
    },
  });
  const trainer = new mg.LeoTrainer(embeddings.train, config, seed);
  if (saved !== undefined) restoreRun(trainer, saved, checkpoint!, values.evaluate!);
  const finalReport = (): void => {
    const progress = new ProgressBar(evalEpisodes, 'test episodes');
    const r = trainer.evaluate(embeddings.test, evalEpisodes, new mg.Rng(seed + 54321), (done) => progress.update(done, ''));
    console.log(`${name} after ${trainer.iteration} iterations: ${(100 * r.mean).toFixed(2)}% ± ${(100 * r.ci95).toFixed(2)} (${r.n} episodes)`);
  };
  if (values.evaluate) return finalReport();

  const save = (): void => {
    const state = trainer.getState();
    saveSafetensors(checkpoint!, state.tensors, { ...state.metadata, run: JSON.stringify({ preset: presetName, seed, ...(ablation === undefined ? {} : { ablation }) }) });
  };
  const progress = new ProgressBar(config.iterations, name, trainer.iteration);
  let acc = NaN;
  const report = (): void => {
    const r = trainer.evaluate(embeddings.test, evalEpisodes, new mg.Rng(seed + 12345));
    acc = r.mean;
    console.error(`\n${new Date().toISOString()} iteration ${trainer.iteration}: test accuracy (${r.n} episodes) ${(100 * r.mean).toFixed(2)}% ± ${(100 * r.ci95).toFixed(2)}`);
  };
  const started = Date.now();
  const from = trainer.iteration;
  const finished = await trainWithCheckpoints({
    checkpoint,
    iterations: config.iterations,
    iteration: () => trainer.iteration,
    step: () => trainer.step(),
    evaluateEvery: evalEvery,
    evaluate: report,
    checkpointEvery,
    save,
    onProgress: (it, avg) => progress.update(it, `loss ${avg.toFixed(3)}${Number.isNaN(acc) ? '' : ` acc ${(100 * acc).toFixed(1)}%`}`),
  });
  if (trainer.iteration > from) console.error(`\n${((Date.now() - started) / (trainer.iteration - from)).toFixed(1)} ms per meta-iteration`);
  if (finished) finalReport();
}

/** What a checkpoint says about the run that wrote it. */
function runInfo(metadata: Record<string, string>, file: string): { config: mg.LeoConfig; preset?: string; seed?: number; ablation?: string } {
  const parse = (key: string): Record<string, unknown> => {
    let v: unknown;
    try {
      v = JSON.parse(metadata[key] ?? 'null');
    } catch {
      throw new Error(`${file}: its '${key}' metadata is not valid JSON (damaged checkpoint?)`);
    }
    if (!isRecord(v)) throw new Error(`${file}: ${metadata[key] === undefined ? `no '${key}' metadata (not a checkpoint of this CLI)` : `its '${key}' metadata is not a JSON object (damaged checkpoint?)`}`);
    return v;
  };
  const { config } = parse('metagrad') as { config?: mg.LeoConfig };
  if (!isRecord(config)) throw new Error(`${file}: its 'metagrad' metadata holds no configuration (damaged checkpoint?)`);
  const run = parse('run') as { preset?: string; seed?: number; ablation?: string };
  return { config, preset: run.preset, seed: run.seed, ablation: run.ablation };
}

main().catch((e: unknown) => {
  console.error(`metagrad leo: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
