/**
 * Omniglot meta-iteration cost: the training CLI's own `FewShotTrainer` on the papers' presets
 * (see PRESETS in src/experiments/fewshot.ts), fed synthetic 28×28 characters of the real shapes (the
 * pixel values do not change the cost, and no data is needed):
 * - Reptile 5-way 1-shot: 5 inner steps of Adam (β1 = 0) on batches of 10, meta-batch 5;
 * - MAML 5-way 1-shot: meta-batch 32, one inner step α = 0.4 on the 5 support images, outer loss
 *   on 5 query images (one per class), second order and first order;
 * - for the length of the runs not yet made: MAML 5-way 5-shot and Reptile 20-way 1-shot.
 * Conv4, strided variant, 64 filters, float32, single thread. Episode sampling is included.
 */
import * as mg from '../src/index.js';
import { fmtRatio, fmtTime, machineLine, pairedRatio, table, time } from './harness.js';

export function syntheticClasses(count: number): mg.OmniglotClass[] {
  const rng = new mg.Rng(1);
  const chars: mg.Character[] = Array.from({ length: count }, (_, c) => ({
    alphabet: 'synthetic',
    name: `character${c}`,
    images: Array.from({ length: 20 }, () => Float32Array.from({ length: 784 }, () => (rng.uniform() < 0.2 ? 1 : 0))),
  }));
  return mg.classesOf(chars, true);
}

/** `9.5 h` of one thread. */
function hours(seconds: number): string {
  return `${(seconds / 3600).toFixed(1)} h of one thread`;
}

export function run(): string {
  const classes = syntheticClasses(40); // 160 classes with rotations: enough for 20-way
  const trainer = (preset: string) => new mg.FewShotTrainer(mg.conv4({ classes: 5 }), classes, mg.PRESETS[preset]!, 0);
  const reptile = trainer('reptile-5way-1shot');
  const maml = trainer('maml-5way-1shot');
  const fomaml = trainer('fomaml-5way-1shot');
  const maml5 = trainer('maml-5way-5shot');
  const reptile20 = new mg.FewShotTrainer(mg.conv4({ classes: 20 }), classes, mg.PRESETS['reptile-20way-1shot']!, 0);
  const [r, m2, m1, m5, r20] = time(
    {
      'Reptile 5-way 1-shot (reptile-5way-1shot)': () => reptile.step(),
      'MAML 5-way 1-shot, second order (maml-5way-1shot)': () => maml.step(),
      'MAML 5-way 1-shot, first order (fomaml-5way-1shot)': () => fomaml.step(),
      'MAML 5-way 5-shot, second order (maml-5way-5shot)': () => maml5.step(),
      'Reptile 20-way 1-shot (reptile-20way-1shot)': () => reptile20.step(),
    },
    { minTime: 3, maxTime: 20 },
  );
  const ratio = pairedRatio(() => maml.step(), () => fomaml.step(), 7, 1);
  const variant = mg.backendInfo().variant;
  return [
    `## Omniglot meta-iterations (Conv4, 28×28, float32, ${variant === 'relaxed-simd' ? 'relaxed-SIMD build, as `npm run omniglot` runs' : 'plain SIMD build'})`,
    '',
    machineLine(),
    '',
    'The training CLI\'s `FewShotTrainer` on the presets, synthetic characters of the real shapes, episode sampling included.',
    '',
    table(
      ['preset', 'time per meta-iteration', 'target'],
      [
        [r!.name, fmtTime(r!.mean), '≤ 250 ms (PyTorch 1.13: 327 ms on 1 thread)'],
        [m2!.name, fmtTime(m2!.mean), '≤ 1.0 s (PyTorch 1.13: 1.3 s on 1 thread)'],
        [m1!.name, fmtTime(m1!.mean), ''],
        [m5!.name, fmtTime(m5!.mean), `(60,000 iterations: ${hours(m5!.mean * 60_000)})`],
        [r20!.name, fmtTime(r20!.mean), `(200,000 iterations: ${hours(r20!.mean * 200_000)})`],
      ],
    ),
    '',
    `Second / first order, in 7 alternating rounds: ${fmtRatio(ratio)}.`,
  ].join('\n');
}
