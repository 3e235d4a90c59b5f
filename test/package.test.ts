/**
 * The package as a user gets it: `npm pack`, installed into a scratch project, imported from an
 * ES module, from CommonJS and from TypeScript (nodenext in an ES module and in a CommonJS
 * project, and bundler resolution) with nothing but `lib: ["es2022"]`; its command runs; every
 * source map points at a file the package ships. Tests the build (`npm test` builds first).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const scratch = mkdtempSync(join(tmpdir(), 'metagrad-package-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd: string): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** A project in `scratch/name` with `pkg` as its package.json and the packed metagrad installed. */
function consumer(name: string, pkg: Record<string, unknown>, tarball: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, ...pkg }));
  run(npm, ['install', tarball, '--ignore-scripts', '--no-audit', '--no-fund', '--offline'], dir);
  return dir;
}

const USE = `import * as mg from 'metagrad';
import { TaskWorkers } from 'metagrad/node';
const x: mg.Tensor = new mg.Tensor(new Float32Array([3]), [1], true);
const g: mg.Tensor = mg.grad(mg.sum(mg.square(x)), x);
export const out: [number, typeof TaskWorkers] = [g.data[0]!, TaskWorkers];
`;

function typecheck(dir: string, module: string, resolution: string, emit: boolean): string {
  writeFileSync(join(dir, 'use.ts'), USE);
  const options = { strict: true, lib: ['es2022'], types: [], target: 'es2022', module, moduleResolution: resolution, skipLibCheck: false, ...(emit ? { outDir: 'out' } : { noEmit: true }) };
  writeFileSync(join(dir, `tsconfig.${resolution}.json`), JSON.stringify({ compilerOptions: options, files: ['use.ts'] }));
  try {
    return run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], dir);
  } catch (e) {
    throw new Error(`tsc (${module}, ${resolution}) failed:\n${(e as { stdout: string }).stdout}`);
  }
}

describe('the packed package', () => {
  let esm = '';
  let cjs = '';
  beforeAll(() => {
    const out = run(npm, ['pack', '--ignore-scripts', '--pack-destination', scratch, '--json'], root);
    const tarball = join(scratch, (JSON.parse(out) as { filename: string }[])[0]!.filename);
    esm = consumer('esm', { type: 'module' }, tarball);
    cjs = consumer('cjs', {}, tarball);
  }, 120_000);

  test('imports from an ES module and from CommonJS, its subpaths and package.json included', () => {
    writeFileSync(join(esm, 'use.mjs'), "import * as mg from 'metagrad';\nimport { TaskWorkers } from 'metagrad/node';\nconst x = new mg.Tensor(new Float32Array([3]), [1], true);\nconsole.log(mg.grad(mg.sum(mg.square(x)), x).data[0], typeof TaskWorkers);\n");
    expect(run(process.execPath, ['use.mjs'], esm).trim()).toBe('6 function');
    writeFileSync(join(cjs, 'use.cjs'), "const mg = require('metagrad');\nconst x = new mg.Tensor(new Float32Array([3]), [1], true);\nconsole.log(mg.grad(mg.sum(mg.square(x)), x).data[0], typeof require('metagrad/node').TaskWorkers, require('metagrad/package.json').name);\n");
    expect(run(process.execPath, ['use.cjs'], cjs).trim()).toBe('6 function metagrad');
  });

  test('its types compile with lib es2022 alone (no DOM, no Node typings): nodenext and bundler in an ES module, nodenext from CommonJS', () => {
    typecheck(esm, 'nodenext', 'nodenext', false);
    typecheck(esm, 'esnext', 'bundler', false);
    typecheck(cjs, 'nodenext', 'nodenext', true);
    expect(run(process.execPath, ['-e', "console.log(require('./out/use.js').out[0])"], cjs).trim()).toBe('6');
    // Internal declarations stay out of the public types.
    const types = readFileSync(join(esm, 'node_modules', 'metagrad', 'build', 'src', 'autograd.d.ts'), 'utf8');
    expect(types).toContain('export declare function grad(');
    expect(types).not.toContain('export declare function record(');
  }, 60_000);

  test('ships LICENSE, CHANGELOG and the sources its maps name; its command prints help', () => {
    const pkg = join(esm, 'node_modules', 'metagrad');
    for (const f of ['LICENSE', 'CHANGELOG.md', 'README.md']) expect(existsSync(join(pkg, f)), f).toBe(true);
    const maps: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.js.map')) maps.push(join(d, e.name));
      }
    };
    walk(join(pkg, 'build'));
    expect(maps.length).toBeGreaterThan(20);
    for (const m of maps) {
      const { sources } = JSON.parse(readFileSync(m, 'utf8')) as { sources: string[] };
      for (const s of sources) expect(existsSync(resolve(dirname(m), s)), `${m} → ${s}`).toBe(true);
    }
    const bin = join(esm, 'node_modules', '.bin', 'metagrad');
    expect(run(bin, ['omniglot', '--help'], esm)).toMatch(/--preset NAME .*\(default reptile-5way-1shot\)/);
    expect(run(bin, ['sine', '-h'], esm)).toMatch(/--method maml\|fomaml\|reptile +the algorithm \(default maml\)/);
    expect(run(bin, ['reproduce-sine', '--help'], esm)).toMatch(/--eval-tasks N +new tasks the MSE is averaged over \(default 600\)/);
    expect(run(bin, ['reproduce-reptile', '--help'], esm)).toMatch(/--iterations N +meta-iterations per run \(default 40000 for Figure 3, the paper's; 10000 for Figure 4\)/);
    expect(run(bin, ['--help'], esm)).toMatch(/usage: metagrad <command> \[flags\]/);
    expect(() => run(bin, ['train'], esm)).toThrow(/unknown command 'train'/);
  });
});
