/**
 * MAML's meta-batch on worker threads (`TaskWorkers`, `npm run omniglot -- --workers N`): the
 * maml-5way-1shot and fomaml-5way-1shot presets on synthetic characters (as in omniglot.ts), one
 * thread against the main thread plus one worker, in alternating rounds so that load from other
 * processes falls on both sides. On a 2-core machine this is the whole machine against half.
 */
import * as mg from '../src/index.js';
import { TaskWorkers } from '../src/node.js';
import { fmtRatio, fmtTime, machineLine, medianRange, table, type Ratio } from './harness.js';
import { syntheticClasses } from './omniglot.js';

/**
 * {@link pairedRatio} for asynchronous calls, counted rather than timed per round: the median
 * seconds per call of `a` and of `b` over `rounds` alternating rounds of `n` calls each, and
 * the ratio a / b per round.
 */
async function pairedRatioAsync(a: () => Promise<unknown>, b: () => Promise<unknown>, rounds: number, n: number): Promise<{ a: number; b: number; ratio: Ratio }> {
  const per = async (f: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await f();
    return (performance.now() - t0) / 1e3 / n;
  };
  // Warm-up: the worker compiles its kernels and its JIT tiers up on its own, and tier-up
  // compilation competes for the same two cores.
  for (let w = 0; w < 2; w++) {
    await per(a);
    await per(b);
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ta.push(await per(a));
    tb.push(await per(b));
  }
  return { a: medianRange(ta).median, b: medianRange(tb).median, ratio: medianRange(ta.map((t, i) => t / tb[i]!)) };
}

export async function run(): Promise<string> {
  const classes = syntheticClasses(40);
  const pool = await TaskWorkers.start({ workers: 1, model: { conv4: { classes: 5 } } });
  const rows: string[][] = [];
  try {
    for (const preset of ['maml-5way-1shot', 'fomaml-5way-1shot']) {
      const one = new mg.FewShotTrainer(mg.conv4({ classes: 5 }), classes, mg.PRESETS[preset]!, 0);
      const two = new mg.FewShotTrainer(mg.conv4({ classes: 5 }), classes, mg.PRESETS[preset]!, 0);
      const r = await pairedRatioAsync(async () => one.step(), () => two.stepAsync(pool), 25, 2);
      rows.push([preset, fmtTime(r.a), fmtTime(r.b), fmtRatio(r.ratio)]);
    }
  } finally {
    await pool.close();
  }
  return [
    `## MAML meta-batch on worker threads (Conv4, 28×28, float32, kernels: ${mg.backendInfo().variant})`,
    '',
    machineLine(),
    '',
    'Medians over 25 alternating rounds of 2 meta-iterations, after 2 warm-up rounds (short rounds, because the speed of these shared machines drifts by up to 1.6× within minutes); speed-up = one thread / two, per round (median and range).',
    '',
    table(['preset', '1 thread', 'main + 1 worker', 'speed-up'], rows),
  ].join('\n');
}
