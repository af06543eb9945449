// `npx tsx test/bench/softphone.ts` inside `unshare -n` (see test/README.md):
// the built softphone in real Chromium against a real gateway stack.
//
//  1. first-load weight: JS/CSS/HTML the first page load requests from
//     softphone/dist (CDP Network events), raw and gzip (zlib level 9 of each
//     requested file), then what signing in adds;
//  2. page open → registered and click → registered (median of N), against a
//     bare SIP.js UserAgent in the same browser and stack;
//  3. click-to-call → 180 Ringing (callee: baresip as 1004), softphone vs bare SIP.js;
//  4. answer → first remote audio (baresip calls the browser; first inbound-rtp
//     packet with audioLevel > 0 after the answer click), softphone vs bare SIP.js;
//  5. JS heap with one call up (CDP Performance.getMetrics after a GC).
// Results: test/bench/results/softphone.json and softphone.md. Every wait is bounded.
import { mkdirSync, writeFileSync, readFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { gzipSync } from 'node:zlib';
import { dirname, join, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { startE2eStack, BENCH_PORTS, type E2eStack } from '../e2e/harness/stack.js';
import { launchSoftphoneBrowser } from '../e2e/harness/browser.js';
import { bareBundle, openBarePhone } from '../e2e/harness/bare.js';
import { Baresip } from '../e2e/harness/baresip.js';
import { ensureSoftphoneBuilt, REPO } from '../e2e/harness/artifacts.js';
import { INSTRUMENT_PCS, NAME_SHIM, waitLinesReleased } from '../e2e/harness/softphone.js';
import { BENCH_INIT, marks, median, resetMarks, watchAudio } from './softphone/instrument.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const DIST = join(REPO, 'softphone', 'dist');
const N = Number(process.env.BENCH_RUNS ?? 7);
/** The bare SIP.js page's own HTTPS server (the benchmark's block, 23000-24999). */
const BARE_PAGE_PORT = 24444;
const AIMS = {
  firstLoadGzipKB: 150,
  registeredMs: 250,
  answerToAudioMs: 300,
  /** Issue "Contact center I": click → registered ≤ 1.2× bare SIP.js. */
  clickRatio: 1.2,
  /**
   * Same issue: page open → agent state shown ≤ 2× bare SIP.js. Compared with a
   * bare SIP.js page opened the same way (page open against page open): bare
   * SIP.js's own reopen is about 2× its `UserAgent.start()` → Registered, so
   * against that figure the aim would ask the agent desktop to cost no more
   * than a page holding nothing but SIP.js. Both ratios are printed.
   */
  reopenRatio: 2,
};

const log = (msg: string) => process.stdout.write(`[bench:softphone] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  values: number[];
  failures: string[];
}
const sample = (): Sample => ({ values: [], failures: [] });
const summary = (s: Sample) => ({
  runs: s.values.length + s.failures.length,
  ok: s.values.length,
  medianMs: round(median(s.values)),
  minMs: round(s.values.length ? Math.min(...s.values) : undefined),
  maxMs: round(s.values.length ? Math.max(...s.values) : undefined),
  valuesMs: s.values.map((v) => round(v)!),
  failures: [...new Set(s.failures)],
});
function round(v: number | undefined, d = 1): number | undefined {
  return v === undefined ? undefined : Math.round(v * 10 ** d) / 10 ** d;
}

// ---------------------------------------------------------------- page weight

interface Loaded {
  url: string;
  path: string;
  type: 'js' | 'css' | 'html' | 'other';
  transferred: number;
  raw?: number;
  gzip?: number;
}

function kindOf(path: string): Loaded['type'] {
  const e = extname(path);
  return e === '.js' || e === '.mjs'
    ? 'js'
    : e === '.css'
      ? 'css'
      : e === '.html' || path.endsWith('/')
        ? 'html'
        : 'other';
}

function distFile(path: string): string | undefined {
  const rel =
    path === '/' || path === '' ? 'index.html' : decodeURIComponent(path.replace(/^\//, ''));
  const f = join(DIST, rel);
  return f.startsWith(DIST) && existsSync(f) && statSync(f).isFile() ? f : undefined;
}

class NetLog {
  private byId = new Map<string, { url: string; len?: number }>();
  constructor(cdp: CDPSession) {
    cdp.on('Network.responseReceived', (e: { requestId: string; response: { url: string } }) => {
      this.byId.set(e.requestId, { url: e.response.url });
    });
    cdp.on('Network.loadingFinished', (e: { requestId: string; encodedDataLength: number }) => {
      const r = this.byId.get(e.requestId);
      if (r) r.len = e.encodedDataLength;
    });
  }
  /** Files of the gateway's origin requested so far (the API and WebSocket excluded). */
  files(origin: string): Loaded[] {
    const out = new Map<string, Loaded>();
    for (const { url, len } of this.byId.values()) {
      const u = new URL(url);
      if (u.origin !== origin || u.pathname.startsWith('/api/') || u.pathname === '/ws') continue;
      const f = distFile(u.pathname);
      const body = f ? readFileSync(f) : undefined;
      out.set(u.pathname, {
        url,
        path: u.pathname,
        type: kindOf(u.pathname),
        transferred: len ?? 0,
        raw: body?.length,
        gzip: body ? gzipSync(body, { level: 9 }).length : undefined,
      });
    }
    return [...out.values()].sort((a, b) => a.path.localeCompare(b.path));
  }
}

function totals(files: Loaded[]) {
  const t = {
    js: { raw: 0, gzip: 0 },
    css: { raw: 0, gzip: 0 },
    html: { raw: 0, gzip: 0 },
    other: { raw: 0, gzip: 0 },
    all: { raw: 0, gzip: 0, transferred: 0 },
  };
  for (const f of files) {
    t[f.type].raw += f.raw ?? 0;
    t[f.type].gzip += f.gzip ?? 0;
    t.all.raw += f.raw ?? 0;
    t.all.gzip += f.gzip ?? 0;
    t.all.transferred += f.transferred;
  }
  return t;
}

async function measureWeight(browser: Browser, base: string) {
  const ctx = await newContext(browser, base);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const net = new NetLog(cdp);
  await page.goto('/', { waitUntil: 'networkidle' });
  await page.locator('[data-testid="login-demo-1001"]').waitFor({ timeout: 15_000 });
  await sleep(1500); // idle-time prefetches (requestIdleCallback) count as first load too
  const firstLoad = net.files(new URL(base).origin);
  await page.locator('[data-testid="login-demo-1001"]').click();
  await page
    .locator('[data-testid="registration-status"][data-state="registered"]')
    .waitFor({ timeout: 15_000 });
  await sleep(1000);
  const throughRegistration = net.files(new URL(base).origin);
  await ctx.close();
  const allDist = listDist();
  const bare = Buffer.from(bareBundle());
  return {
    firstLoad: { files: firstLoad, totals: totals(firstLoad) },
    addedBySignIn: throughRegistration.filter((f) => !firstLoad.some((x) => x.path === f.path)),
    throughRegistration: { totals: totals(throughRegistration) },
    wholeDist: { files: allDist.length, ...totals(allDist).all },
    bareSipJsBundle: {
      raw: bare.length,
      gzip: gzipSync(bare, { level: 9 }).length,
      note: 'sip.js 0.21.2 + a 150-line client, esbuild --minify (test/e2e/harness/bare/client.ts)',
    },
  };
}

function listDist(): Loaded[] {
  const out: Loaded[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSafe(dir)) {
      const f = join(dir, name);
      if (statSync(f).isDirectory()) walk(f, `${prefix}${name}/`);
      else {
        const body = readFileSync(f);
        out.push({
          url: '',
          path: `/${prefix}${name}`,
          type: kindOf(name),
          transferred: 0,
          raw: body.length,
          gzip: gzipSync(body, { level: 9 }).length,
        });
      }
    }
  };
  walk(DIST, '');
  return out;
}
function readdirSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------- timings

async function newContext(browser: Browser, base: string): Promise<BrowserContext> {
  const ctx = await browser.newContext({
    ignoreHTTPSErrors: true,
    permissions: ['microphone', 'camera', 'notifications'],
    baseURL: base,
  });
  await ctx.addInitScript(NAME_SHIM);
  await ctx.addInitScript(INSTRUMENT_PCS);
  await ctx.addInitScript(BENCH_INIT);
  return ctx;
}

/** The app's own User Timing marks (`softphone:<phase>`, stores/account.ts), ms since navigation start. */
async function appMarks(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() =>
    Object.fromEntries(
      performance
        .getEntriesByType('mark')
        .filter((m) => m.name.startsWith('softphone:'))
        .map((m) => [m.name.slice('softphone:'.length), m.startTime]),
    ),
  );
}

/** Phase → values (ms since the previous phase), for the "where the time goes" table. */
const phases: Record<string, Record<string, number[]>> = {};
function addPhases(
  figure: string,
  start: number,
  m: Record<string, number>,
  order: string[],
): void {
  const out = (phases[figure] ??= {});
  let prev = start;
  // In the order they happened (work that runs in parallel may finish in either order).
  const seen = order.filter((n) => m[n] !== undefined).sort((a, b) => m[a]! - m[b]!);
  for (const name of seen) {
    const at = m[name]!;
    (out[name] ??= []).push(at - prev);
    prev = at;
  }
}

// BENCH_PROFILE=1: the last click → registered run and the last agent
// desktop reopen are CPU-profiled (CDP Profiler, 100 µs sampling; the reopen's
// profile spans the reload, the renderer keeps its isolate); each profile is
// written next to the results (open it in DevTools' Performance panel) and its
// top self-time functions printed. It answers "what does the main thread do
// while the sign-in waits?".
const PROFILE = process.env.BENCH_PROFILE === '1';

async function startProfile(ctx: BrowserContext, page: Page): Promise<CDPSession> {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  return cdp;
}

async function stopProfile(cdp: CDPSession, name: string, what: string): Promise<void> {
  const { profile: p } = await cdp.send('Profiler.stop');
  await cdp.detach().catch(() => undefined);
  const file = join(RESULTS, `${name}.cpuprofile`);
  writeFileSync(file, JSON.stringify(p));
  log(`  CPU profile of ${what}: ${file}; top self time:`);
  for (const t of topSelfTime(p as Parameters<typeof topSelfTime>[0]))
    log(`    ${t.ms.toFixed(1).padStart(6)} ms  ${t.fn}`);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
function topSelfTime(profile: {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}): { fn: string; ms: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  (profile.samples ?? []).forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    if (!f) return;
    const where = f.url ? ` ${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas?.[i] ?? 0) / 1000);
  });
  return [...self.entries()]
    .map(([fn, ms]) => ({ fn, ms: Math.round(ms * 10) / 10 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 25);
}

async function softphoneRegistration(
  browser: Browser,
  base: string,
  user: string,
  profile = false,
): Promise<{ openToRegistered: number; clickToRegistered: number }> {
  const ctx = await newContext(browser, base);
  try {
    const page = await ctx.newPage();
    await page.goto('/');
    const btn = page.locator(`[data-testid="login-demo-${user}"]`);
    const cdp = profile ? await startProfile(ctx, page) : undefined;
    await btn.click({ timeout: 15_000 });
    await page
      .locator('[data-testid="registration-status"][data-state="registered"]')
      .waitFor({ timeout: 15_000 });
    if (cdp) await stopProfile(cdp, 'softphone-signin', 'click → registered');
    const m = await marks(page);
    const reg = m['registration:registered'];
    const click = m[`click:login-demo-${user}`];
    if (reg === undefined || click === undefined)
      throw new Error(`stamps missing: ${JSON.stringify(m)}`);
    const app = await appMarks(page);
    addPhases('click → registered', click, { ...app, badge: reg }, [
      'signin',
      'core-ready',
      'phone-created',
      'connected',
      'registered',
      'badge',
    ]);
    return { openToRegistered: reg, clickToRegistered: reg - click };
  } finally {
    await ctx.close();
  }
}

// An agent's desktop after a crash or at the start of a shift: the page is
// reloaded with automatic sign-in on (the demo agent's one click earlier),
// on #/agent. Navigation start → badge "registered", → Agent view shown, and
// → the agent state pushed by the gateway's event stream rendered.
const AGENT_MARKS = () => {
  const w = window as unknown as { __agent?: Record<string, number> };
  w.__agent = {};
  const check = () => {
    const a = w.__agent!;
    if (a.view === undefined && document.querySelector('[data-testid="agent-view"]'))
      a.view = performance.now();
    const st = document.querySelector('[data-testid="agent-state"]')?.getAttribute('data-state');
    if (a.state === undefined && st) a.state = performance.now();
  };
  const start = () =>
    new MutationObserver(check).observe(document.documentElement, {
      subtree: true,
      childList: true,
      attributes: true,
    });
  if (document.documentElement) start();
  else document.addEventListener('DOMContentLoaded', start);
};

interface AgentReopen {
  toRegistered: number;
  toAgentView?: number;
  toAgentState?: number;
  agentStatus: string;
}

async function agentReopenSession(
  browser: Browser,
  base: string,
  user: string,
): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await newContext(browser, base);
  await ctx.addInitScript(AGENT_MARKS);
  const page = await ctx.newPage();
  await page.goto('/');
  await page.locator(`[data-testid="login-demo-${user}"]`).click({ timeout: 15_000 });
  await page
    .locator('[data-testid="registration-status"][data-state="registered"]')
    .waitFor({ timeout: 15_000 });
  // An agent lands on #/agent; give the agent sign-in a moment either way.
  await page
    .locator('[data-testid="agent-state"]')
    .waitFor({ timeout: 5000 })
    .catch(() => undefined);
  return { ctx, page };
}

