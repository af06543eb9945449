import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = join(HERE, '..', '..', '..');
export const SCREENSHOTS = join(REPO, 'test', 'artifacts', 'screenshots');
const DIST = join(REPO, 'softphone', 'dist');

/** Full-page PNG under test/artifacts/screenshots/; returns its path and size. */
export async function screenshot(
  page: Page,
  name: string,
): Promise<{ file: string; size: number }> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return { file, size: statSync(file).size };
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * The gateway serves softphone/dist. Build it when it is missing (or when
 * E2E_BUILD=1); when the sources are newer than the build, say so.
 */
export function ensureSoftphoneBuilt(): void {
  const index = join(DIST, 'index.html');
  if (!existsSync(index) || process.env.E2E_BUILD === '1') {
    execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], {
      cwd: join(REPO, 'softphone'),
      stdio: 'inherit',
      timeout: 180_000,
    });
    return;
  }
  const src = newest(join(REPO, 'softphone', 'src'));
  if (src > statSync(index).mtimeMs) {
    process.stderr.write(
      '[e2e] softphone/src is newer than softphone/dist: testing the last build (E2E_BUILD=1 rebuilds first)\n',
    );
  }
}

const slug = (s: string) =>
  s
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 48);

/** Screenshot taken when a test fails: failed-<file>-<test>[-<who>].png. */
export function failureShot(page: Page, file: string, test: string, who = ''): Promise<unknown> {
  return screenshot(page, `failed-${file}-${slug(test)}${who ? `-${who}` : ''}`).catch(
    () => undefined,
  );
}

/** A test file removes its own old failure screenshots when it starts, so what is there is from the last run. */
export function clearFailureShots(file: string): void {
  if (!existsSync(SCREENSHOTS)) return;
  for (const f of readdirSync(SCREENSHOTS)) {
    if (f.startsWith(`failed-${file}-`)) rmSync(join(SCREENSHOTS, f), { force: true });
  }
}
