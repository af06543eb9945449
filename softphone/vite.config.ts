import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The gateway serves dist/ at its origin root, so relative asset URLs work both
// there and from any sub-path a user may deploy to.
export default defineConfig({
  base: './',
  plugins: [vue()],
  define: {
    // Composition API only: drop the Options API, devtools and the i18n legacy API.
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
  },
  build: {
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` against a running gateway: proxy the API and the WebSocket.
    proxy: {
      '/api': { target: 'https://127.0.0.1:8443', secure: false },
      '/ws': { target: 'wss://127.0.0.1:8443', ws: true, secure: false },
    },
  },
});
