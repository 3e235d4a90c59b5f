/**
 * The programs in examples/ run and print what they promise. They import 'metagrad' by name (the
 * package resolves itself), so they test the build (`npm test` builds first).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const example = (name: string, args: string[] = []): string => execFileSync(process.execPath, [join(root, 'examples', name), ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('hvp-jvp: the Hessian-vector product and the forward-mode derivative agree with finite differences', () => {
  const out = example('hvp-jvp.mjs');
  const hvpErr = Number(/max \|H·v − finite differences\| = (\S+)/.exec(out)![1]);
  expect(hvpErr).toBeLessThan(1e-7);
  const [, dir, fd] = /∂f\/∂w · v = (\S+) \(finite differences (\S+)\)/.exec(out)!;
  expect(Number(dir)).toBeCloseTo(Number(fd), 6);
});

test('own-model-and-task: meta-training a hand-written model on hand-written tasks raises few-shot accuracy', () => {
  const out = example('own-model-and-task.mjs');
  const [, before, after] = /(\S+)% from the initial weights, (\S+)% after 300 meta-iterations/.exec(out)!.map(Number);
  expect(after).toBeGreaterThan(before! + 2);
}, 60_000);

test('worker-threads: a meta-batch spread over a worker gives the one-thread weights bit for bit', () => {
  expect(example('worker-threads.mjs')).toMatch(/weights bit-identical/);
}, 60_000);

const data = join(root, '..', 'shared', 'data', 'omniglot');
test.runIf(existsSync(join(data, 'images_background.zip')))('omniglot-checkpoint: the shipped MAML 5-way 1-shot checkpoint classifies new characters', () => {
  const out = example('omniglot-checkpoint.mjs', [data]);
  const acc = Number(/after 60000 iterations: (\S+)%/.exec(out)![1]);
  expect(acc).toBeGreaterThan(90);
}, 180_000);

test('uncertainty: BMAML meta-training lowers the ensemble mean\'s error on new tasks, and the intervals have a width', () => {
  const out = example('uncertainty.mjs');
  const [, before, after] = /(\S+) before meta-training, (\S+) after 300 meta-iterations/.exec(out)!.map(Number);
  expect(after).toBeLessThan(before!);
  const widths = [...out.matchAll(/± (\S+)/g)].map((m) => Number(m[1]));
  expect(widths).toHaveLength(3);
  for (const w of widths) expect(w).toBeGreaterThan(1.645 * 0.3 - 1e-9); // at least the noise's own
}, 120_000);
