/**
 * `npm run test:browser` as part of the suite: the library's checks in headless Chromium (kernels
 * against float64, a module worker, MAML on Web Workers, the Omniglot archive when ../shared has
 * it). Needs a Chromium (`apt-get install chromium`, or CHROME=…); CI installs one, elsewhere the
 * file is skipped with that reason.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
// @ts-expect-error plain JavaScript script, no declarations
import { findChrome } from '../scripts/chrome.mjs';

const chrome = findChrome() as string | undefined;

test.skipIf(chrome === undefined)('every browser check passes in headless Chromium', async () => {
  const script = fileURLToPath(new URL('../scripts/browser-check.mjs', import.meta.url));
  const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(process.execPath, [script, '--timeout', '150'], { timeout: 200_000 }, (e, stdout, stderr) => resolve({ code: e === null ? 0 : Number(e.code ?? 1), out: stdout + stderr }));
  });
  expect(out).toMatch(/^ok {3}main thread: MAML meta-batch on 2 Web Workers/m);
  expect(out).not.toMatch(/^FAIL/m);
  const m = /^(\d+) of (\d+) browser checks passed/m.exec(out);
  expect(m, out).not.toBeNull();
  expect(Number(m![1])).toBe(Number(m![2]));
  expect(Number(m![2])).toBeGreaterThanOrEqual(46);
  expect(code, out).toBe(0);
}, 210_000);
