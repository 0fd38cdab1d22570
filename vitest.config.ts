import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30000,
    hookTimeout: 30000,
    pool: 'forks',
    // Two files at a time: most tests wait on sockets, timers and child processes, so a 2-core
    // machine runs the suite in about two thirds of the time (vitest's default is one fewer than
    // the cores: one file at a time here).
    maxWorkers: 2,
  },
});
