import { defineProject } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

// One project of the root vitest.config.ts (its root is this folder): component
// and store tests in happy-dom.
export default defineProject({
  plugins: [vue()],
  test: {
    name: 'softphone',
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/test-setup.ts'],
    restoreMocks: true,
  },
});
