#!/usr/bin/env node
/**
 * `npm run test:browser`: runs the library in headless Chromium and checks it there.
 *
 * Serves the repository's `build/` and `test/browser/` (and the Omniglot archive from --data) on
 * a local port, opens test/browser/index.html in headless Chromium and waits for the page to POST
 * its report: the float32 WASM kernels against the float64 TypeScript path (gemm for every
 * transpose flag, conv2d and both its gradients, an hvp, a second-order MAML meta-gradient
 * through a conv net) on the main thread and in a module worker, and images_evaluation.zip read
 * and decoded with the portable inflate. Exits 0 only when every check passed.
 *
 * Needs `npm run build` first and a Chromium: the first of $CHROME, chromium, chromium-browser,
 * google-chrome, google-chrome-stable on the PATH (Debian: `apt-get install chromium`).
 *
 *   npm run test:browser [-- --data ../shared/data/omniglot] [-- --timeout 120]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, extname, join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { data: { type: 'string', default: join(root, '..', 'shared', 'data', 'omniglot') }, timeout: { type: 'string', default: '120' } },
});
const dataDir = resolve(values.data);
const timeoutS = Number(values.timeout);
if (!(timeoutS > 0)) fail(`--timeout must be a positive number of seconds, got '${values.timeout}'`);
if (!existsSync(join(root, 'build', 'src', 'index.js'))) fail(`${join(root, 'build', 'src', 'index.js')} is missing: run npm run build (npm install does) first`);
if (!existsSync(join(dataDir, 'images_evaluation.zip'))) fail(`${join(dataDir, 'images_evaluation.zip')} not found: pass --data DIR, the folder holding the Omniglot archives`);
const chrome = findChrome();

function fail(message) {
  console.error(`browser check: ${message}`);
  process.exit(2);
}

function findChrome() {
  if (process.env.CHROME) {
    if (!existsSync(process.env.CHROME)) fail(`CHROME=${process.env.CHROME} does not exist`);
    return process.env.CHROME;
  }
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      const candidate = join(dir, name);
      if (dir !== '' && existsSync(candidate)) return candidate;
    }
  }
  return fail('no Chromium found: install one (Debian: apt-get install chromium) or set CHROME=/path/to/chrome');
}

const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json', '.zip': 'application/zip' };
/** The file a GET path names, only inside the served folders; undefined otherwise. */
function fileFor(url) {
  let path;
  try {
    path = decodeURIComponent(new URL(url, 'http://x').pathname);
  } catch {
    return undefined; // a malformed %-escape: answered with 404 like any unknown path
  }
  const [base, rel] = path.startsWith('/data/') ? [dataDir, path.slice('/data/'.length)] : [root, path.slice(1)];
  const file = resolve(base, rel);
  const allowed = base === dataDir ? [dataDir + sep] : [join(root, 'build') + sep, join(root, 'test', 'browser') + sep];
  if (!allowed.some((prefix) => file.startsWith(prefix)) || !existsSync(file) || !statSync(file).isFile()) return undefined;
  return file;
}

let browser;
const profile = mkdtempSync(join(tmpdir(), 'metagrad-chrome-'));
let finished = false;
const finish = (code) => {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  process.exitCode = code;
  server.close();
  // Chromium runs as a process group (browser, zygote, renderers): stop all of it, then remove
  // the temporary profile once nothing writes to it any more.
  if (browser?.exitCode === null && browser.signalCode === null) {
    browser.once('exit', removeProfile);
    process.kill(-browser.pid, 'SIGKILL');
  } else removeProfile();
};
function removeProfile() {
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch (e) {
    console.error(`browser check: could not remove the temporary profile ${profile}: ${e.message}`);
  }
}
const timer = setTimeout(() => {
  console.error(`browser check: no report from the page within ${timeoutS} s`);
  finish(1);
}, timeoutS * 1000);

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/result') {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.end('ok');
      finish(judge(JSON.parse(body)));
    });
    return;
  }
  const file = req.method === 'GET' ? fileFor(req.url ?? '/') : undefined;
  if (file === undefined) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
});

/** Prints the page's report; 0 when every check passed, 1 otherwise. */
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
  for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.detail})`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} of ${results.length} browser checks passed`);
  return failed === 0 && results.length > 0 ? 0 : 1;
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}/test/browser/index.html`;
  // --no-sandbox: Chromium refuses to start its sandbox as root, which CI machines often are.
  browser = spawn(chrome, ['--headless=new', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`, url], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  browser.stderr.on('data', (chunk) => (stderr += chunk));
  browser.on('exit', (code) => {
    if (!finished) {
      console.error(`browser check: ${chrome} exited (code ${code}) before the page reported:\n${stderr.slice(-2000)}`);
      finish(1);
    }
  });
});
