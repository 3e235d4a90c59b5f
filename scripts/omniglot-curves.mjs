// Prints the learning curves of `npm run omniglot` logs as Markdown tables: one row per periodic
// evaluation line ("<ISO time> iteration N: test accuracy (...) A% ± C"). The time column shows
// the date on the first row and wherever it changes, since runs go on over several days.
//
//   node scripts/omniglot-curves.mjs results/omniglot/*.log
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node scripts/omniglot-curves.mjs LOG...');
  process.exit(2);
}
const line = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d):\d\d(?:\.\d+)?Z iteration (\d+): (?:test|validation) accuracy \(([^)]*)\) ([\d.]+% ± [\d.]+)$/;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    console.error(`${file}: cannot read (${e.code ?? e})`);
    process.exit(1);
  }
  const rows = text.split('\n').map((l) => line.exec(l.trim())).filter((m) => m !== null);
  const what = rows[0]?.[4] ?? 'no evaluations yet';
  console.log(`${basename(file, '.log')} (${what}):\n`);
  console.log('| iteration | time (UTC) | test accuracy |');
  console.log('| --- | --- | --- |');
  let day = '';
  for (const m of rows) {
    const time = m[1] === day ? m[2] : `${m[1]} ${m[2]}`;
    day = m[1];
    console.log(`| ${Number(m[3]).toLocaleString('en-US')} | ${time} | ${m[5]} |`);
  }
  console.log('');
}
