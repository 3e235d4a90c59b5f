import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The tests mutation testing runs: those that exercise the source directly. The CLI, worker-thread
// and README tests run the compiled build (which a mutant of src/ does not change), and the real
// Omniglot archives take minutes to decode; `npm test` runs them all. MUTATION_TESTS (comma-separated
// files or globs) narrows the run to the tests that matter for the module being mutated.
const only = process.env.MUTATION_TESTS?.split(',').filter((s) => s.length > 0);

export default mergeConfig(
  base,
  defineConfig({
    test: {
      ...(only === undefined ? {} : { include: only }),
      exclude: ['test/cli.*.test.ts', 'test/task-workers.test.ts', 'test/readme.test.ts', 'test/omniglot.test.ts', 'test/scripts.*.test.ts', 'test/docs.test.ts', 'test/imports.test.ts', 'test/bench.test.ts', 'test/package.test.ts', 'test/api-docs.test.ts', 'test/examples.test.ts', 'test/demo.test.ts', 'test/browser-check.test.ts', '**/node_modules/**'],
    },
  }),
);
