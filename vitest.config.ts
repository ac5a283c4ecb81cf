import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests compile C with gcc and run the CLI as a subprocess: generous per-test time,
    // and no more parallel files than the machine's two cores can carry.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
