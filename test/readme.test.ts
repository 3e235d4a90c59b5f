/** The README's examples are real code: extract every ```ts block and run it against the source. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
// Blocks may be indented (inside a list item): strip the fence's indentation from each line.
const blocks = [...readme.matchAll(/^( *)```ts\n([\s\S]*?)^ *```/gm)].map((m) => m[2]!.split('\n').map((l) => l.slice(m[1]!.length)).join('\n'));
const src = join(__dirname, '..', 'src', 'index.ts');

/** Writes `code` (importing 'metagrad') to a temporary module importing the source instead, and imports it. */
async function run<T>(code: string): Promise<T> {
  const dir = mkdtempSync(join(__dirname, '.readme-'));
  try {
    const file = join(dir, 'example.ts');
    writeFileSync(file, code.replace("from 'metagrad'", `from ${JSON.stringify(src)}`));
    return (await import(file)) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the README has the tour and further examples, each importing metagrad', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  for (const b of blocks) expect(b).toContain("from 'metagrad'");
});

test('the README tour runs', async () => {
  const mod = await run<{ result: { mean: number; ci95: number; n: number } }>(blocks[0]!.replace('console.log(curve.get(10));', 'export const result = curve.get(10);'));
  expect(mod.result.n).toBe(100);
  expect(mod.result.mean).toBeGreaterThan(0);
  expect(Number.isFinite(mod.result.ci95)).toBe(true);
});

test.each(blocks.slice(1).map((b, i) => [i + 2, b] as const))('README example %i runs', async (_, code) => {
  await expect(run(code)).resolves.toBeDefined();
});
