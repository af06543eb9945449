import { defineConfig } from 'vitest/config';

// The real-stack calltest tests on their own (inside a loopback-only namespace):
//   unshare -n -- sh -c 'ip link set lo up && exec npx vitest run --config test/calltest/vitest.config.ts'
export default defineConfig({
  test: {
    name: 'calltest-stack',
    root: import.meta.dirname,
    include: ['*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 150_000,
    hookTimeout: 60_000,
  },
});