async function agentReopen(page: Page, profile = false): Promise<AgentReopen> {
  const cdp = profile ? await startProfile(page.context(), page) : undefined;
  await page.reload();
  await page
    .locator('[data-testid="registration-status"][data-state="registered"]')
    .waitFor({ timeout: 15_000 });
  const shown = await page
    .locator('[data-testid="agent-state"]')
    .waitFor({ timeout: 5000 })
    .then(() => true)
    .catch(() => false);
  if (cdp) await stopProfile(cdp, 'softphone-reopen', 'agent desktop reopen → agent state');
  const m = await marks(page);
  const a = await page.evaluate(
    () => (window as unknown as { __agent?: Record<string, number> }).__agent ?? {},
  );
  const app = await appMarks(page);
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const configFetches = performance
      .getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/client-config')).length;
    return {
      configFetches,
      html: n.responseEnd,
      'old-page-unloaded': n.unloadEventEnd,
      'dom-interactive': n.domInteractive,
    };
  });
  // The preloaded config must be the one the app uses (one request, not two).
  if (nav.configFetches !== 1) log(`  client-config requested ${nav.configFetches} times`);
  addPhases('reopen → agent state shown', 0, { ...nav, ...app, shown: a.state! }, [
    'html',
    'old-page-unloaded',
    'dom-interactive',
    'init',
    'secret',
    'client-config',
    'signin',
    'phone-created',
    'agent-signin',
    'agent-state',
    'agent-token',
    'shown',
  ]);
  addPhases('reopen → registered', 0, { ...app, badge: m['registration:registered']! }, [
    'init',
    'secret',
    'client-config',
    'signin',
    'core-ready',
    'phone-created',
    'connected',
    'registered',
    'badge',
  ]);
  return {
    toRegistered: m['registration:registered']!,
    toAgentView: a.view,
    toAgentState: shown ? a.state : undefined,
    agentStatus: shown ? 'agent' : 'no agent state shown (agent API missing or user not an agent)',
  };
}

