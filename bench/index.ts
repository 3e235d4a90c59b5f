/**
 * `npm run bench [-- suite ...]`: runs the named suites (default: all) and rewrites their
 * sections of bench/RESULTS.md.
 */
import { writeSection } from './harness.js';
import * as elementwise from './elementwise.js';
import * as engine from './engine.js';
import * as kernels from './kernels.js';
import * as meta from './meta.js';
import * as omniglot from './omniglot.js';

const suites: Record<string, { run: () => string }> = { engine, kernels, elementwise, meta, omniglot };

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in suites));
if (unknown.length > 0) {
  console.error(`bench: unknown suite(s) ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(suites)) {
  console.error(`bench: ${name}`);
  writeSection(name, suites[name]!.run());
}
console.error('bench: wrote bench/RESULTS.md');
