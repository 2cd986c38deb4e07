import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two files at a time, one per core. Every suite has its own store (a fresh SQLite file or its
    // own PostgreSQL schema, test/support/stores.ts), its own ports and its own data directory, so
    // files do not see each other; much of a file's time is waiting on timers and the network
    // simulator, which the other file fills. Measured on the 2-core CI machine: the files' summed
    // time 1,034 s, the run 694 s.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
