import { defineConfig } from 'vitest/config';

// Three projects so `npm test` can run them in order: unit tests are fast and
// fake at most a boundary; integration and e2e start the real stack.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'gateway-unit',
          root: './gateway',
          include: ['src/**/*.test.ts'],
          environment: 'node',
        },
      },
      './softphone/vitest.config.ts',
      {
        test: {
          name: 'integration',
          root: './test',
          include: ['integration/**/*.test.ts'],
          environment: 'node',
          // One real stack per file on its own ports; files run one after the other
          // so two Kamailio instances never compete for the 2 CI cores.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          root: './test',
          include: ['e2e/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
