/**
 * `npm run rl` end to end on tiny settings: a run stopped and resumed gives the uninterrupted
 * run's checkpoint byte for byte, an existing checkpoint is never overwritten, a checkpoint is
 * not resumed under other settings, bad flags are named, and --evaluate writes its figures and
 * table for the checkpoints it finds and a random initialisation.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'mg-rl-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tiny = ['--meta-batch', '2', '--episodes', '3', '--horizon', '10'];

function rl(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, 'build', 'src', 'cli', 'rl.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('2 iterations then --resume to 3 write the checkpoint of 3 uninterrupted iterations, byte for byte', () => {
  for (const method of ['maml', 'pretrain']) {
    const [a, b] = [join(dir, `${method}-straight`), join(dir, `${method}-resumed`)];
    const straight = rl(['--method', method, '--iterations', '3', '--out-dir', a, ...tiny]);
    expect(straight.code, straight.err).toBe(0);
    const first = rl(['--method', method, '--iterations', '2', '--out-dir', b, ...tiny]);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/^iteration 2: return -\d+\.\d\d(, after one step -\d+\.\d\d)?; KL \d\.\d{4}, (\d+ backtracks|no step)$/m);
    const resumed = rl(['--method', method, '--iterations', '3', '--out-dir', b, '--resume', ...tiny]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(readFileSync(join(b, `${method}.safetensors`))).toEqual(readFileSync(join(a, `${method}.safetensors`)));
  }
});

test('an existing checkpoint is not overwritten, nor resumed under other settings; bad flags are named', () => {
  const d = join(dir, 'maml-straight');
  const before = readFileSync(join(d, 'maml.safetensors'));
  expect(rl(['--iterations', '4', '--out-dir', d, ...tiny]).err).toMatch(/maml\.safetensors already exists: continue with --resume/);
  expect(rl(['--iterations', '4', '--out-dir', d, '--resume', '--meta-batch', '3', '--episodes', '3', '--horizon', '10']).err).toMatch(/was trained with other settings/);
  expect(readFileSync(join(d, 'maml.safetensors'))).toEqual(before);
  expect(rl(['--out-dir', join(dir, 'none'), '--resume']).err).toMatch(/does not exist: there is nothing to resume/);
  expect(rl(['--env', 'ant']).err).toMatch(/--env must be one of nav2d, cheetah-vel, cheetah-dir, got 'ant'/);
  expect(rl(['--method', 'reptile']).err).toMatch(/--method must be one of maml, pretrain, got 'reptile'/);
  expect(rl(['--inner-lr=-1']).err).toMatch(/--inner-lr must be a positive number, got '-1'/);
  expect(rl(['--max-kl', 'x']).code).toBe(1);
  expect(rl(['--help']).out).toMatch(/--evaluate +evaluate the checkpoints/);
});

test('--evaluate compares the checkpoints with a random initialisation after 0–3 policy-gradient steps', () => {
  const d = join(dir, 'maml-straight');
  const r = rl(['--evaluate', '--out-dir', d, '--horizon', '10', '--test-tasks', '3', '--test-episodes', '4']);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^\| MAML( \| -\d+\.\d\d ± \d+\.\d\d){4} \|$/m);
  expect(r.out).toMatch(/^\| random( \| -\d+\.\d\d ± \d+\.\d\d){4} \|$/m);
  expect(r.out).not.toMatch(/pretrained/); // no pretrain checkpoint in this folder
  for (const f of ['nav2d-returns.svg', 'nav2d-paths.svg']) expect(readFileSync(join(d, f), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  expect(readFileSync(join(d, 'nav2d.md'), 'utf8')).toMatch(/\| initialisation \| 0 steps \| 1 step \| 2 steps \| 3 steps \|/);
  expect(existsSync(join(d, 'maml.safetensors.lock'))).toBe(false);
});

test('the locomotion tasks train and evaluate through the same command (MuJoCo)', () => {
  const d = join(dir, 'cheetah');
  const r = rl(['--env', 'cheetah-dir', '--iterations', '1', '--out-dir', d, ...tiny]);
  expect(r.code, r.err).toBe(0);
  expect(r.err).toMatch(/maml on cheetah-dir, 1 iterations, meta-batch 2, 3 episodes of 10 steps/);
  const e = rl(['--env', 'cheetah-dir', '--evaluate', '--out-dir', d, '--horizon', '10', '--test-tasks', '2', '--test-episodes', '2']);
  expect(e.code, e.err).toBe(0);
  expect(readFileSync(join(d, 'cheetah-dir.md'), 'utf8')).toMatch(/# MAML paper, running in a goal direction/);
  expect(existsSync(join(d, 'cheetah-dir-paths.svg'))).toBe(false); // paths are drawn for 2-D navigation only
  // A policy of one task family is not evaluated on another.
  expect(rl(['--env', 'cheetah-vel', '--evaluate', '--out-dir', d, '--horizon', '10']).err).toMatch(/trained on cheetah-dir, not cheetah-vel/);
});
