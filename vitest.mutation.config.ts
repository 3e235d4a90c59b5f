import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The tests mutation testing runs: those that exercise the source directly. The CLI, worker-thread
// and README tests run the compiled build (which a mutant of src/ does not change), the browser
// tests drive Chromium, and the real Omniglot archives take minutes to decode; `npm test` runs
// them all. MUTATION_TESTS (comma-separated files or globs) narrows the run to the tests that
// matter for the module being mutated. The config is spread, not merged: vitest's mergeConfig
// concatenates arrays, which would add MUTATION_TESTS to the base's include instead of replacing it.
const only = process.env.MUTATION_TESTS?.split(',').filter((s) => s.length > 0);

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: only ?? base.test!.include,
    exclude: ['test/cli.*.test.ts', 'test/task-workers.test.ts', 'test/readme.test.ts', 'test/omniglot.test.ts', 'test/scripts.*.test.ts', 'test/docs.test.ts', 'test/imports.test.ts', 'test/bench.test.ts', 'test/package.test.ts', 'test/api-docs.test.ts', 'test/examples.test.ts', 'test/demo.test.ts', 'test/browser-check.test.ts', '**/node_modules/**'],
  },
});