async function bareRegistration(browser: Browser, base: string, user: string): Promise<number> {
  const ctx = await newContext(browser, base);
  try {
    const page = await ctx.newPage();
    await openBarePhone(page, base);
    const ms = await page.evaluate(
      ([u, p]) =>
        (
          window as unknown as { bare: { register(u: string, p: string): Promise<number> } }
        ).bare.register(u!, p!),
      [user, `demo-${user}-pw`],
    );
    await page
      .evaluate(() => (window as unknown as { bare: { stop(): Promise<void> } }).bare.stop())
      .catch(() => undefined);
    return ms;
  } finally {
    await ctx.close();
  }
}

/**
 * The like-for-like baseline of the agent desktop's reopen: a page whose only
 * script is the bare SIP.js client, registering as soon as it runs, reloaded
 * with a warm cache. Served by the bench itself (the gateway serves only the
 * softphone) with the same caching as the softphone: the HTML revalidated on
 * every load, the script immutable. Its cert is the gateway's own.
 */
async function startBarePageServer(stack: E2eStack, port: number): Promise<Server> {
  const tls = join(stack.dataDir, 'tls');
  const ws = `wss://127.0.0.1:${stack.ports.http}/ws`;
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>bare SIP.js</title></head><body>
<script src="bare.js"></script>
<script>const q = new URLSearchParams(location.hash.slice(1));
bare.register(q.get('u'), q.get('p'), 'localhost', ${JSON.stringify(ws)}).catch((e) => { bare.t.failed = String(e); });</script>
</body></html>`;
  const js = bareBundle();
  const server = createServer(
    { cert: readFileSync(join(tls, 'cert.pem')), key: readFileSync(join(tls, 'key.pem')) },
    (req, res) => {
      if (req.url === '/bare.js') {
        res.writeHead(200, {
          'Content-Type': 'text/javascript',
          'Cache-Control': 'public, max-age=31536000, immutable',
        });
        res.end(js);
      } else {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-cache' });
        res.end(html);
      }
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

/** The bare page, opened once (its script cached); `bareReopen` reloads it. */
async function bareReopenSession(
  browser: Browser,
  pageUrl: string,
  user: string,
): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await newContext(browser, pageUrl);
  const page = await ctx.newPage();
  await page.goto(`${pageUrl}/#u=${user}&p=demo-${user}-pw`);
  await page.waitForFunction(() => (window as unknown as BareWindow).bare?.t.registered, null, {
    timeout: 15_000,
  });
  return { ctx, page };
}

type BareWindow = { bare?: { t: Record<string, number | string | undefined> } };

