/** The LEO CLI: its help, and the refusals that come before any data is read. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'mg-leo-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): { out: string; err: string; code: number } {
  try {
    return { out: execFileSync(process.execPath, [join(root, 'build', 'src', 'cli', 'leo.js'), '--data', join(dir, 'no-data'), ...args], { encoding: 'utf8', stdio: 'pipe' }), err: '', code: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; status: number };
    return { out: x.stdout, err: x.stderr, code: x.status };
  }
}

describe('npm run leo', () => {
  test('--help lists the presets and ablations', () => {
    const { out } = cli(['--help']);
    for (const name of ['leo-5way-1shot', 'leo-20way-5shot', 'no-relation-net', 'weight-space', 'no-finetuning', '--embeddings FILE']) expect(out).toContain(name);
  });

  test('refuses what it cannot run, naming the flag, before reading any data', () => {
    expect(cli(['--preset', 'leo-3way-1shot']).err).toMatch(/--preset must be one of leo-5way-1shot, .*got 'leo-3way-1shot'/);
    expect(cli(['--ablation', 'no-decoder']).err).toMatch(/--ablation must be one of no-relation-net, weight-space, no-finetuning, got 'no-decoder'/);
    expect(cli(['--resume']).err).toMatch(/--resume needs an existing --checkpoint file, got none/);
    expect(cli(['--iterations', '1.5']).err).toMatch(/--iterations must be an integer/);
    const existing = join(dir, 'run.safetensors');
    writeFileSync(existing, 'x');
    const r = cli(['--checkpoint', existing]);
    expect(r.err).toMatch(/already exists: continue that run with --resume/);
    expect(r.code).toBe(1);
    expect(cli(['--evaluate', '--checkpoint', existing]).err).toMatch(/run\.safetensors/);
    // A well-formed request reaches the data, whose absence is named.
    expect(cli(['--iterations', '2']).err).toMatch(/no-data.*missing/);
  });
});
