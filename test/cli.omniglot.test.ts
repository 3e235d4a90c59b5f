/**
 * The Omniglot training CLI end to end on the real archives (skipped where they are absent):
 * a short run with checkpoints, `--evaluate` of its checkpoint reproducing the run's own final
 * report, `--resume`, Ctrl-C writing the checkpoint before it stops, `--workers` giving the same
 * checkpoint as one thread, and the refusals that protect a run (another preset, length or seed;
 * a missing or damaged file; an existing checkpoint under a new run; a path that cannot be written).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';

const root = join(__dirname, '..');
const dataDir = join(root, '..', 'shared', 'data', 'omniglot');
const dir = mkdtempSync(join(tmpdir(), 'mg-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): { out: string; err: string } {
  try {
    const out = execFileSync(process.execPath, [join(root, 'build', 'src', 'cli', 'omniglot.js'), '--data', dataDir, '--cache', join(dir, 'cache', 'omniglot.cache'), ...args], { encoding: 'utf8', stdio: 'pipe' });
    return { out, err: '' };
  } catch (e) {
    const x = e as { stdout: string; stderr: string };
    return { out: x.stdout, err: x.stderr };
  }
}

describe.runIf(existsSync(join(dataDir, 'images_background.zip')))('npm run omniglot', () => {
  const ckpt = join(dir, 'runs', 'run.safetensors'); // neither directory exists yet: both are created
  test('a short run, then --evaluate of its checkpoint prints the same accuracies, and so does --resume of the finished run', () => {
    const run = cli(['--preset', 'reptile-5way-1shot', '--iterations', '2', '--eval-every', '0', '--eval-episodes', '3', '--checkpoint', ckpt, '--checkpoint-every', '1']);
    expect(run.err).toBe('');
    const lines = run.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^reptile-5way-1shot after 2 iterations, transductive: \d+\.\d\d% ± \d+\.\d\d \(3 episodes\)$/);
    expect(lines[1]).toMatch(/non-transductive/);
    const again = cli(['--evaluate', '--checkpoint', ckpt, '--eval-episodes', '3']);
    expect(again.out.trim().split('\n')).toEqual(lines);
    // --calibration adds the ECE and MCE of the same episodes, and their reliability table.
    const calibrated = cli(['--evaluate', '--calibration', '--checkpoint', ckpt, '--eval-episodes', '3']).out.trim().split('\n');
    expect(calibrated.slice(0, 2)).toEqual(lines);
    const accuracy = /transductive: (\d+\.\d\d)%/.exec(lines[0]!)![1];
    expect(calibrated[2]).toMatch(new RegExp(`^reptile-5way-1shot calibration \\(transductive, 3 episodes, 10 bins\\): accuracy ${accuracy}%, ECE \\d+\\.\\d\\d%, MCE \\d+\\.\\d\\d%$`));
    expect(calibrated[3]).toMatch(/^confidence bin +queries +mean confidence +accuracy$/);
    // Resuming a finished run trains nothing more and reports the same; a different length is
    // refused, since the iteration count sets Reptile's annealing schedule.
    const resumed = cli(['--resume', '--eval-every', '0', '--eval-episodes', '3', '--checkpoint', ckpt]);
    expect(resumed.out.trim().split('\n')).toEqual(lines);
    expect(cli(['--preset', 'reptile-5way-1shot', '--resume', '--iterations', '3', '--checkpoint', ckpt]).err).toMatch(/different configuration \(iterations: 2 there, 3 here\)/);
  }, 180_000);

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s stops a run after the iteration in progress and writes the checkpoint first', async (signal, exitCode) => {
    const stopped = join(dir, `stopped-${signal}.safetensors`);
    const child = spawn(process.execPath, [join(root, 'build', 'src', 'cli', 'omniglot.js'), '--data', dataDir, '--cache', join(dir, 'cache', 'omniglot.cache'), '--preset', 'reptile-5way-1shot', '--iterations', '100000', '--eval-every', '0', '--checkpoint', stopped, '--checkpoint-every', '100000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let second = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        // The progress bar prints after the first iteration: interrupt the run from there on.
        if (/ 1\/100000 /.test(err) && !child.killed) {
          // While it trains, a second run into its checkpoint is refused.
          if (signal === 'SIGINT') second = cli(['--resume', '--checkpoint', stopped]).err;
          child.kill(signal);
        }
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(exitCode);
    if (signal === 'SIGINT') expect(second).toMatch(new RegExp(`stopped-SIGINT\\.safetensors is in use by another run \\(process ${child.pid}\\); stop it first`));
    expect(existsSync(`${stopped}.lock`)).toBe(false); // released as the run stopped
    const m = new RegExp(`${signal}: stopped at iteration (\\d+); checkpoint written to .*stopped-${signal}\\.safetensors, continue with --resume`).exec(err);
    expect(m).not.toBeNull();
    const at = Number(m![1]);
    expect(at).toBeGreaterThanOrEqual(1);
    expect(at).toBeLessThan(100000); // well before the checkpoint interval: written because of the signal
    expect(cli(['--evaluate', '--checkpoint', stopped, '--eval-episodes', '2']).out).toMatch(new RegExp(`after ${at} iterations, transductive`));
  }, 120_000);

  test('--workers 1 spreads a MAML meta-batch over a second thread and writes the same checkpoint, byte for byte; Reptile refuses it', () => {
    const files = [0, 1].map((w) => join(dir, `maml-workers-${w}.safetensors`));
    const runs = files.map((f, w) => cli(['--preset', 'maml-5way-1shot', '--iterations', '2', '--eval-every', '0', '--eval-episodes', '2', '--checkpoint', f, '--workers', String(w)]));
    for (const r of runs) expect(r.err).toBe('');
    expect(runs[1]!.out).toBe(runs[0]!.out);
    expect(readFileSync(files[1]!).equals(readFileSync(files[0]!))).toBe(true);
    expect(cli(['--preset', 'reptile-5way-1shot', '--iterations', '2', '--workers', '1']).err).toMatch(/--workers applies to MAML, FOMAML and MAML\+\+; reptile-5way-1shot is Reptile/);
    expect(cli(['--preset', 'maml-5way-1shot', '--iterations', '2', '--workers', 'two']).err).toMatch(/--workers must be an integer ≥ 0, got 'two'/);
  }, 120_000);

  test('a checkpoint is not evaluated or resumed with another preset or seed, and a missing one is named', () => {
    expect(cli(['--resume', '--checkpoint', ckpt, '--preset', 'maml-5way-1shot']).err).toMatch(/--preset maml-5way-1shot differs from the preset reptile-5way-1shot that .*run\.safetensors was trained with/);
    expect(cli(['--evaluate', '--checkpoint', ckpt, '--seed', '5']).err).toMatch(/--seed 5 differs from the seed 0 that .*run\.safetensors was trained with/);
    expect(cli(['--calibration', '--checkpoint', ckpt]).err).toMatch(/--calibration reports on a checkpoint: give it with --evaluate/);
    expect(cli(['--evaluate', '--checkpoint', join(dir, 'nope.safetensors')]).err).toMatch(/--evaluate needs an existing --checkpoint file, got .*nope\.safetensors/);
    // An unknown preset is named, including the names every object has (toString, constructor).
    for (const name of ['reptile-5way-2shot', 'toString', '__proto__']) {
      expect(cli(['--preset', name, '--iterations', '1']).err).toMatch(new RegExp(`--preset must be one of reptile-5way-1shot, .*, got '${name}'`));
    }
    expect(cli(['--preset', 'maml-5way-1shot', '--iterations', '1', '--split', 'maml++']).err).toMatch(/--split must be 'standard' \(1,200 \/ 423 characters\) or 'mamlpp' \(1,150 \/ 50 \/ 423\), got 'maml\+\+'/);
    // A checkpoint keeps its split: resuming it with another is refused, naming the field.
    expect(cli(['--resume', '--checkpoint', ckpt, '--split', 'mamlpp']).err).toMatch(/different configuration \(split: undefined there, "mamlpp" here\)/);
  }, 60_000);

  test('--running-stats keeps MAML++\'s per-step running statistics in the checkpoint and reports a third accuracy with them; other methods refuse it', () => {
    const bnrs = join(dir, 'bnrs.safetensors');
    const run = cli(['--preset', 'mamlpp-5way-1shot', '--running-stats', '--iterations', '1', '--eval-every', '0', '--eval-episodes', '2', '--checkpoint', bnrs]);
    expect(run.err).toBe('');
    const lines = run.out.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^mamlpp-5way-1shot after 1 iterations, per-step running statistics: \d+\.\d\d% ± \d+\.\d\d \(2 episodes\)$/);
    expect(cli(['--evaluate', '--checkpoint', bnrs, '--eval-episodes', '2']).out.trim().split('\n')).toEqual(lines);
    expect(Object.keys(mg.decodeSafetensors(readFileSync(bnrs)).tensors).filter((k) => k.startsWith('bnrs.'))).toHaveLength(6 * 4 * 2); // 6 steps × 4 blocks × mean, variance
    expect(cli(['--preset', 'maml-5way-1shot', '--running-stats', '--iterations', '1']).err).toMatch(/--running-stats applies to MAML\+\+; maml-5way-1shot is maml/);
  }, 120_000);

  test('a damaged checkpoint is named, with what is wrong (before any data is read where the file alone shows it)', () => {
    const damaged = join(dir, 'damaged.safetensors');
    for (const [bytes, message] of [
      [new Uint8Array([1, 2, 3]), /damaged\.safetensors: too short to be a safetensors file/],
      [mg.encodeSafetensors({ w: mg.zeros([1]) }, { metagrad: '{"config":' }), /damaged\.safetensors: its 'metagrad' metadata is not valid JSON/],
      [mg.encodeSafetensors({ w: mg.zeros([1]) }, { metagrad: '{}' }), /damaged\.safetensors: its 'metagrad' metadata holds no configuration/],
    ] as const) {
      writeFileSync(damaged, bytes);
      for (const mode of ['--evaluate', '--resume']) expect(cli([mode, '--checkpoint', damaged]).err).toMatch(message);
    }
    // One that reads well but lacks a tensor is named too (after the data, which the trainer needs).
    const { tensors, metadata } = mg.decodeSafetensors(readFileSync(ckpt));
    delete tensors['params.3'];
    writeFileSync(damaged, mg.encodeSafetensors(tensors, metadata));
    expect(cli(['--evaluate', '--checkpoint', damaged, '--eval-episodes', '2']).err).toMatch(/damaged\.safetensors: FewShotTrainer\.setState: checkpoint lacks tensor 'params\.3'/);
    // A flipped bit in the weights, which would otherwise load as a slightly different weight.
    const flipped = new Uint8Array(readFileSync(ckpt));
    flipped[flipped.length - 3]! ^= 0x10;
    writeFileSync(damaged, flipped);
    expect(cli(['--evaluate', '--checkpoint', damaged]).err).toMatch(/damaged\.safetensors: the tensor data's CRC-32 is [0-9a-f]{8}, the header recorded [0-9a-f]{8}: the data is damaged/);
  }, 60_000);

  test('a new run never replaces an existing checkpoint unless told to, and an unwritable one fails before training', () => {
    const before = readFileSync(ckpt);
    // A forgotten --resume: refused, and the file is left as it was.
    const refused = cli(['--preset', 'reptile-5way-1shot', '--iterations', '2', '--eval-every', '0', '--checkpoint', ckpt]);
    expect(refused.err).toMatch(/run\.safetensors already exists: continue that run with --resume, or start a new one over it with --overwrite/);
    expect(readFileSync(ckpt).equals(before)).toBe(true);
    expect(cli(['--resume', '--overwrite', '--checkpoint', ckpt]).err).toMatch(/--overwrite starts a new run over --checkpoint; it cannot be combined with --resume/);
    // With --overwrite the new run replaces it.
    const fresh = join(dir, 'overwritten.safetensors');
    cli(['--preset', 'reptile-5way-1shot', '--iterations', '1', '--eval-every', '0', '--eval-episodes', '2', '--checkpoint', fresh]);
    const over = cli(['--preset', 'reptile-5way-1shot', '--iterations', '2', '--eval-every', '0', '--eval-episodes', '2', '--checkpoint', fresh, '--overwrite']);
    expect(over.out).toMatch(/after 2 iterations, transductive/);
    expect(cli(['--evaluate', '--checkpoint', fresh, '--eval-episodes', '2']).out).toBe(over.out);
    // A checkpoint path under a regular file cannot be written: the run stops before its first iteration.
    const blocked = cli(['--preset', 'reptile-5way-1shot', '--iterations', '2', '--eval-every', '0', '--checkpoint', join(ckpt, 'x.safetensors')]);
    expect(blocked.err).toMatch(/x\.safetensors: cannot write/);
    expect(blocked.err).not.toMatch(/ 1\/2 /);
    expect(blocked.out).toBe('');
  }, 120_000);
});
