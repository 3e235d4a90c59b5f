// The page's side of `npm run test:browser`: the checks on the main thread (after `await
// mg.ready()`, as the README says), the same checks in a module worker (synchronous loading, no
// `ready()`), and the Omniglot archive read in the browser; the report goes back by POST.
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

  const response = await fetch('/data/images_evaluation.zip');
  if (!response.ok) throw new Error(`GET /data/images_evaluation.zip: ${response.status}`);
  const zip = new mg.ZipArchive(new Uint8Array(await response.arrayBuffer()), undefined, 'images_evaluation.zip');
  const pngs = zip.entries.filter((e) => e.name.endsWith('.png'));
  const img = mg.decodePng(zip.read(pngs[0]), undefined, pngs[0].name);
  results.push({
    name: 'main thread: images_evaluation.zip read and a PNG decoded with the portable inflate',
    ok: pngs.length === 13180 && img.width === 105 && img.height === 105,
    detail: `${pngs.length} PNGs; ${pngs[0].name} is ${img.width}×${img.height}`,
  });
  await report({ userAgent: navigator.userAgent, variant, results });
} catch (e) {
  await report({ error: String((e && e.stack) || e) });
}
