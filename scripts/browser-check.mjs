#!/usr/bin/env node
/**
 * `npm run test:browser`: runs the library in headless Chromium and checks it there.
 *
 * Serves the repository's `build/src/` and `test/browser/` (and the Omniglot archive from --data,
 * when that folder holds it) on a local port, opens test/browser/index.html in headless Chromium
 * through the DevTools protocol (playwright-core) and waits for the page to POST its report: the
 * float32 WASM kernels against the float64 TypeScript path (gemm for every transpose flag,
 * conv2d and both its gradients, an hvp, a second-order MAML meta-gradient through a conv net) on
 * the main thread and in a module worker, MAML's meta-batch on Web Workers, and
 * images_evaluation.zip read and decoded with the portable inflate. Exits 0 only when every
 * check that ran passed.
 *
 * Needs `npm run build` first and a Chromium: $CHROME, or chromium, chromium-browser,
 * google-chrome, google-chrome-stable on the PATH (Debian: `apt-get install chromium`).
 *
 *   npm run test:browser [-- --data ../shared/data/omniglot] [-- --timeout 120]
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { findChrome, NO_CHROME } from './chrome.mjs';
import { staticServer } from './static-server.mjs';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { data: { type: 'string', default: join(root, '..', 'shared', 'data', 'omniglot') }, timeout: { type: 'string', default: '120' } },
});
const dataDir = resolve(values.data);
const timeoutS = Number(values.timeout);
if (!(timeoutS > 0)) fail(`--timeout must be a positive number of seconds, got '${values.timeout}'`);
if (!existsSync(join(root, 'build', 'src', 'index.js'))) fail(`${join(root, 'build', 'src', 'index.js')} is missing: run npm run build (npm install does) first`);
const zip = join(dataDir, 'images_evaluation.zip');
if (!existsSync(zip)) console.log(`browser check: ${zip} not found, so the Omniglot archive check is skipped (pass --data DIR, the folder holding the Omniglot archives)`);
let chrome;
try {
  chrome = findChrome() ?? fail(NO_CHROME);
} catch (e) {
  fail(e.message);
}

function fail(message) {
  console.error(`browser check: ${message}`);
  process.exit(2);
}

let received;
const report = new Promise((resolve) => (received = resolve));
const server = staticServer({ '/build/src/': join(root, 'build', 'src'), '/test/browser/': join(root, 'test', 'browser'), '/data/images_evaluation.zip': zip }, (req, res) => {
  if (req.method !== 'POST' || req.url !== '/result') return false;
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    res.end('ok');
    received(JSON.parse(body));
  });
  return true;
});

/** Prints the page's report; 0 when every check that ran passed, 1 otherwise. */
function judge(report) {
  if (report.error) {
    console.error(`browser check: the page threw:\n${report.error}`);
    return 1;
  }
  console.log(report.userAgent);
  const results = [...report.results];
  // Chrome has shipped relaxed SIMD since version 114; the library should pick that build there.
  const major = Number(/Chrom(?:e|ium)\/(\d+)/.exec(report.userAgent)?.[1]);
  if (major >= 114) results.push({ name: `main thread: Chromium ${major} runs the relaxed-SIMD build`, ok: report.variant === 'relaxed-simd', detail: report.variant });
  for (const r of results) console.log(`${r.skipped ? 'skip' : r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.detail})`);
  const ran = results.filter((r) => !r.skipped);
  const failed = ran.filter((r) => !r.ok).length;
  console.log(`${ran.length - failed} of ${ran.length} browser checks passed${ran.length < results.length ? `, ${results.length - ran.length} skipped` : ''}`);
  return failed === 0 && ran.length > 0 ? 0 : 1;
}

await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
// --no-sandbox: Chromium refuses to start its sandbox as root, which CI machines often are.
const browser = await chromium.launch({ executablePath: chrome, args: ['--no-sandbox'] });
let code = 1;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/test/browser/index.html`);
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve(null), timeoutS * 1000)));
  const r = await Promise.race([report, timeout]);
  clearTimeout(timer);
  if (r === null) console.error(`browser check: no report from the page within ${timeoutS} s${errors.length ? `; the page threw: ${errors.join('; ')}` : ''}`);
  else code = judge(r);
} finally {
  await browser.close();
  server.close();
}
process.exitCode = code;
