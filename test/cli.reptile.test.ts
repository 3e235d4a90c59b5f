/**
 * The Reptile-figures CLI end to end on the real archives (skipped where they are absent): a
 * finished run leaves its record instead of its checkpoint, and a resumed invocation rebuilds the
 * same report from the records alone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const root = join(__dirname, '..');
const dataDir = join(root, '..', 'shared', 'data', 'omniglot');
const dir = mkdtempSync(join(tmpdir(), 'mg-reptile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): { out: string; err: string } {
  try {
    const out = execFileSync(process.execPath, [join(root, 'build', 'src', 'cli', 'reproduce-reptile.js'), '--data', dataDir, '--cache', join(dir, 'omniglot.cache'), ...args], { encoding: 'utf8', stdio: 'pipe' });
    return { out, err: '' };
  } catch (e) {
    const x = e as { stdout: string; stderr: string };
    return { out: x.stdout, err: x.stderr };
  }
}

describe.runIf(existsSync(join(dataDir, 'images_background.zip')))('npm run reproduce:reptile', () => {
  test('finished runs keep a record of their curve and time, not their weights; --resume rebuilds the report from the records; a damaged record is named', () => {
    const out = join(dir, 'fig3');
    const first = cli(['--iterations', '2', '--eval-every', '1', '--eval-episodes', '1', '--out-dir', out]);
    expect(first.err).not.toMatch(/Error|error:/);
    const files = readdirSync(out);
    expect(files.filter((f) => f.endsWith('.done.json'))).toHaveLength(10);
    expect(files.filter((f) => f.endsWith('.safetensors'))).toEqual([]);
    const report = readFileSync(join(out, 'figure3.md'), 'utf8');
    const record = JSON.parse(readFileSync(join(out, 'g2.done.json'), 'utf8')) as { points: { iteration: number }[] };
    expect(record.points.map((p) => p.iteration)).toEqual([0, 1, 2]);
    // A new run into the same folder is refused; --resume trains nothing and writes the same report.
    expect(cli(['--iterations', '2', '--out-dir', out]).err).toMatch(/g1\.done\.json already exists: continue with --resume/);
    cli(['--iterations', '2', '--eval-every', '1', '--eval-episodes', '1', '--out-dir', out, '--resume']);
    expect(readFileSync(join(out, 'figure3.md'), 'utf8').replace(/\| [\d.]+ min \|/g, '')).toBe(report.replace(/\| [\d.]+ min \|/g, ''));
    writeFileSync(join(out, 'g4.done.json'), '{"points":');
    expect(cli(['--iterations', '2', '--eval-every', '1', '--out-dir', out, '--resume']).err).toMatch(/g4\.done\.json: not valid JSON/);
    expect(cli(['--iterations', '3', '--eval-every', '1', '--out-dir', out, '--resume']).err).toMatch(/g1\.done\.json: its settings are .*"iterations":2.*, not .*"iterations":3/);
  }, 300_000);
});
