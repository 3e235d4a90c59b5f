/**
 * `npm run bench [-- suite ...]`: runs the named suites (default: all) and rewrites their
 * sections of bench/RESULTS.md. `kernels-relaxed` and `omniglot-relaxed` are those suites on the
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

const suites: Record<string, { run: () => string | Promise<string> }> = { engine, kernels, 'kernels-relaxed': kernels, elementwise, meta, omniglot, 'omniglot-relaxed': omniglot, threads };

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !Object.hasOwn(suites, w)); // own keys: not toString or constructor
if (unknown.length > 0) {
  console.error(`bench: unknown suite(s) ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(suites)) {
  console.error(`bench: ${name}`);
  if (name.endsWith('-relaxed') && backendInfo().variant !== 'relaxed-simd') {
    if (process.execArgv.includes('--experimental-wasm-relaxed-simd')) {
      writeSection(name, `## ${name}\n\nThis runtime refuses the relaxed-SIMD build even with \`--experimental-wasm-relaxed-simd\`; nothing measured.`);
    } else {
      execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', fileURLToPath(import.meta.url), name], { stdio: 'inherit' });
    }
    continue;
  }
  writeSection(name, await suites[name]!.run());
}
console.error('bench: wrote bench/RESULTS.md');
