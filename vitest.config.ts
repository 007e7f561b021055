import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Temporal dev server and one template database for the whole run (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    // Two cores: files run one at a time, each with its own databases, task queue and workers.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests print what the service logs; keep the output readable.
    silent: 'passed-only',
  },
});
