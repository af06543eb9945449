import type { Page } from 'playwright-core';
import { dominantFrequency, launchSoftphoneBrowser, type Softphone } from './browser.js';

// Drives the built softphone (softphone/dist, served by the gateway) only through
// its stable data-testid hooks, plus read-only instrumentation added before the
// app loads: every RTCPeerConnection the page creates is remembered in
// window.__e2e.pcs so tests can read getStats() (inbound-rtp counters).

export const REMOTE_AUDIO = '[data-testid="remote-audio"]';
/** In-page expression for the stream the active line's <audio> plays. */
export const REMOTE_STREAM_EXPR = `document.querySelector('${REMOTE_AUDIO}')?.srcObject`;

/**
 * tsx/esbuild keep function names by wrapping them in a `__name(fn, "name")`
 * helper that exists in Node, not in the page: functions handed to
 * addInitScript/evaluate would throw. Defining it in the page first fixes all.
 */
export const NAME_SHIM = { content: 'globalThis.__name ??= (f) => f;' };

export const INSTRUMENT_PCS = () => {
  const w = window as unknown as { __e2e?: { pcs: RTCPeerConnection[]; created: number[] } };
  if (w.__e2e) return;
  const rec = { pcs: [] as RTCPeerConnection[], created: [] as number[] };
  w.__e2e = rec;
  const Native = window.RTCPeerConnection;
  class Tracked extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      rec.pcs.push(this);
      rec.created.push(performance.now());
    }
  }
  Object.defineProperty(window, 'RTCPeerConnection', {
    value: Tracked,
    writable: true,
    configurable: true,
  });
};

export interface Phone extends Softphone {
  name: string;
  toneHz: number;
  /** Last console errors/warnings and page errors of the softphone (for failure reports). */
  console: string[];
}

export async function launchPhone(name: string, toneHz: number, baseUrl: string): Promise<Phone> {
  const sp = await launchSoftphoneBrowser({ toneHz, baseUrl });
  await sp.context.addInitScript(NAME_SHIM);
  await sp.context.addInitScript(INSTRUMENT_PCS);
  const lines: string[] = [];
  const keep = (l: string) => {
    lines.push(`${new Date().toISOString().slice(11, 23)} ${l.slice(0, 400)}`);
    if (lines.length > 60) lines.shift();
  };
  sp.page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') keep(`${m.type()}: ${m.text()}`);
  });
  sp.page.on('pageerror', (e) => keep(`pageerror: ${e.message}`));
  return Object.assign(sp, { name, toneHz, console: lines });
}

/** What a failed test prints about one softphone. */
export function report(p: Phone): string {
  return `--- softphone ${p.name} console (last ${p.console.length}):\n${p.console.join('\n')}`;
}

export const byId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

export async function registrationState(page: Page): Promise<string | null> {
  return byId(page, 'registration-status')
    .getAttribute('data-state', { timeout: 2000 })
    .catch(() => null);
}

export async function waitAttr(
  page: Page,
  testid: string,
  attr: string,
  values: string | string[],
  timeoutMs = 15_000,
): Promise<string> {
  const want = Array.isArray(values) ? values : [values];
  const sel = want.map((v) => `[data-testid="${testid}"][${attr}="${v}"]`).join(', ');
  try {
    await page.locator(sel).first().waitFor({ state: 'attached', timeout: timeoutMs });
  } catch {
    const now = await byId(page, testid)
      .first()
      .getAttribute(attr, { timeout: 500 })
      .catch(() => '(element missing)');
    throw new Error(
      `${testid}[${attr}] did not become ${want.join('|')} within ${timeoutMs} ms (is: ${now})`,
    );
  }
  return (await byId(page, testid).first().getAttribute(attr)) ?? '';
}

/** Open the softphone, one-click demo login, wait for registered. Returns ms from click to registered. */
export async function loginDemo(phone: Phone, user: string, timeoutMs = 15_000): Promise<number> {
  const { page } = phone;
  if (!page.url().startsWith('https://')) await page.goto('/');
  await byId(page, `login-demo-${user}`).click({ timeout: 15_000 });
  const t0 = Date.now();
  await waitAttr(page, 'registration-status', 'data-state', 'registered', timeoutMs);
  return Date.now() - t0;
}

export async function goView(
  page: Page,
  view: 'phone' | 'history' | 'contacts' | 'diagnostics' | 'settings' | 'precall',
): Promise<void> {
  await byId(page, `nav-${view}`).click();
}

export async function dial(page: Page, target: string): Promise<void> {
  await goView(page, 'phone');
  await byId(page, 'dial-input').fill(target);
  await byId(page, 'call-button').click();
}

export async function callState(page: Page): Promise<string | null> {
  return byId(page, 'call-state')
    .getAttribute('data-state', { timeout: 1000 })
    .catch(() => null);
}

export async function waitCallState(
  page: Page,
  states: string | string[],
  timeoutMs = 15_000,
): Promise<string> {
  return waitAttr(page, 'call-state', 'data-state', states, timeoutMs);
}

