import { defineConfig, type Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';

/**
 * The telephony core (src/phone, with SIP.js) is a lazy chunk so the first
 * render does not wait for it, but every sign-in does: <link rel="modulepreload">
 * lets the browser fetch and compile it while the main chunk runs.
 */
function preloadCore(): Plugin {
  return {
    name: 'softphone-preload-core',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        // By module, not facade: a core chunk that lazily loads parts of its own
        // (presence publishing, the supervisor's client) has no facade module.
        const chunk = Object.values(ctx.bundle ?? {}).find(
          (c) =>
            c.type === 'chunk' &&
            c.isDynamicEntry &&
            c.moduleIds.some((id) => /\/src\/phone\/index\.ts$/.test(id)),
        );
        return chunk
          ? [
              {
                tag: 'link',
                attrs: { rel: 'modulepreload', crossorigin: '', href: `./${chunk.fileName}` },
                injectTo: 'head',
              },
            ]
          : [];
      },
    },
  };
}

// The gateway serves dist/ at its origin root, so relative asset URLs work both
// there and from any sub-path a user may deploy to.
export default defineConfig({
  base: './',
  plugins: [vue(), preloadCore()],
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
