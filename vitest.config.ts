import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Temporal dev server and one template database for the whole run (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    // Two cores: files run one at a time, each with its own databases, task queue and workers.
    fileParallelism: false,
    pool: 'forks',
    // One process for every file, one after the other: each file paid about a second to import
    // the service, Temporal's native bridge and the test support again. Files still clean up
    // after themselves (databases, task queues, workers, listeners).
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests print what the service logs; keep the output readable.
    silent: 'passed-only',
  },
});