export async function answer(page: Page, timeoutMs = 15_000): Promise<void> {
  await byId(page, 'answer-button').click({ timeout: timeoutMs });
}

export async function hangup(page: Page): Promise<void> {
  const b = byId(page, 'hangup-button');
  if (await b.isVisible().catch(() => false)) await b.click({ timeout: 5000 });
}

export async function remoteTone(page: Page, ms = 1500): Promise<{ hz: number; level: number }> {
  return dominantFrequency(page, REMOTE_STREAM_EXPR, ms);
}

export interface InboundStats {
  packetsReceived: number;
  bytesReceived: number;
  audioLevel: number;
  totalSamplesReceived: number;
  /** Sum over RTCPeerConnections that are not closed. */
  pcs: number;
}

/** inbound-rtp audio counters of the page's open RTCPeerConnections (newest last). */
export async function inboundStats(page: Page): Promise<InboundStats> {
  return page.evaluate(async () => {
    const rec = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e;
    const out = {
      packetsReceived: 0,
      bytesReceived: 0,
      audioLevel: 0,
      totalSamplesReceived: 0,
      pcs: 0,
    };
    for (const pc of rec?.pcs ?? []) {
      if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
      out.pcs++;
      const stats = await pc.getStats();
      stats.forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          out.packetsReceived += Number(s.packetsReceived ?? 0);
          out.bytesReceived += Number(s.bytesReceived ?? 0);
          out.totalSamplesReceived += Number(s.totalSamplesReceived ?? 0);
          out.audioLevel = Math.max(out.audioLevel, Number(s.audioLevel ?? 0));
        }
      });
    }
    return out;
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
  );
}

/** Listen for the dominant frequency until it is within `tol` Hz of `hz` with level > minLevel, or time runs out. */
export async function expectTone(
  page: Page,
  hz: number,
  opts: { tol?: number; minLevel?: number; timeoutMs?: number } = {},
): Promise<{ hz: number; level: number }> {
  const tol = opts.tol ?? 30;
  const minLevel = opts.minLevel ?? 0.01;
  const end = Date.now() + (opts.timeoutMs ?? 8000);
  let last = { hz: 0, level: 0 };
  while (Date.now() < end) {
    last = await remoteTone(page, 1000);
    if (Math.abs(last.hz - hz) <= tol && last.level > minLevel) return last;
  }
  return last;
}

/**
 * Dominant tone over every remote <audio> the softphone plays (the active line's
 * `remote-audio` and other lines' `remote-audio-<n>`): the element whose stream
 * comes closest to `hz`. For a line that moved (transfer, second line).
 */
export async function anyRemoteTone(
  page: Page,
  hz: number,
  opts: { tol?: number; minLevel?: number; timeoutMs?: number } = {},
) {
  const tol = opts.tol ?? 30;
  const minLevel = opts.minLevel ?? 0.01;
  const end = Date.now() + (opts.timeoutMs ?? 8000);
  let best = { hz: 0, level: 0, testid: '' };
  while (Date.now() < end) {
    const ids = await page.$$eval('audio[data-testid^="remote-audio"]', (els) =>
      els.map((e) => e.getAttribute('data-testid') ?? ''),
    );
    for (const id of ids) {
      const r = await dominantFrequency(
        page,
        `document.querySelector('audio[data-testid="${id}"]')?.srcObject`,
        1000,
      );
      if (Math.abs(r.hz - hz) <= tol && r.level > minLevel) return { ...r, testid: id };
      if (!best.testid || Math.abs(r.hz - hz) < Math.abs(best.hz - hz)) best = { ...r, testid: id };
    }
    if (!ids.length) await sleep(300);
  }
  return best;
}

/** inbound-rtp packetsReceived growth over `ms`. */
export async function packetGrowth(
  page: Page,
  ms = 1000,
): Promise<{ before: number; after: number; delta: number }> {
  const before = (await inboundStats(page)).packetsReceived;
  await sleep(ms);
  const after = (await inboundStats(page)).packetsReceived;
  return { before, after, delta: after - before };
}

/**
 * No call up any more on this page: every line is idle or ended (a call ended
 * by the far end or by hangup() settles here; bounded).
 */
export async function waitNoLiveCall(page: Page, timeoutMs = 10_000): Promise<void> {
  await page.waitForFunction(
    () =>
      !document.querySelector(
        '[data-testid^="line-"]:not([data-state="idle"]):not([data-state="ended"])',
      ),
    null,
    { timeout: timeoutMs },
  );
}

/**
 * Ended calls stay on their line for a moment (softphone ENDED_LINGER_MS); wait
 * until none is left so the next call's line-* selectors find only that call.
 */
export async function waitLinesReleased(page: Page, timeoutMs = 6000): Promise<void> {
  await page
    .waitForFunction(
      () => !document.querySelector('[data-testid^="line-"][data-state="ended"]'),
      null,
      { timeout: timeoutMs },
    )
    .catch(() => undefined);
}
