/**
 * `scripts/omniglot-curves.mjs`, which turns training logs into the learning-curve tables of
 * docs/omniglot-runs.md: it keeps only the periodic evaluation lines, and the time column shows
 * the date on the first row and wherever the day changes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const script = join(__dirname, '..', 'scripts', 'omniglot-curves.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mg-curves-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(files: string[]): { out: string; err: string; status: number } {
  try {
    return { out: execFileSync(process.execPath, [script, ...files], { encoding: 'utf8', stdio: 'pipe' }), err: '', status: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; status: number };
    return { out: x.stdout, err: x.stderr, status: x.status };
  }
}

test('one row per evaluation line, with the date where the day changes', () => {
  const log = join(dir, 'maml-5way-5shot.log');
  writeFileSync(log, [
    'metagrad omniglot: maml-5way-5shot, 60000 iterations, seed 0, kernels: relaxed-simd',
    'maml-5way-5shot [........]   1% 990/60000 loss 0.2 1.27 s/it ETA 21h',
    '',
    '2026-11-23T16:10:00.123Z iteration 1000: test accuracy (transductive, 100 episodes) 97.40% ± 1.44',
    '2026-11-23T16:31:59Z iteration 2000: test accuracy (transductive, 100 episodes) 98.00% ± 1.31',
    '2026-11-24T09:02:00.5Z iteration 3000: test accuracy (transductive, 100 episodes) 99.20% ± 0.70',
    'maml-5way-5shot after 3000 iterations, transductive: 99.00% ± 0.80 (100 episodes)',
  ].join('\n'));
  const r = run([log]);
  expect(r.status).toBe(0);
  expect(r.out.split('\n')).toEqual([
    'maml-5way-5shot (transductive, 100 episodes):',
    '',
    '| iteration | time (UTC) | test accuracy |',
    '| --- | --- | --- |',
    '| 1,000 | 2026-11-23 16:10 | 97.40% ± 1.44 |',
    '| 2,000 | 16:31 | 98.00% ± 1.31 |',
    '| 3,000 | 2026-11-24 09:02 | 99.20% ± 0.70 |',
    '',
    '',
  ]);
});

test('a log without evaluations says so, and a missing log is named', () => {
  const empty = join(dir, 'fresh.log');
  writeFileSync(empty, 'metagrad omniglot: maml-5way-5shot, 60000 iterations, seed 0\n');
  expect(run([empty]).out).toMatch(/^fresh \(no evaluations yet\):\n/);
  const missing = join(dir, 'nope.log');
  const r = run([missing]);
  expect(r.status).toBe(1);
  expect(r.err).toContain(`${missing}: cannot read (ENOENT)`);
});
