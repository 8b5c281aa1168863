import { defineConfig } from 'vitest/config';

// Integration suites share one Redis (each file uses its own key prefix) and spawn
// processes; two workers keep a 2-core machine responsive.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'providers/**/*.test.ts', 'test/**/*.test.ts'],
    // The shared Redis: REDIS_URL, else a container when a Docker engine answers, else 127.0.0.1:6379.
    globalSetup: ['test/helpers/global-redis.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