/** Reload → Registered, ms since the reload's navigation start (as the softphone's reopen). */
async function bareReopen(page: Page): Promise<number> {
  await page.reload();
  const t = await page.waitForFunction(
    () => {
      const b = (window as unknown as BareWindow).bare?.t;
      return b && (b.registered ?? b.failed);
    },
    null,
    { timeout: 15_000 },
  );
  const v = await t.jsonValue();
  if (typeof v !== 'number') throw new Error(`bare page: ${String(v)}`);
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const b = (window as unknown as BareWindow).bare!.t;
    return {
      html: n.responseEnd,
      'old-page-unloaded': n.unloadEventEnd,
      'dom-interactive': n.domInteractive,
      'register-start': Number(b.registerStart),
      registered: Number(b.registered),
    };
  });
  addPhases('bare SIP.js page reopened → Registered', 0, nav, [
    'html',
    'old-page-unloaded',
    'dom-interactive',
    'register-start',
    'registered',
  ]);
  return v;
}

/** A signed-in softphone page that stays open for the call measurements. */
async function softphoneSignedIn(
  browser: Browser,
  base: string,
  user: string,
): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await newContext(browser, base);
  const page = await ctx.newPage();
  await page.goto('/');
  await page.locator(`[data-testid="login-demo-${user}"]`).click({ timeout: 15_000 });
  await page
    .locator('[data-testid="registration-status"][data-state="registered"]')
    .waitFor({ timeout: 15_000 });
  return { ctx, page };
}

async function bareSignedIn(
  browser: Browser,
  base: string,
  user: string,
): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await newContext(browser, base);
  const page = await ctx.newPage();
  await openBarePhone(page, base);
  await page.evaluate(
    ([u, p]) =>
      (
        window as unknown as { bare: { register(u: string, p: string): Promise<number> } }
      ).bare.register(u!, p!),
    [user, `demo-${user}-pw`],
  );
  return { ctx, page };
}

async function callState(page: Page): Promise<string> {
  return (
    (await page
      .locator('[data-testid="call-state"]')
      .getAttribute('data-state', { timeout: 1000 })
      .catch(() => null)) ?? ''
  );
}

async function softphoneHangup(page: Page): Promise<void> {
  const b = page.locator('[data-testid="hangup-button"]');
  if (await b.isVisible().catch(() => false))
    await b.click({ timeout: 3000 }).catch(() => undefined);
  const d = page.locator('[data-testid="decline-button"]');
  if (await d.isVisible().catch(() => false))
    await d.click({ timeout: 3000 }).catch(() => undefined);
}

/** Tear-down: wait (bounded) until baresip reports the call closed; a slow close is not a result. */
async function baresipCallClosed(b: Baresip, since: number): Promise<void> {
  await b
    .waitEvent((e) => e.type === 'CALL_CLOSED', 'CALL_CLOSED', 8000, since)
    .catch(() => undefined);
}

/** Tear-down of the bare SIP.js page's call, whatever state it is in. */
async function bareHangup(page: Page): Promise<void> {
  await page
    .evaluate(() => (window as unknown as { bare: { hangup(): Promise<void> } }).bare.hangup())
    .catch(() => undefined);
}

async function clickToRinging(page: Page, callee: Baresip, target: string): Promise<number> {
  await resetMarks(page);
  await page.locator('[data-testid="nav-phone"]').click();
  await page.locator('[data-testid="dial-input"]').fill(target);
  const since = callee.events.length;
  await page.locator('[data-testid="call-button"]').click();
  try {
    await page
      .locator(
        '[data-testid="call-state"][data-state="ringing"], [data-testid="call-state"][data-state="early"]',
      )
      .waitFor({ timeout: 10_000 });
    const m = await marks(page);
    const ring = m['call:ringing'] ?? m['call:early'];
    const click = m['click:call-button'];
    if (ring === undefined || click === undefined)
      throw new Error(`stamps missing: ${JSON.stringify(m)}`);
    return ring - click;
  } catch (err) {
    throw new Error(
      `no ringing (call-state ${await callState(page)}): ${(err as Error).message.split('\n')[0]}`,
    );
  } finally {
    await softphoneHangup(page);
    await baresipCallClosed(callee, since);
    await waitLinesReleased(page);
    await sleep(300);
  }
}

async function bareClickToRinging(page: Page, callee: Baresip, target: string): Promise<number> {
  const since = callee.events.length;
  try {
    const r = await page.evaluate(
      (t) =>
        (
          window as unknown as {
            bare: { call(t: string): Promise<{ ringingMs?: number; status?: number }> };
          }
        ).bare.call(t),
      target,
    );
    if (r.ringingMs === undefined) throw new Error(`no 18x (final ${r.status})`);
    return r.ringingMs;
  } finally {
    await bareHangup(page);
    await baresipCallClosed(callee, since);
    await sleep(300);
  }
}

/** baresip calls the page's user; the page answers; ms from the answer click to the first remote audio. */
async function answerToAudio(
  page: Page,
  caller: Baresip,
  user: string,
  heap?: { cdp: CDPSession; out: HeapFigures[] },
): Promise<number> {
  await resetMarks(page);
  const since = caller.events.length;
  const r = await caller.command('dial', `sip:${user}@localhost`);
  if (!r.ok) throw new Error(`baresip dial: ${r.data}`);
  try {
    const answerBtn = page.locator('[data-testid="answer-button"]');
    await answerBtn.waitFor({ state: 'visible', timeout: 10_000 });
    await watchAudio(page);
    await answerBtn.click();
    await page
      .waitForFunction(
        () =>
          'audio' in
          (window as unknown as { __bench: { marks: Record<string, number> } }).__bench.marks,
        null,
        { timeout: 10_000 },
      )
      .catch(async () => {
        throw new Error(`no remote audio within 10 s (call-state ${await callState(page)})`);
      });
    const m = await marks(page);
    if (heap) heap.out.push(await heapFigures(heap.cdp, `softphone, ${await callState(page)}`));
    return m.audio! - m['click:answer-button']!;
  } finally {
    await softphoneHangup(page);
    await caller.command('hangup').catch(() => undefined);
    await baresipCallClosed(caller, since);
    await waitLinesReleased(page);
    await sleep(300);
  }
}

