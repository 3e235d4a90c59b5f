/**
 * Meta-batches on worker threads (`TaskWorkers`, `npm run omniglot -- --workers N`): one thread
 * against the main thread plus one worker, in alternating rounds so that load from other
 * processes falls on both sides, on synthetic characters of the real shapes (as in omniglot.ts):
 * - the maml-5way-1shot and fomaml-5way-1shot presets (meta-batch 32);
 * - Reptile 5-way 1-shot with SGD inside (the preset's shapes: 5 steps on batches of 10 of 10
 *   shots, meta-batch 5). The preset itself carries one inner Adam state from task to
 *   task, so its tasks run in turn and are not spread;
 * - sine MAML (the MAML paper's MLP, 25 stacked tasks, k = 1 and 5), its batch cut in parts.
 * Below the table, what two threads can give on this machine for kernel-bound work, messages
 * aside. On a 2-core machine this is the whole machine against half.
 */
import * as mg from '../src/index.js';
import { TaskWorkers } from '../src/node.js';
import { fmtRatio, fmtTime, machineLine, medianRange, table, type Ratio } from './harness.js';
import { syntheticClasses } from './omniglot.js';

const ROUNDS = 25;

/** Seconds per call of `f`, over `n` calls. */
async function perCall(f: () => unknown, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f();
  return (performance.now() - t0) / 1e3 / n;
}

/**
 * {@link pairedRatio} for asynchronous calls: the median seconds per call of `a` and of `b` over
 * alternating rounds of `n` calls each, and the ratio a / b per round.
 */
async function pairedRatioAsync(a: () => Promise<unknown>, b: () => Promise<unknown>, n: number): Promise<{ a: number; b: number; ratio: Ratio }> {
  // Warm-up: the worker compiles its kernels and its JIT tiers up on its own, and tier-up
  // compilation competes for the same two cores.
  for (let w = 0; w < 2; w++) {
    await perCall(a, n);
    await perCall(b, n);
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    ta.push(await perCall(a, n));
    tb.push(await perCall(b, n));
  }
  return { a: medianRange(ta).median, b: medianRange(tb).median, ratio: medianRange(ta.map((t, i) => t / tb[i]!)) };
}

/** Multiplies two 64×64 matrices `n` times on the kernels (in cache: compute-bound); returns the milliseconds taken. */
function kernelLoop(n: number): number {
  const a = mg.randn([64, 64]);
  const b = mg.randn([64, 64]);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) mg.tidy(() => mg.matmul(a, b));
  return performance.now() - t0;
}

/**
 * What two threads can give on this machine for work bound by the kernels, messages aside: the
 * same in-cache product loop timed alone and while a worker thread runs it too, × 2.
 */
async function machineCeiling(): Promise<Ratio> {
  const { Worker } = await import('node:worker_threads');
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then((mg) => parentPort.on('message', (n) => {
      const a = mg.randn([64, 64]), b = mg.randn([64, 64]);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) mg.tidy(() => mg.matmul(a, b));
      parentPort.postMessage(performance.now() - t0);
    }));`;
  const worker = new Worker(code, { eval: true, workerData: { url: new URL('../src/index.js', import.meta.url).href } });
  const other = (n: number) => new Promise<number>((resolve) => {
    worker.once('message', resolve);
    worker.postMessage(n);
  });
  try {
    const n = 5000;
    await other(n);
    kernelLoop(n);
    const ratios: number[] = [];
    for (let r = 0; r < 9; r++) {
      const alone = kernelLoop(n);
      const away = other(2 * n); // outlasts this thread's loop
      const together = kernelLoop(n);
      await away;
      ratios.push((2 * alone) / together);
    }
    return medianRange(ratios);
  } finally {
    await worker.terminate();
  }
}

export async function run(): Promise<string> {
  const classes = syntheticClasses(40);
  const rng = new mg.Rng(2);
  const pool = await TaskWorkers.start({ workers: 1, model: { conv4: { classes: 5 } } });
  const rows: string[][] = [];
  const ceiling = await machineCeiling();
  try {
    for (const preset of ['maml-5way-1shot', 'fomaml-5way-1shot']) {
      const one = new mg.FewShotTrainer(mg.conv4({ classes: 5 }), classes, mg.PRESETS[preset]!, 0);
      const two = new mg.FewShotTrainer(mg.conv4({ classes: 5 }), classes, mg.PRESETS[preset]!, 0);
      const r = await pairedRatioAsync(async () => one.step(), () => two.stepAsync(pool), 2);
      rows.push([preset, fmtTime(r.a), fmtTime(r.b), fmtRatio(r.ratio)]);
    }
    const model = mg.conv4({ classes: 5 });
    const learner = () => new mg.MetaLearner(model, model.init({ rng: new mg.Rng(3) }), mg.reptile({ innerLr: 1e-3, innerSteps: 5 }), new mg.Adam());
    const one = learner();
    const two = learner();
    const batch = () => Array.from({ length: 5 }, () => mg.episodeTask(mg.sampleEpisode(classes, 5, 10, 0, rng), { innerBatch: 10, order: rng.sample(50, 50) }));
    const r = await pairedRatioAsync(async () => one.step(batch()), () => two.stepAsync(batch(), pool), 4);
    rows.push(['Reptile 5-way 1-shot, SGD inside', fmtTime(r.a), fmtTime(r.b), fmtRatio(r.ratio)]);
  } finally {
    await pool.close();
  }
  const sizes = [1, 40, 40, 1];
  const sinePool = await TaskWorkers.start({ workers: 1, model: { module: new URL('../src/index.js', import.meta.url).href, export: 'mlp', options: sizes } });
  try {
    for (const innerSteps of [1, 5]) {
      const net = mg.mlp(sizes);
      const learner = () => new mg.MAML(net, net.init({ rng: new mg.Rng(4) }), { innerLr: 0.01, innerSteps });
      const one = learner();
      const two = learner();
      const sampler = new mg.SineTasks({ rng: new mg.Rng(5) });
      const r = await pairedRatioAsync(async () => one.step(sampler.sampleBatch(25)), () => two.stepAsync(sampler.sampleBatch(25), sinePool), innerSteps === 1 ? 200 : 40);
      rows.push([`sine MAML, k = ${innerSteps}, 25 stacked tasks`, fmtTime(r.a), fmtTime(r.b), fmtRatio(r.ratio)]);
    }
  } finally {
    await sinePool.close();
  }
  return [
    `## Meta-batches on worker threads (Conv4, 28×28, float32, kernels: ${mg.backendInfo().variant})`,
    '',
    machineLine(),
    '',
    `Medians over ${ROUNDS} alternating rounds of 2 (MAML) or 4 (Reptile) Omniglot meta-iterations, or 200 (k = 1) and 40 (k = 5) sine ones, after 2 warm-up rounds (short rounds, because the speed of these shared machines drifts by up to 1.6× within minutes); speed-up = one thread / two, per round (median and range). Omniglot: each thread takes the next task nobody has taken, so the split follows the threads' speeds. Sine: the stacked batch is cut in two parts, the cut moved a task at a time towards where both threads finish together.`,
    '',
    table(['meta-batch', '1 thread', 'main + 1 worker', 'speed-up'], rows),
    '',
    `What two threads can give on this machine for kernel-bound work, messages aside (a 64×64 product loop on the kernels, alone and with a worker running it too, 9 rounds): ${fmtRatio(ceiling)}. Reptile's meta-batch of 5 tasks caps it further: one thread takes at least 3, so at most 5/3 = 1.67.`,
  ].join('\n');
}
