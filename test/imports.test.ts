/**
 * The layout is the architecture: no import cycles anywhere in src/ (type-only imports included),
 * algorithms free of task types, kernels free of the tensor module, and the tape free of ops.
 * Imports are read with the TypeScript compiler's own pre-processor.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { expect, test } from 'vitest';

const src = join(__dirname, '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Each source file (relative to src/) and the src/ files it imports or re-exports from. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(src)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps = importedFiles.map((f) => f.fileName).filter((f) => f.startsWith('.')).map((f) => relative(src, join(dirname(file), f.replace(/\.js$/, '.ts'))));
    graph.set(relative(src, file), deps);
  }
  return graph;
}

/** Every cycle's files, found as the strongly connected components of more than one file (or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

const graph = importGraph();
const importers = (from: (f: string) => boolean, to: (f: string) => boolean): string[] =>
  [...graph].flatMap(([f, deps]) => (from(f) ? deps.filter(to).map((d) => `${f} -> ${d}`) : []));

test('src/ has no import cycles', () => {
  expect(graph.size).toBeGreaterThan(50);
  expect(cycles(graph)).toEqual([]);
});

test('the walk finds a cycle when there is one', () => {
  expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toEqual([]);
});

test('the layers import downwards only', () => {
  // Algorithms know Tasks, not task distributions; the training layer and experiments sit above them.
  expect(importers((f) => f.startsWith('meta/'), (d) => d.startsWith('tasks/') || d.startsWith('train/') || d.startsWith('experiments/') || d.startsWith('cli/') || d.startsWith('bayes/'))).toEqual([]);
  // The probabilistic and Bayesian algorithms build on the meta layer and, like it, know only Tasks.
  expect(importers((f) => f.startsWith('bayes/'), (d) => d.startsWith('tasks/') || d.startsWith('train/') || d.startsWith('experiments/') || d.startsWith('cli/'))).toEqual([]);
  // Kernels work on typed arrays: they do not import the tensor module (nor anything above them).
  expect(importers((f) => f.startsWith('kernels/'), (d) => !d.startsWith('kernels/') && !['dtype.ts', 'shape.ts', 'checks.ts'].includes(d))).toEqual([]);
  // The tape accumulates gradients with a kernel, not through an op.
  expect(importers((f) => f === 'autograd.ts', (d) => d.startsWith('ops/'))).toEqual([]);
  expect(importers((f) => f === 'tensor.ts' || f === 'storage.ts' || f === 'dtype.ts', (d) => !['dtype.ts', 'shape.ts', 'checks.ts', 'storage.ts'].includes(d))).toEqual([]);
});
