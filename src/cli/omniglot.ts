#!/usr/bin/env node
/**
 * Few-shot Omniglot training with the papers' presets:
 *
 *   npm run omniglot -- --preset reptile-5way-1shot [--iterations N] [--data DIR] [--seed N]
 *        [--eval-every N] [--eval-episodes N] [--checkpoint FILE.safetensors] [--resume]
 *        [--cache FILE]
 *
 * Checkpoints (safetensors, written atomically) hold the whole training state; --resume continues
 * a stopped run and gives the same result as an uninterrupted run with the same seed.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as mg from '../index.js';
import { loadSafetensors, saveSafetensors } from '../io/node.js';
import { loadOmniglot } from '../tasks/omniglot-node.js';
import { intOption } from './args.js';
import { ProgressBar } from './progress.js';

function main(): void {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string', default: 'reptile-5way-1shot' },
      iterations: { type: 'string' },
      data: { type: 'string', default: '../shared/data/omniglot' },
      seed: { type: 'string' },
      'eval-every': { type: 'string' },
      'eval-episodes': { type: 'string' },
      checkpoint: { type: 'string' },
      resume: { type: 'boolean', default: false },
      cache: { type: 'string' },
    },
  });
  const preset = mg.PRESETS[values.preset!];
  if (preset === undefined) throw new RangeError(`--preset must be one of ${Object.keys(mg.PRESETS).join(', ')}, got '${values.preset}'`);
  const config: mg.FewShotConfig = { ...preset, iterations: intOption('iterations', values.iterations, preset.iterations) };
  const seed = intOption('seed', values.seed, 0, 0);
  const evalEvery = intOption('eval-every', values['eval-every'], 1000, 0);
  const evalEpisodes = intOption('eval-episodes', values['eval-episodes'], 200);
  const checkpoint = values.checkpoint;
  if (values.resume && (checkpoint === undefined || !existsSync(checkpoint))) throw new Error(`--resume needs an existing --checkpoint file, got ${checkpoint ?? 'none'}`);

  console.error(`metagrad omniglot: ${values.preset}, ${config.iterations} iterations, seed ${seed}, kernels: ${mg.backendInfo().variant}`);
  const chars = loadOmniglot(values.data!, { cache: values.cache, onProgress: (d, t) => d % 4000 === 0 && console.error(`  decoded ${d}/${t} images`) });
  const { train, test } = mg.splitCharacters(chars, new mg.Rng(seed));
  const trainClasses = mg.classesOf(train, true);
  const testClasses = mg.classesOf(test, false);
  const model = mg.conv4({ classes: config.nWay });
  const trainer = new mg.FewShotTrainer(model, trainClasses, config, seed);
  if (values.resume) {
    trainer.setState(loadSafetensors(checkpoint!));
    console.error(`resumed from ${checkpoint} at iteration ${trainer.iteration}`);
  }
  const bar = new ProgressBar(config.iterations, values.preset!);
  let avg = NaN;
  let acc = NaN;
  const report = (): void => {
    const rng = new mg.Rng(seed + 12345);
    const r = trainer.evaluate(testClasses, evalEpisodes, true, rng);
    acc = r.mean;
    console.error(`\niteration ${trainer.iteration}: test accuracy (transductive, ${r.n} episodes) ${(100 * r.mean).toFixed(2)}% ± ${(100 * r.ci95).toFixed(2)}`);
  };
  while (trainer.iteration < config.iterations) {
    const loss = trainer.step();
    avg = Number.isNaN(avg) ? loss : 0.95 * avg + 0.05 * loss;
    if (evalEvery > 0 && trainer.iteration % evalEvery === 0) {
      report();
      if (checkpoint !== undefined) saveSafetensors(checkpoint, trainer.getState().tensors, trainer.getState().metadata);
    }
    bar.update(trainer.iteration, `loss ${avg.toFixed(3)}${Number.isNaN(acc) ? '' : ` acc ${(100 * acc).toFixed(1)}%`}`);
  }
  if (checkpoint !== undefined) saveSafetensors(checkpoint, trainer.getState().tensors, trainer.getState().metadata);
  for (const transductive of [true, false]) {
    const r = trainer.evaluate(testClasses, evalEpisodes, transductive, new mg.Rng(seed + 54321));
    console.log(`${values.preset} after ${trainer.iteration} iterations, ${transductive ? 'transductive' : 'non-transductive'}: ${(100 * r.mean).toFixed(2)}% ± ${(100 * r.ci95).toFixed(2)} (${r.n} episodes)`);
  }
}

try {
  main();
} catch (e) {
  console.error(`metagrad omniglot: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
