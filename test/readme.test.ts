/** The README's tour is real code: extract its ```ts block and run it against the source. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

test('the README tour runs', async () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme);
  expect(block, 'README has a ```ts example').not.toBeNull();
  const src = join(__dirname, '..', 'src', 'index.ts');
  const code = block![1]!.replace("from 'metagrad'", `from ${JSON.stringify(src)}`).replace('console.log(curve.get(10));', 'export const result = curve.get(10);');
  const dir = mkdtempSync(join(__dirname, '.readme-'));
  try {
    const file = join(dir, 'tour.ts');
    writeFileSync(file, code);
    const mod = (await import(file)) as { result: { mean: number; ci95: number; n: number } };
    expect(mod.result.n).toBe(100);
    expect(mod.result.mean).toBeGreaterThan(0);
    expect(Number.isFinite(mod.result.ci95)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
