/**
 * The API reference (`npm run docs`, TypeDoc) builds without a warning: every export documented,
 * every type a public signature names exported, every {@link} resolved.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

test('typedoc validates the public API with warnings as errors', () => {
  let output = '';
  try {
    output = execFileSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--emit', 'none'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    const x = e as { stdout: string; stderr: string };
    throw new Error(`typedoc failed:\n${x.stdout}${x.stderr}`);
  }
  expect(output).not.toMatch(/warning/i);
}, 120_000);
