import { defineConfig } from 'vitest/config';

// Test files start their own MariaDB servers; run files in parallel processes but keep each
// file's tests sequential (they share that file's servers).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
  },
});
