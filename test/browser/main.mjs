// The page's side of `npm run test:browser`: the checks on the main thread (after `await
// mg.ready()`, as the README says), the same checks in a module worker (synchronous loading, no
// `ready()`), MAML's meta-batch on Web Workers (TaskWorkers), and the Omniglot archive read in
// the browser; the report goes back by POST.
import * as mg from '/build/src/index.js';
import { runChecks } from './checks.mjs';

const report = (body) => fetch('/result', { method: 'POST', body: JSON.stringify(body) });

try {
  await mg.ready();
  const results = runChecks(mg, 'main thread');
  const variant = mg.backendInfo().variant;

  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module' });
  const fromWorker = await new Promise((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(`worker: ${e.message}`));
  });
  results.push(...fromWorker);

  results.push(await taskWorkersCheck());

  const name = 'main thread: images_evaluation.zip read and a PNG decoded with the portable inflate';
  const response = await fetch('/data/images_evaluation.zip');
  // 404: the checker was given no Omniglot folder (it says so); anything else is a failure.
  if (response.status === 404) results.push({ name, skipped: true, detail: 'no Omniglot archive served' });
  else {
    if (!response.ok) throw new Error(`GET /data/images_evaluation.zip: ${response.status}`);
    const zip = new mg.ZipArchive(new Uint8Array(await response.arrayBuffer()), undefined, 'images_evaluation.zip');
    const pngs = zip.entries.filter((e) => e.name.endsWith('.png'));
    const img = mg.decodePng(zip.read(pngs[0]), undefined, pngs[0].name);
    results.push({ name, ok: pngs.length === 13180 && img.width === 105 && img.height === 105, detail: `${pngs.length} PNGs; ${pngs[0].name} is ${img.width}×${img.height}` });
  }
  await report({ userAgent: navigator.userAgent, variant, results });
} catch (e) {
  await report({ error: String((e && e.stack) || e) });
}

/** Two MAML iterations with the meta-batch on two Web Workers against two on this thread. */
async function taskWorkersCheck() {
  const rng = new mg.Rng(1);
  const characters = Array.from({ length: 12 }, (_, c) => ({
    alphabet: 'fake',
    name: `character${c}`,
    images: Array.from({ length: 20 }, () => Float32Array.from({ length: 784 }, () => (rng.uniform() < 0.2 ? 1 : 0))),
  }));
  const classes = mg.classesOf(characters, true);
  const options = { classes: 3, filters: 4 };
  const config = { method: 'maml', nWay: 3, kShot: 1, queryPerClass: 2, metaBatch: 5, innerSteps: 2, innerLr: 0.4, iterations: 10, evalSteps: 1 };
  const pool = await mg.TaskWorkers.start({ workers: 2, model: { conv4: options } });
  try {
    const one = new mg.FewShotTrainer(mg.conv4(options), classes, config, 7);
    const two = new mg.FewShotTrainer(mg.conv4(options), classes, config, 7);
    const lossesOne = [one.step(), one.step()];
    const lossesTwo = [await two.stepAsync(pool), await two.stepAsync(pool)];
    let differ = 0;
    one.params.forEach((p, i) => p.data.forEach((v, j) => (differ += v === two.params[i].data[j] ? 0 : 1)));
    return {
      name: 'main thread: MAML meta-batch on 2 Web Workers (TaskWorkers) gives the single-thread weights and losses bit for bit',
      ok: differ === 0 && lossesOne.every((l, i) => l === lossesTwo[i]) && one.params.length > 0,
      detail: `${differ} of ${one.params.reduce((n, p) => n + p.size, 0)} weights differ; losses ${lossesOne.join(', ')} / ${lossesTwo.join(', ')}`,
    };
  } finally {
    await pool.close();
  }
}

