/**
 * The README's examples are real code: every ```js block runs as a plain-JavaScript module against
 * the build (as a user's `.mjs` file would, `npm test` builds first), every ```ts block against
 * the source.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';

const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
// Blocks may be indented (inside a list item): strip the fence's indentation from each line.
const blocks = [...readme.matchAll(/^( *)```(js|ts)\n([\s\S]*?)^ *```/gm)].map((m) => ({ lang: m[2]!, code: m[3]!.split('\n').map((l) => l.slice(m[1]!.length)).join('\n') }));

/** Writes `code` to a temporary module whose 'metagrad' imports point at this checkout, and imports it. */
async function run<T>(lang: string, code: string): Promise<T> {
  const dir = mkdtempSync(join(__dirname, '.readme-'));
  const target = (entry: 'index' | 'node') => JSON.stringify(lang === 'js' ? pathToFileURL(join(root, 'build', 'src', `${entry}.js`)).href : join(root, 'src', `${entry}.ts`));
  try {
    const file = join(dir, lang === 'js' ? 'example.mjs' : 'example.ts');
    writeFileSync(file, code.replaceAll("from 'metagrad/node'", `from ${target('node')}`).replaceAll("from 'metagrad'", `from ${target('index')}`));
    return (await import(pathToFileURL(file).href)) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the README has the tour and further examples, each importing metagrad, the tour in plain JavaScript', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  expect(blocks[0]!.lang).toBe('js');
  for (const b of blocks) expect(b.code).toContain("from 'metagrad'");
});

test('the README tour runs', async () => {
  const tour = blocks[0]!;
  expect(tour.code).toContain('console.log(curve.get(10));');
  const mod = await run<{ result: { mean: number; ci95: number; n: number } }>(tour.lang, tour.code.replace('console.log(curve.get(10));', 'export const result = curve.get(10);'));
  expect(mod.result.n).toBe(100);
  expect(mod.result.mean).toBeGreaterThan(0);
  expect(Number.isFinite(mod.result.ci95)).toBe(true);
}, 60_000);

test.each(blocks.slice(1).map((b, i) => [i + 2, b] as const))('README example %i runs', async (_, b) => {
  await expect(run(b.lang, b.code.replaceAll('console.log(', 'void (').replace(/$/, '\nexport {};'))).resolves.toBeDefined();
}, 60_000);