async function bareAnswerToAudio(
  page: Page,
  caller: Baresip,
  user: string,
  heap?: { cdp: CDPSession; out: HeapFigures[] },
): Promise<number> {
  await resetMarks(page);
  const since = caller.events.length;
  const r = await caller.command('dial', `sip:${user}@localhost`);
  if (!r.ok) throw new Error(`baresip dial: ${r.data}`);
  try {
    await page.waitForFunction(
      () =>
        (window as unknown as { bare: { t: Record<string, number> } }).bare.t.invite !==
          undefined &&
        (window as unknown as { bare: { incoming?: { state: string } } }).bare.incoming?.state ===
          'Initial',
      null,
      { timeout: 10_000 },
    );
    await watchAudio(page);
    const t0 = await page.evaluate(async () => {
      const b = (
        window as unknown as { bare: { answer(): Promise<void>; t: Record<string, number> } }
      ).bare;
      const t = performance.now();
      void b.answer();
      return t;
    });
    await page.waitForFunction(
      () =>
        'audio' in
        (window as unknown as { __bench: { marks: Record<string, number> } }).__bench.marks,
      null,
      { timeout: 10_000 },
    );
    const m = await marks(page);
    if (heap) heap.out.push(await heapFigures(heap.cdp, 'bare SIP.js, call up'));
    return m.audio! - t0;
  } finally {
    await bareHangup(page);
    await caller.command('hangup').catch(() => undefined);
    await baresipCallClosed(caller, since);
    await page.evaluate(() => {
      const b = (window as unknown as { bare: { t: Record<string, number>; incoming?: unknown } })
        .bare;
      delete b.t.invite;
      b.incoming = undefined;
    });
    await sleep(300);
  }
}

interface HeapFigures {
  what: string;
  jsHeapUsedMB: number;
  jsHeapTotalMB: number;
  nodes: number;
}

async function heapFigures(cdp: CDPSession, what: string): Promise<HeapFigures> {
  await cdp.send('HeapProfiler.collectGarbage').catch(() => undefined);
  const { metrics } = (await cdp.send('Performance.getMetrics')) as {
    metrics: { name: string; value: number }[];
  };
  const get = (n: string) => metrics.find((m) => m.name === n)?.value ?? 0;
  return {
    what,
    jsHeapUsedMB: round(get('JSHeapUsedSize') / 2 ** 20, 2)!,
    jsHeapTotalMB: round(get('JSHeapTotalSize') / 2 ** 20, 2)!,
    nodes: get('Nodes'),
  };
}

// ---------------------------------------------------------------- run

/** One run of `fn` into `s` (its value, or its failure), logged as `what #i`. */
async function measure(
  s: Sample,
  what: string,
  i: number,
  fn: () => Promise<number>,
): Promise<number | undefined> {
  try {
    const v = await fn();
    s.values.push(v);
    log(`  ${what} #${i + 1}: ${v.toFixed(1)} ms`);
    return v;
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0]!.slice(0, 300);
    s.failures.push(msg);
    log(`  ${what} #${i + 1}: FAILED ${msg}`);
    return undefined;
  }
}

const bareOnce = (s: Sample, i: number, browser: Browser, base: string) =>
  measure(s, 'bare SIP.js UA start→registered', i, () => bareRegistration(browser, base, '1002'));

/** Ratios of back-to-back runs (softphone / bare), whose median is steadier under drifting load. */
const paired: Record<string, number[]> = {};
function pair(what: string, a: number | undefined, b: number | undefined): void {
  if (a !== undefined && b) (paired[what] ??= []).push(a / b);
}

async function repeat(s: Sample, what: string, fn: () => Promise<number>): Promise<void> {
  for (let i = 0; i < N; i++) await measure(s, what, i, fn);
}

