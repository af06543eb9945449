import { defineConfig } from 'vitest/config';

// Projects run in groups, lowest `sequence.groupOrder` first, and the next group
// starts only when the one before has finished (test/README.md "Order and
// isolation"):
//   0  unit tests (gateway, softphone, calltest): in parallel, no real stack
//   1  integration (test/integration): real Kamailio/rtpengine/sipp, one file at a time
//   2  calltest-stack (test/calltest): real stack, one file at a time
//   3  e2e (test/e2e): real stack + Chromium, one file at a time
//   4  cluster (test/cluster): several hosts in network namespaces, one file at a time
// Vitest 3 shares one worker pool across projects and ignores a project's own
// `fileParallelism`/`maxWorkers`; `poolOptions.forks.singleFork` is what a
// project can set: all its files run one after the other in one worker. Every
// real-stack file also has its own port block, so files never share a port even
// if they do run at once. Keep group numbers single digits: Vitest sorts them
// as strings.
const GROUP = { unit: 0, integration: 1, calltestStack: 2, e2e: 3, cluster: 4 } as const;
const ONE_FILE_AT_A_TIME = { forks: { singleFork: true } };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'gateway-unit',
          root: './gateway',
          include: ['src/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: GROUP.unit },
        },
      },
      // group 0 by default (its own config sets no groupOrder)
      './softphone/vitest.config.ts',
      {
        test: {
          name: 'calltest-unit',
          root: '.',
          include: ['calltest/src/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: GROUP.unit },
        },
      },
      {
        test: {
          name: 'integration',
          root: './test',
          // callcontrol*.test.ts and contactcenter*.test.ts included (bases 18000-18750)
          include: ['integration/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: GROUP.integration },
          poolOptions: ONE_FILE_AT_A_TIME,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'calltest-stack',
          root: './test',
          include: ['calltest/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: GROUP.calltestStack },
          poolOptions: ONE_FILE_AT_A_TIME,
          // a scenario run (sipp, baresip or Chromium legs plus a capture) takes up to ~2 min
          testTimeout: 150_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          root: './test',
          include: ['e2e/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: GROUP.e2e },
          poolOptions: ONE_FILE_AT_A_TIME,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'cluster',
          root: './test',
          include: ['cluster/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: GROUP.cluster },
          poolOptions: ONE_FILE_AT_A_TIME,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
