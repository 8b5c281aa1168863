import { defineConfig } from 'vitest/config';

// Integration suites share one Redis (each file uses its own key prefix) and spawn
// processes; two workers keep a 2-core machine responsive.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'providers/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
