import { defineConfig } from 'vitest/config';

// Run alone with `npx vitest run --root calltest`; the root config has the same
// project as `calltest-unit`.
export default defineConfig({
  test: {
    name: 'calltest-unit',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
