/**
 * `npm run bench [-- [--write] suite ...]`: runs the named suites (default: all) and prints their
 * tables; with `--write` it also rewrites their sections of bench/RESULTS.md. `kernels-relaxed` and `omniglot-relaxed` are those suites on the
 * relaxed-SIMD build (fused multiply-add), which the CLIs use; they run in a child Node started
 * with `--experimental-wasm-relaxed-simd` (Node 20 needs the flag) and write a note instead
 * where the runtime refuses that build.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { backendInfo } from '../src/index.js';
import { writeSection } from './harness.js';
import * as elementwise from './elementwise.js';
import * as engine from './engine.js';
import * as kernels from './kernels.js';
import * as meta from './meta.js';
import * as omniglot from './omniglot.js';
import * as threads from './threads.js';
import * as leo from './leo.js';

const suites: Record<string, { run: () => string | Promise<string> }> = { engine, kernels, 'kernels-relaxed': kernels, elementwise, meta, omniglot, 'omniglot-relaxed': omniglot, threads, leo };

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench -- [--write] [suite ...]

Runs the named suites (default: all) and prints their tables.
  --write      also rewrite their sections of bench/RESULTS.md (with the machine and date)
  suites       ${Object.keys(suites).join(', ')}`);
  process.exit(0);
}
const write = args.includes('--write');
const wanted = args.filter((a) => a !== '--write');
const unknown = wanted.filter((w) => !Object.hasOwn(suites, w)); // own keys: not toString or constructor
if (unknown.length > 0) {
  console.error(`bench: unknown suite(s) ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
/** Prints a suite's section, and with --write puts it into bench/RESULTS.md. */
const report = (name: string, body: string): void => {
  console.log(`${body.trim()}\n`);
  if (write) writeSection(name, body);
};
for (const name of wanted.length > 0 ? wanted : Object.keys(suites)) {
  console.error(`bench: ${name}`);
  if (name.endsWith('-relaxed') && backendInfo().variant !== 'relaxed-simd') {
    if (process.execArgv.includes('--experimental-wasm-relaxed-simd')) {
      report(name, `## ${name}\n\nThis runtime refuses the relaxed-SIMD build even with \`--experimental-wasm-relaxed-simd\`; nothing measured.`);
    } else {
      execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', fileURLToPath(import.meta.url), ...(write ? ['--write'] : []), name], { stdio: 'inherit' });
    }
    continue;
  }
  report(name, await suites[name]!.run());
}
if (write) console.error('bench: wrote bench/RESULTS.md');
