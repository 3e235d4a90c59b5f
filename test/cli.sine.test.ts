/**
 * The sine CLIs end to end on a few iterations: `npm run sine` writes its figure and table,
 * `npm run reproduce:sine` its report, and an output path that cannot be written stops either
 * before any training, with one line naming the path.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'mg-sine-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(script: string, args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, 'build', 'src', 'cli', script), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('npm run sine writes the figure into a new directory and prints the MSE table', () => {
  const svg = join(dir, 'figures', 'sine.svg');
  const r = cli('sine.js', ['--iterations', '2', '--eval-tasks', '2', '--out', svg]);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/Post-adaptation MSE on 2 new tasks/);
  expect(r.out).toMatch(/^10 +\d+\.\d{3} ± \d+\.\d{3} +\d+\.\d{3} ± \d+\.\d{3}$/m);
  expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
});

test('npm run reproduce:sine writes its report', () => {
  const md = join(dir, 'report.md');
  const r = cli('reproduce-sine.js', ['--iterations', '2', '--eval-tasks', '3', '--out', md]);
  expect(r.code).toBe(0);
  const report = readFileSync(md, 'utf8');
  expect(report).toMatch(/--iterations 2 --eval-tasks 3 --seed 0/);
  for (const name of ['MAML', 'FOMAML', 'Reptile', 'joint training']) expect(report).toMatch(new RegExp(`^\\| ${name}.*\\| \\d+ s \\|$`, 'm'));
});

test('an output path that cannot be written stops either CLI before training, naming the path', () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a directory');
  const sine = cli('sine.js', ['--iterations', '2', '--out', join(file, 'x.svg')]);
  expect(sine.code).toBe(1);
  expect(sine.err).toMatch(/^metagrad sine: .*a-file\/x\.svg: cannot write \(\w+\)$/m);
  expect(sine.err).not.toMatch(/maml \[/); // no progress bar: nothing was trained
  const rep = cli('reproduce-sine.js', ['--iterations', '2', '--out', join(file, 'x.md')]);
  expect(rep.code).toBe(1);
  expect(rep.err.trim()).toMatch(/^metagrad reproduce:sine: .*a-file\/x\.md: cannot write \(\w+\)$/);
  expect(cli('reproduce-sine.js', ['--eval-tasks', '0', '--out', join(dir, 'unused.md')]).err.trim()).toBe("metagrad reproduce:sine: --eval-tasks must be an integer ≥ 1, got '0'");
  // An integer too large to be exact is the option's error, not a generator's.
  expect(cli('sine.js', ['--seed', '1e30', '--out', join(dir, 'unused.svg')]).err.trim()).toBe("metagrad sine: --seed must be an integer ≥ 0, got '1e30'");
  expect(readFileSync(file, 'utf8')).toBe('not a directory');
  // A directory named as the output file: refused before training too.
  const svgDir = join(dir, 'named.svg');
  mkdirSync(svgDir);
  const sineDir = cli('sine.js', ['--iterations', '2', '--out', svgDir]);
  expect(sineDir.code).toBe(1);
  expect(sineDir.err).toMatch(/cannot write \(it is a directory; name a file in it\)$/m);
  expect(sineDir.err).not.toMatch(/maml \[/);
  const repDir = cli('reproduce-sine.js', ['--iterations', '2', '--out', dir]);
  expect(repDir.code).toBe(1);
  expect(repDir.err.trim()).toMatch(/^metagrad reproduce:sine: .*: cannot write \(it is a directory; name a file in it\)$/);
});
