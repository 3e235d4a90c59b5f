import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Property tests run many random cases; a generous per-test limit keeps slow CI machines green.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
