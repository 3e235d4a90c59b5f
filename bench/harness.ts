/**
 * Shared benchmark plumbing: timing with the `benchmark` package, markdown tables, and writing
 * a suite's section into bench/RESULTS.md (atomically, so an interrupted run never leaves a
 * half-written file). Each suite owns the section between its markers; other sections stay.
 */
import Benchmark from 'benchmark';
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/**
 * A function that takes one step of `learner` on `batch`, always from the learner's parameters
 * as they are now, to time the same arithmetic on every call. Thousands of steps on one batch
 * are not training: FOMAML at k = 10 on the sine MLP drifts within ~1,300 of them to where its
 * inner SGD diverges, and the optimiser then (rightly) refuses the NaN gradient.
 */
export function stepFrom<P, B>(learner: { params: P; step(batch: B): number }, batch: B): () => number {
  const start = learner.params;
  return () => {
    learner.params = start;
    return learner.step(batch);
  };
}

/** Result of timing one function. */
export interface Timing {
  name: string;
  /** Mean seconds per call. */
  mean: number;
  /** Relative margin of error (percent, 95%). */
  rme: number;
  samples: number;
}

/** Times each function with Benchmark.js (synchronously, one after another). */
export function time(cases: Record<string, () => void>, options: { minTime?: number; maxTime?: number } = {}): Timing[] {
  const out: Timing[] = [];
  const suite = new Benchmark.Suite();
  for (const [name, fn] of Object.entries(cases)) {
    suite.add(name, fn, { minTime: options.minTime ?? 0.5, maxTime: options.maxTime ?? 3 });
  }
  suite.on('cycle', (ev: Benchmark.Event) => {
    const b = ev.target as unknown as Benchmark;
    if (b.error) throw b.error;
    out.push({ name: String(b.name), mean: b.stats.mean, rme: b.stats.rme, samples: b.stats.sample.length });
    process.stderr.write(`  ${String(b.name)}: ${fmtTime(b.stats.mean)} ±${b.stats.rme.toFixed(1)}%\n`);
  });
  suite.run({ async: false });
  return out;
}

/** A ratio of two costs measured in alternating rounds: its median and range over the rounds. */
export interface Ratio {
  median: number;
  low: number;
  high: number;
  rounds: number;
}

/**
 * The cost of `a` over the cost of `b`, timed in alternating rounds (a, b, a, b, ...) of about
 * `roundSeconds` each, so load from other processes on a shared machine falls on both sides of
 * every round's ratio; the median over rounds is reported with its range.
 */
export function pairedRatio(a: () => void, b: () => void, rounds = 15, roundSeconds = 0.1): Ratio {
  const calls = (f: () => void): number => {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < roundSeconds * 1e3) {
      f();
      n++;
    }
    return n;
  };
  a();
  b();
  const na = Math.max(1, calls(a));
  const nb = Math.max(1, calls(b));
  const per = (f: () => void, n: number): number => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return (performance.now() - t0) / n;
  };
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) ratios.push(per(a, na) / per(b, nb));
  return medianRange(ratios);
}

/** The median and range of per-round values (ratios, or seconds per call), one per alternating round. */
export function medianRange(values: readonly number[]): Ratio {
  const s = [...values].sort((x, y) => x - y);
  return { median: s[s.length >> 1]!, low: s[0]!, high: s[s.length - 1]!, rounds: s.length };
}

/** `1.52 (1.48–1.57)`. */
export function fmtRatio(r: Ratio): string {
  return `${r.median.toFixed(2)} (${r.low.toFixed(2)}–${r.high.toFixed(2)})`;
}

export function fmtTime(seconds: number): string {
  if (seconds < 1e-3) return `${(seconds * 1e6).toFixed(2)} µs`;
  if (seconds < 1) return `${(seconds * 1e3).toFixed(2)} ms`;
  return `${seconds.toFixed(2)} s`;
}

/** A markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One line naming the machine, Node and the date, for the top of a section. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `Machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`;
}

const resultsPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'RESULTS.md');

const header = `# Benchmark results

Produced by \`npm run bench -- --write\` (all suites) or \`npm run bench -- --write <suite> ...\`;
each suite rewrites only its own section. Timings on shared 2-core machines are noisy: compare figures within one
section (taken in one run), as ratios, rather than across sections or days.
`;

/** Replaces (or appends) the section of `suite` in bench/RESULTS.md. */
export function writeSection(suite: string, body: string): void {
  const begin = `<!-- bench:${suite} -->`;
  const end = `<!-- /bench:${suite} -->`;
  const block = `${begin}\n${body.trim()}\n${end}`;
  let text = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : header;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  const tmp = `${resultsPath}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, resultsPath);
}
