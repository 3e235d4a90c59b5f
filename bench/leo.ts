/**
 * LEO meta-iteration cost: the `npm run leo` trainer on its presets, fed random embeddings of the
 * real shape (256 features per image; the values do not change the cost). Episode sampling is
 * included; one thread, float32.
 */
import * as mg from '../src/index.js';
import { fmtTime, machineLine, table, time } from './harness.js';

export function run(): string {
  const embeddings = mg.randn([200, 20, 256], { rng: new mg.Rng(1) });
  const names = Object.keys(mg.LEO_PRESETS);
  const trainers = names.map((n) => new mg.LeoTrainer(embeddings, mg.LEO_PRESETS[n]!, 0));
  const timings = time(Object.fromEntries(names.map((n, i) => [n, () => void trainers[i]!.step()])), { minTime: 3, maxTime: 20 });
  return [
    `## LEO meta-iterations (256-feature Omniglot embeddings, float32, kernels: ${mg.backendInfo().variant})`,
    '',
    machineLine(),
    '',
    'The LEO CLI\'s `LeoTrainer` on its presets (meta-batch 12, 15 queries per class, 5 latent and 5 fine-tuning steps, second order), episode sampling included.',
    '',
    table(
      ['preset', 'time per meta-iteration', '20,000 iterations'],
      timings.map((t) => [t.name, fmtTime(t.mean), `${((t.mean * 20_000) / 3600).toFixed(1)} h of one thread`]),
    ),
  ].join('\n');
}
