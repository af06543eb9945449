import { buildSync } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

// Serves a bare SIP.js client (bare/client.ts) from the gateway's own origin
// (so its WebSocket passes the origin check) by routing one URL in the page.

const HERE = dirname(fileURLToPath(import.meta.url));
export const BARE_PATH = '/__e2e_bare';

let bundle: string | undefined;
export function bareBundle(): string {
  if (!bundle) {
    const out = buildSync({
      entryPoints: [join(HERE, 'bare', 'client.ts')],
      bundle: true,
      minify: true,
      format: 'iife',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    bundle = out.outputFiles[0]!.text;
  }
  return bundle;
}

/**
 * Open the bare SIP.js client on `baseUrl`; `window.bare` is the client.
 * The document must come from the gateway itself: a page fulfilled by
 * Playwright's router has no address space, and Chromium's Local Network Access
 * checks then block its WebSocket to 127.0.0.1. So load a real (404) page of the
 * gateway and add the script to it.
 */
export async function openBarePhone(page: Page, baseUrl: string): Promise<void> {
  await page.goto(new URL(BARE_PATH, baseUrl).toString());
  await page.evaluate(() => {
    document.documentElement.innerHTML = '<head><title>bare SIP.js</title></head><body></body>';
  });
  await page.addScriptTag({ content: bareBundle() });
  await page.waitForFunction(() => 'bare' in window);
}
