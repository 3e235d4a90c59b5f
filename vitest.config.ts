import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Property tests run many random cases; a generous per-test limit keeps slow CI machines green.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Recycled tensor storage is filled with NaN, so a kernel that leaves part of its output
    // unwritten fails the tests instead of passing on stale numbers (src/storage.ts).
    env: { METAGRAD_POOL_POISON: '1' },
  },
});
