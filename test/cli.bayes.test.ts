/**
 * The uncertainty CLI end to end on a few iterations.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'mg-bayes-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, 'build', 'src', 'cli', 'bayes.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test.each(['platipus', 'bmaml', 'emaml', 'maml'])('npm run bayes --method %s writes its figure and scores', (method) => {
  const svg = join(dir, `${method}.svg`);
  const json = join(dir, `${method}.json`);
  const r = cli(['--method', method, '--iterations', '3', '--eval-tasks', '2', '--particles', '3', '--out', svg, '--json', json]);
  expect(r.err).not.toMatch(/metagrad bayes: (?!\w+ on)/);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/MSE of the mean \d+\.\d{3} {3}NLL -?\d+\.\d{3} {3}coverage 50%: \d+\.\d% {3}90%: \d+\.\d%/);
  const picture = readFileSync(svg, 'utf8');
  expect(picture).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  // The members: three thin lines for the ensembles, one for MAML.
  expect(picture.match(/stroke-width="1"/g)?.length).toBe(method === 'maml' ? 1 : 3);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  expect(report.settings.method).toBe(method);
  expect(report.scores.tasks).toBe(2);
  expect(report.scores.coverage90).toBeGreaterThanOrEqual(report.scores.coverage50);
});

test('bad flags are named before any training', () => {
  expect(cli(['--method', 'vi']).err.trim()).toBe("metagrad bayes: --method must be one of platipus, bmaml, emaml, maml, got 'vi'");
  expect(cli(['--setup', 'cosine']).err.trim()).toBe("metagrad bayes: --setup must be 'ambiguous' or 'bmaml', got 'cosine'");
  expect(cli(['--particles', '0']).err.trim()).toBe("metagrad bayes: --particles must be an integer ≥ 1, got '0'");
  expect(cli(['--out', join(dir, 'x.png')]).err.trim()).toMatch(/--out must name an \.svg file/);
});