async function main(): Promise<void> {
  ensureSoftphoneBuilt();
  mkdirSync(RESULTS, { recursive: true });
  const started = new Date().toISOString();
  const stack: E2eStack = await startE2eStack(
    'bench-softphone',
    {
      log: { level: 'warn', kamailioDebug: -1 },
      // the bare SIP.js page's own origin (startBarePageServer)
      http: { port: BENCH_PORTS.http, allowedOrigins: [`https://127.0.0.1:${BARE_PAGE_PORT}`] },
    },
    BENCH_PORTS,
  );
  const base = stack.baseUrl;
  const sp = await launchSoftphoneBrowser({ toneHz: 1000, baseUrl: base });
  const browser = sp.browser;
  await sp.context.close();
  const peer = new Baresip({
    user: '1004',
    password: 'demo-1004-pw',
    proxy: stack.sipAddress,
    sipPort: BENCH_PORTS.endpoints + 10,
    ctrlPort: BENCH_PORTS.endpoints + 20,
    rtpPort: BENCH_PORTS.endpoints + 30,
    toneHz: 800,
  });
  const result: Record<string, unknown> = {
    started,
    runsPerFigure: N,
    chromium: browser.version(),
    aims: AIMS,
  };
  try {
    await peer.start();
    await peer.waitRegistered();

    log('first-load weight');
    const weight = await measureWeight(browser, base);
    result.weight = weight;
    log(
      `  first load: ${weight.firstLoad.files.length} files, ${(weight.firstLoad.totals.all.gzip / 1024).toFixed(1)} KB gzip (${(weight.firstLoad.totals.all.raw / 1024).toFixed(1)} KB raw)`,
    );

    log('registration');
    const open = sample();
    const click = sample();
    const bare = sample();
    for (let i = 0; i < N; i++) {
      let mine: number | undefined;
      try {
        const r = await softphoneRegistration(browser, base, '1001', PROFILE && i === N - 1);
        mine = r.clickToRegistered;
        open.values.push(r.openToRegistered);
        click.values.push(r.clickToRegistered);
        log(
          `  softphone #${i + 1}: open→registered ${r.openToRegistered.toFixed(1)} ms, click→registered ${r.clickToRegistered.toFixed(1)} ms`,
        );
      } catch (err) {
        open.failures.push((err as Error).message.split('\n')[0]!);
        click.failures.push((err as Error).message.split('\n')[0]!);
      }
      // Interleaved with the softphone's runs: on a shared machine the load
      // drifts, and a ratio of two figures taken minutes apart says little.
      pair('click → registered', mine, await bareOnce(bare, i, browser, base));
    }
    result.registration = {
      softphoneOpenToRegistered: summary(open),
      softphoneClickToRegistered: summary(click),
      bareSipJs: summary(bare),
    };

    log('agent desktop reopened (reload with automatic sign-in, demo agent 1003)');
    const reReg = sample();
    const reView = sample();
    const reState = sample();
    const notes = new Set<string>();
    const bare2 = sample();
    const barePage = sample();
    let lastReopen: AgentReopen | undefined;
    const ag = await agentReopenSession(browser, base, '1003');
    const barePageServer = await startBarePageServer(stack, BARE_PAGE_PORT);
    const bp = await bareReopenSession(browser, `https://127.0.0.1:${BARE_PAGE_PORT}`, '1002');
    try {
      for (let k = 0; k < N; k++) {
        try {
          const r = await agentReopen(ag.page, PROFILE && k === N - 1);
          lastReopen = r;
          reReg.values.push(r.toRegistered);
          if (r.toAgentView !== undefined) reView.values.push(r.toAgentView);
          if (r.toAgentState !== undefined) reState.values.push(r.toAgentState);
          else notes.add(r.agentStatus);
          log(
            `  reopen #${k + 1}: →registered ${r.toRegistered.toFixed(1)} ms, →agent view ${r.toAgentView?.toFixed(1) ?? '—'} ms, →agent state ${r.toAgentState?.toFixed(1) ?? '—'} ms`,
          );
        } catch (err) {
          reReg.failures.push((err as Error).message.split('\n')[0]!);
        }
        const b = await bareOnce(bare2, k, browser, base);
        pair('reopen → registered', lastReopen?.toRegistered, b);
        pair('reopen → agent state shown', lastReopen?.toAgentState, b);
        const pageB = await measure(barePage, 'bare SIP.js page reopened → Registered', k, () =>
          bareReopen(bp.page),
        );
        pair('reopen → agent state shown vs bare page reopened', lastReopen?.toAgentState, pageB);
        lastReopen = undefined;
      }
    } finally {
      await ag.ctx.close();
      await bp.ctx.close();
      barePageServer.close();
    }
    result.agentReopen = {
      toRegistered: summary(reReg),
      toAgentView: summary(reView),
      toAgentState: summary(reState),
      bareSipJs: summary(bare2),
      bareSipJsPageReopened: summary(barePage),
      notes: [...notes],
    };
    result.pairedRatios = Object.fromEntries(
      Object.entries(paired).map(([k, v]) => [k, round(median(v), 2)]),
    );
    result.phases = Object.fromEntries(
      Object.entries(phases).map(([fig, p]) => [
        fig,
        Object.fromEntries(Object.entries(p).map(([k, v]) => [k, round(median(v))])),
      ]),
    );

    log('click-to-call → 180 Ringing (callee baresip 1004)');
    const ring = sample();
    const bareRing = sample();
    const s1 = await softphoneSignedIn(browser, base, '1001');
    await repeat(ring, 'softphone click→ringing', () => clickToRinging(s1.page, peer, '1004'));
    const b1 = await bareSignedIn(browser, base, '1002');
    await repeat(bareRing, 'bare SIP.js invite→18x', () =>
      bareClickToRinging(b1.page, peer, '1004'),
    );
    result.clickToRinging = { softphone: summary(ring), bareSipJs: summary(bareRing) };

    log('answer → first remote audio (caller baresip 1004)');
    const ans = sample();
    const bareAns = sample();
    const heaps: HeapFigures[] = [];
    const cdp1 = await s1.ctx.newCDPSession(s1.page);
    await cdp1.send('Performance.enable');
    heaps.push(await heapFigures(cdp1, 'softphone, registered, idle'));
    let i = 0;
    await repeat(ans, 'softphone answer→audio', () =>
      answerToAudio(s1.page, peer, '1001', i++ === 0 ? { cdp: cdp1, out: heaps } : undefined),
    );
    const cdp2 = await b1.ctx.newCDPSession(b1.page);
    await cdp2.send('Performance.enable');
    heaps.push(await heapFigures(cdp2, 'bare SIP.js, registered, idle'));
    let j = 0;
    await repeat(bareAns, 'bare SIP.js answer→audio', () =>
      bareAnswerToAudio(b1.page, peer, '1002', j++ === 0 ? { cdp: cdp2, out: heaps } : undefined),
    );
    result.answerToAudio = { softphone: summary(ans), bareSipJs: summary(bareAns) };
    result.memory = heaps;
    await s1.ctx.close();
    await b1.ctx.close();
  } finally {
    await peer.stop();
    await browser.close();
    await stack.stop();
  }
  result.finished = new Date().toISOString();
  writeFileSync(join(RESULTS, 'softphone.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(RESULTS, 'softphone.md'), markdown(result));
  log(`wrote ${join(RESULTS, 'softphone.json')} and softphone.md`);
}

// ---------------------------------------------------------------- report

const BROWSER_PHONE = {
  source:
    'github.com/InnovateAsterisk/Browser-Phone, Phone/index.html at commit 00c1c699 (read through the search tool)',
  published: 'no first-load size is published (README, issues and pages searched)',
  known:
    'index.html loads phone.js unminified: 660,078 characters at that commit (phone.min.js: 343,017), plus from their CDN jQuery 3.6.1, jQuery UI 1.13.2, SIP.js 0.20.0, Chart.js 2.7.2, Fabric 2.4.6, Moment-with-locales 2.24.0, Croppie 2.6.4, Strophe 1.4.1, jquery.md5 and 5 stylesheets (normalize, Roboto, Font Awesome, jQuery UI, Croppie) and language JSON',
};

function kb(b: number | undefined): string {
  return b === undefined ? '—' : `${(b / 1024).toFixed(1)} KB`;
}
function ms(v: number | undefined): string {
  return v === undefined ? 'not measured' : `${v.toFixed(0)} ms`;
}
function ratioVerdict(v: number | undefined, aim: number): string {
  return v === undefined ? 'not measured' : v <= aim ? `meets (≤ ${aim}×)` : `misses (> ${aim}×)`;
}

function verdict(v: number | undefined, aim: number): string {
  return v === undefined ? 'not measured' : v < aim ? `meets (< ${aim})` : `misses (≥ ${aim})`;
}

function markdown(r: Record<string, unknown>): string {
  type S = ReturnType<typeof summary>;
  const w = r.weight as Awaited<ReturnType<typeof measureWeight>> | undefined;
  const reg = r.registration as
    { softphoneOpenToRegistered: S; softphoneClickToRegistered: S; bareSipJs: S } | undefined;
  const ring = r.clickToRinging as { softphone: S; bareSipJs: S } | undefined;
  const re = r.agentReopen as
    | {
        toRegistered: S;
        toAgentView: S;
        toAgentState: S;
        bareSipJs?: S;
        bareSipJsPageReopened?: S;
        notes: string[];
      }
    | undefined;
  const reBare = re?.bareSipJs ?? reg?.bareSipJs;
  const ph = (r.phases as Record<string, Record<string, number>> | undefined) ?? {};
  const pr = (r.pairedRatios as Record<string, number> | undefined) ?? {};
  const ans = r.answerToAudio as { softphone: S; bareSipJs: S } | undefined;
  const mem = (r.memory as HeapFigures[] | undefined) ?? [];
  const ratio = (a?: number, b?: number) => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : '—');
  const range = (s?: S) => (s && s.ok ? ` (${s.minMs}–${s.maxMs})` : '');
  const fails = (s?: S) =>
    s && s.failures.length
      ? ` (${s.failures.length} of ${s.runs} failed: ${s.failures.join('; ')})`
      : '';
  const t = w?.firstLoad.totals;
  const lines = [
    '# Softphone benchmark',
    '',
    `Run ${r.started} → ${r.finished}, Chromium ${r.chromium}, ${r.runsPerFigure} runs per timing (median shown), real gateway stack`,
    '(Kamailio, rtpengine, coturn) on loopback inside `unshare -n`, 2 cores. `npx tsx test/bench/softphone.ts`; raw numbers in `softphone.json`.',
    '',
    '## Aims',
    '',
    '| figure | measured | aim | |',
    '|---|---|---|---|',
    `| first load, gzip (JS+CSS+HTML) | ${kb(t?.all.gzip)} | < ${AIMS.firstLoadGzipKB} KB | ${t ? verdict(t.all.gzip / 1024, AIMS.firstLoadGzipKB) : 'not measured'} |`,
    `| click → registered (median) | ${ms(reg?.softphoneClickToRegistered.medianMs)} | < ${AIMS.registeredMs} ms | ${verdict(reg?.softphoneClickToRegistered.medianMs, AIMS.registeredMs)} |`,
    `| answer → first remote audio (median) | ${ms(ans?.softphone.medianMs)}${fails(ans?.softphone)} | < ${AIMS.answerToAudioMs} ms | ${verdict(ans?.softphone.medianMs, AIMS.answerToAudioMs)} |`,
    `| click → registered ÷ bare SIP.js start → Registered (median of paired runs) | ${pr['click → registered'] ?? '—'}× | ≤ ${AIMS.clickRatio}× | ${ratioVerdict(pr['click → registered'], AIMS.clickRatio)} |`,
    `| agent desktop reopened → agent state shown ÷ bare SIP.js page reopened → Registered (median of paired runs) | ${pr['reopen → agent state shown vs bare page reopened'] ?? '—'}× | ≤ ${AIMS.reopenRatio}× | ${ratioVerdict(pr['reopen → agent state shown vs bare page reopened'], AIMS.reopenRatio)} |`,
    '',
    '## First-load weight',
    '',
    'What the first page load requests from `softphone/dist` until the login screen is shown and the page has been idle 1.5 s',
    '(so chunks the app prefetches at idle count), gzip = zlib level 9 of each requested file.',
    '',
    '| | JS | CSS | HTML | total gzip | total raw |',
    '|---|---|---|---|---|---|',
    `| softphone, first load (${w?.firstLoad.files.length ?? 0} files) | ${kb(t?.js.gzip)} | ${kb(t?.css.gzip)} | ${kb(t?.html.gzip)} | **${kb(t?.all.gzip)}** | ${kb(t?.all.raw)} |`,
    `| softphone, through sign-in and registration | ${kb(w?.throughRegistration.totals.js.gzip)} | ${kb(w?.throughRegistration.totals.css.gzip)} | ${kb(w?.throughRegistration.totals.html.gzip)} | ${kb(w?.throughRegistration.totals.all.gzip)} | ${kb(w?.throughRegistration.totals.all.raw)} |`,
    `| softphone, all of dist (${w?.wholeDist.files ?? 0} files, incl. lazy views) | | | | ${kb(w?.wholeDist.gzip)} | ${kb(w?.wholeDist.raw)} |`,
    `| softphone, first load as the gateway sends it (its pre-compressed .br/.gz files, CDP encodedDataLength) | | | | ${kb(t?.all.transferred)} on the wire | |`,
    `| baseline: bare SIP.js client bundle | | | | ${kb(w?.bareSipJsBundle.gzip)} | ${kb(w?.bareSipJsBundle.raw)} |`,
    `| reference: Browser-Phone (InnovateAsterisk) | | | | unknown — not published | see below |`,
    '',
    `Browser-Phone reference: ${BROWSER_PHONE.published}; not measured here. What can be read: ${BROWSER_PHONE.known} (${BROWSER_PHONE.source}). The sizes of the CDN libraries are not available here, so no total is given.`,
    '',
    'Files of the first load:',
    '',
    '| file | type | raw | gzip |',
    '|---|---|---|---|',
    ...(w?.firstLoad.files ?? []).map(
      (f) => `| \`${f.path}\` | ${f.type} | ${kb(f.raw)} | ${kb(f.gzip)} |`,
    ),
    '',
    `Signing in adds: ${(w?.addedBySignIn ?? []).map((f) => `\`${f.path}\` (${kb(f.gzip)} gzip)`).join(', ') || 'nothing'}.`,
    '',
    '## Timings (median of runs; min–max)',
    '',
    '| figure | softphone | bare SIP.js in the same browser and stack | ratio |',
    '|---|---|---|---|',
    `| page open → registered (navigation start → badge "registered", includes the automated one-click login) | ${ms(reg?.softphoneOpenToRegistered.medianMs)} (${reg?.softphoneOpenToRegistered.minMs}–${reg?.softphoneOpenToRegistered.maxMs}) | | |`,
    `| click → registered (softphone) vs UserAgent start → Registered (bare) | ${ms(reg?.softphoneClickToRegistered.medianMs)} (${reg?.softphoneClickToRegistered.minMs}–${reg?.softphoneClickToRegistered.maxMs}) | ${ms(reg?.bareSipJs.medianMs)} (${reg?.bareSipJs.minMs}–${reg?.bareSipJs.maxMs}) | ${ratio(reg?.softphoneClickToRegistered.medianMs, reg?.bareSipJs.medianMs)} |`,
    `| agent desktop reopened (reload, automatic sign-in, #/agent, warm cache): navigation start → badge "registered" | ${ms(re?.toRegistered.medianMs)}${range(re?.toRegistered)}${fails(re?.toRegistered)} | ${ms(reBare?.medianMs)}${range(reBare)} (start → Registered, runs interleaved) | ${ratio(re?.toRegistered.medianMs, reBare?.medianMs)} |`,
    `| … → Agent view shown | ${ms(re?.toAgentView.medianMs)}${range(re?.toAgentView)} | | |`,
    `| … → agent state pushed by the gateway and shown | ${ms(re?.toAgentState.medianMs)}${range(re?.toAgentState)}${re?.notes.length ? ` (${re.notes.join('; ')})` : ''} | ${ms(reBare?.medianMs)} | ${ratio(re?.toAgentState.medianMs, reBare?.medianMs)} |`,
    `| … → agent state shown, against a bare SIP.js page reopened the same way (reload, warm cache, script registers at once): navigation start → Registered | ${ms(re?.toAgentState.medianMs)} | ${ms(re?.bareSipJsPageReopened?.medianMs)}${range(re?.bareSipJsPageReopened)}${fails(re?.bareSipJsPageReopened)} | ${ratio(re?.toAgentState.medianMs, re?.bareSipJsPageReopened?.medianMs)} |`,
    `| click-to-call → 180 Ringing shown (callee baresip) | ${ms(ring?.softphone.medianMs)}${range(ring?.softphone)}${fails(ring?.softphone)} | ${ms(ring?.bareSipJs.medianMs)}${range(ring?.bareSipJs)}${fails(ring?.bareSipJs)} | ${ratio(ring?.softphone.medianMs, ring?.bareSipJs.medianMs)} |`,
    `| answer → first remote audio (caller baresip; inbound-rtp packets with audioLevel > 0) | ${ms(ans?.softphone.medianMs)}${range(ans?.softphone)}${fails(ans?.softphone)} | ${ms(ans?.bareSipJs.medianMs)}${range(ans?.bareSipJs)}${fails(ans?.bareSipJs)} | ${ratio(ans?.softphone.medianMs, ans?.bareSipJs.medianMs)} |`,
    '',
    'The bare SIP.js baseline is SIP.js 0.21.2 with its stock Web SessionDescriptionHandler: a new RTCPeerConnection per call,',
    'no ICE servers, `iceGatheringTimeout` 500 ms. Its "start → Registered" starts at `UserAgent.start()` (no page, no UI);',
    'its ringing figure runs from `Inviter.invite()` to the first 18x. The softphone figures include its UI (click handler to',
    'rendered badge / call state) and its own media set-up, which is why a ratio below 1 is possible.',
    '',
    `Median of the ratios of back-to-back runs (a softphone run, then a bare SIP.js run; steadier than the ratio of medians when the machine's load drifts): ${
      Object.entries(pr)
        .map(([k, v]) => `${k} ${v}×`)
        .join('; ') || '—'
    }.`,
    '',
    "## Where the time goes (median ms per phase, from the app's `softphone:*` User Timing marks)",
    '',
    ...Object.entries(ph).flatMap(([fig, p]) => [
      `${fig}: ${Object.entries(p)
        .map(([k, v]) => `${k} +${v}`)
        .join(' → ')} ms`,
      '',
    ]),
    'Phases: `init` app start-up began, `secret` the saved password decrypted, `client-config` /api/client-config answered, `signin` sign-in began (the click',
    'handler, or automatic sign-in), `core-ready` core chunk, device manager and secrets ready, `phone-created` Phone built,',
    '`connected` WebSocket open, `registered` 200 OK to REGISTER, `badge` the badge rendered "registered"; `html` the page',
    'received (navigation responseEnd), `dom-interactive` the document parsed, `agent-signin` agent API sign-in began,',
    '`agent-state` the agent state received (it comes with the sign-in answer), `agent-token` the sign-in done, `shown` rendered;',
    '`old-page-unloaded` the reloaded page torn down (navigation unloadEventEnd).',
    '',
    '## Memory (CDP Performance.getMetrics after a forced GC)',
    '',
    '| page | JS heap used | JS heap total | DOM nodes |',
    '|---|---|---|---|',
    ...mem.map((m) => `| ${m.what} | ${m.jsHeapUsedMB} MB | ${m.jsHeapTotalMB} MB | ${m.nodes} |`),
    ...(mem.some(
      (m) => m.what.startsWith('softphone, established') || m.what.startsWith('softphone, held'),
    )
      ? []
      : [
          '',
          'No softphone call could be held up for the memory figure in this run (see the failures above).',
        ]),
    '',
    'How each figure is taken: in-page stamps on `performance.now()` (test/bench/softphone/instrument.ts): a capture-phase click listener',
    'and a MutationObserver on `registration-status` / `call-state` `data-state` (so UI rendering is included), and a 5 ms',
    "`getStats()` poller for the first inbound audio. The bare SIP.js figures use the same poller and the UserAgent's own events.",
    '',
  ];
  return lines.join('\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
