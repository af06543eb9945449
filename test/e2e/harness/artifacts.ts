import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
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

/**
 * Newest modification time under `path` (a file or a folder, recursively; a
 * folder's own time changes when a file is added or removed); 0 if missing.
 */
function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs;
  for (const e of readdirSync(path)) t = Math.max(t, newest(join(path, e)));
  return t;
}

/** What the softphone build is made from (a change to any of them makes softphone/dist stale). */
const SOFTPHONE_INPUTS = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json'].map(
  (p) => join(REPO, 'softphone', p),
);

/** Why softphone/dist must be (re)built, or '' when it is up to date. */
export function softphoneBuildReason(): string {
  const index = join(DIST, 'index.html');
  if (!existsSync(index)) return 'softphone/dist is missing';
  const built = statSync(index).mtimeMs;
  // E2E_BUILD=1: once per test process (files of one run share a build)
  if (process.env.E2E_BUILD === '1' && built < Date.now() - process.uptime() * 1000) {
    return 'E2E_BUILD=1';
  }
  const stale = SOFTPHONE_INPUTS.filter((p) => newest(p) > built);
  return stale.length
    ? `newer than softphone/dist: ${stale.map((p) => p.slice(REPO.length + 1)).join(', ')}`
    : '';
}

const BUILD_LOCK = join(tmpdir(), 'e2e-softphone-build.lock');

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Hold a cross-process lock (a folder made atomically) while `fn` runs; a dead holder's lock is taken over. */
function withBuildLock(fn: () => void, timeoutMs = 240_000): void {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      writeFileSync(join(BUILD_LOCK, 'pid'), String(process.pid));
      break;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(join(BUILD_LOCK, 'pid'), 'utf8'));
      } catch {
        // being made or removed right now
      }
      let alive = false;
      try {
        if (holder) process.kill(holder, 0);
        alive = holder > 0;
      } catch {
        alive = false;
      }
      if (holder && !alive) rmSync(BUILD_LOCK, { recursive: true, force: true });
      else if (Date.now() > end) {
        throw new Error(`[e2e] waited ${timeoutMs} ms for another softphone build (${BUILD_LOCK})`);
      } else sleepSync(200);
    }
  }
  try {
    fn();
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

/**
 * The gateway serves softphone/dist: build it when it is missing, when any of
 * its sources is newer than the build, or when E2E_BUILD=1, so an e2e run never
 * tests an old build. A failed build fails the test file with vite's output.
 * Test files that start together build once (a lock, then a second look).
 */
export function ensureSoftphoneBuilt(): void {
  if (!softphoneBuildReason()) return;
  withBuildLock(() => {
    const reason = softphoneBuildReason();
    if (!reason) return; // another file built it meanwhile
    process.stderr.write(`[e2e] building the softphone (${reason})\n`);
    try {
      execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], {
        cwd: join(REPO, 'softphone'),
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 180_000,
      });
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
      throw new Error(
        `[e2e] softphone build failed (${reason}); e2e tests will not run against an old build:\n` +
          `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? e.message}`,
      );
    }
    if (process.env.E2E_BUILD !== '1' && softphoneBuildReason()) {
      throw new Error(
        `[e2e] softphone/dist is still stale after a build: ${softphoneBuildReason()}`,
      );
    }
  });
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
