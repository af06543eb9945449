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

export async function launchPhone(
  name: string,
  toneHz: number,
  baseUrl: string,
  opts: { cameras?: number } = {},
): Promise<Phone> {
  const sp = await launchSoftphoneBrowser({ toneHz, baseUrl, ...opts });
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

/** One SIP message over a softphone's WebSocket, as Playwright sees the frame. */
export interface SipFrame {
  dir: 'sent' | 'received';
  at: number;
  text: string;
}

/** Keeps every SIP message the page sends or receives over its WebSockets (call before the page connects). */
export function recordSip(p: Phone): SipFrame[] {
  const frames: SipFrame[] = [];
  p.page.on('websocket', (ws) => {
    const keep = (dir: SipFrame['dir']) => (f: { payload: string | Buffer }) =>
      frames.push({ dir, at: Date.now(), text: String(f.payload) });
    ws.on('framesent', keep('sent'));
    ws.on('framereceived', keep('received'));
  });
  return frames;
}

/** The value of SIP header `name` in `msg` ('' when absent). */
export function sipHeader(msg: string, name: string): string {
  const m = new RegExp(`^${name}:[ \\t]*(.*?)\\r?$`, 'im').exec(msg);
  return m?.[1]?.trim() ?? '';
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

/** connectionState of every RTCPeerConnection the page made, in order of creation. */
export async function peerConnectionStates(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    ((window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e?.pcs ?? []).map((pc) =>
      pc.signalingState === 'closed' ? 'closed' : pc.connectionState,
    ),
  );
}

/** The figures the quality panel shows (undefined where it shows a dash). */
export async function qualityFigures(page: Page): Promise<{
  codec?: string;
  mos?: number;
  rttMs?: number;
  jitterMs?: number;
  lossPct?: number;
}> {
  const cell = async (key: string) =>
    (
      await page
        .locator(`[data-testid="quality-${key}"] td`)
        .first()
        .innerText({ timeout: 1000 })
        .catch(() => '')
    ).trim();
  const num = (text: string) => {
    const m = /-?\d+(?:\.\d+)?/.exec(text);
    return m ? Number(m[0]) : undefined;
  };
  const codec = (
    await byId(page, 'quality-codec')
      .innerText({ timeout: 1000 })
      .catch(() => '')
  ).trim();
  return {
    codec: codec && codec !== '—' ? codec : undefined,
    mos: num(await cell('mos')),
    rttMs: num(await cell('rtt')),
    jitterMs: num(await cell('jitter')),
    lossPct: num(await cell('loss')),
  };
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

/** What an <audio> element does with its stream: the analyser hears the stream, the user hears only this. */
export interface ElementPlayback {
  present: boolean;
  muted: boolean;
  paused: boolean;
  volume: number;
  /** HTMLMediaElement.readyState: 2+ = it has data to play (a live stream keeps currentTime still in Chromium). */
  readyState: number;
  /** Live audio tracks in the element's srcObject. */
  liveTracks: number;
  /** The element's output device: '' (the default) or one the browser lists. */
  sinkId: string;
  sinkOk: boolean;
}

/** Watch the <audio> element `selector` for `ms`: is it really playing, unmuted, to an output device? */
export async function elementPlayback(
  page: Page,
  selector: string,
  ms = 300,
): Promise<ElementPlayback> {
  return page.evaluate(
    async ({ selector, ms }) => {
      const el = document.querySelector(selector) as
        (HTMLAudioElement & { sinkId?: string }) | null;
      if (!el) {
        return {
          present: false,
          muted: false,
          paused: true,
          volume: 0,
          readyState: 0,
          liveTracks: 0,
          sinkId: '',
          sinkOk: false,
        };
      }
      await new Promise((r) => setTimeout(r, ms));
      const src = el.srcObject instanceof MediaStream ? el.srcObject : null;
      const outputs = (await navigator.mediaDevices.enumerateDevices())
        .filter((d) => d.kind === 'audiooutput')
        .map((d) => d.deviceId);
      const sinkId = typeof el.sinkId === 'string' ? el.sinkId : '';
      return {
        present: true,
        muted: el.muted,
        paused: el.paused,
        volume: el.volume,
        readyState: el.readyState,
        liveTracks: src?.getAudioTracks().filter((t) => t.readyState === 'live').length ?? 0,
        sinkId,
        sinkOk: typeof el.sinkId === 'string' && (sinkId === '' || outputs.includes(sinkId)),
      };
    },
    { selector, ms },
  );
}

/**
 * Why the element does not play its stream to the user (empty: it does),
 * including readyState < 2 (nothing to play: a stream bound while empty whose
 * tracks came later never starts in Chromium; MediaElement.vue re-binds it).
 */
export async function playbackProblems(
  page: Page,
  selector = REMOTE_AUDIO,
  opts: { requireData?: boolean } = { requireData: true },
): Promise<string[]> {
  const e = await elementPlayback(page, selector);
  if (!e.present) return ['missing'];
  return [
    e.muted && 'muted',
    e.paused && 'paused',
    e.volume <= 0 && `volume ${e.volume}`,
    opts.requireData !== false &&
      e.readyState < 2 &&
      `readyState ${e.readyState} (no media to play)`,
    e.liveTracks < 1 && 'no live audio track in srcObject',
    !e.sinkOk && `output device "${e.sinkId}" unknown`,
  ].filter((p): p is string => Boolean(p));
}

/** Throws unless the element plays: present, unmuted, not paused, volume > 0, a live track, a known sink. */
export async function expectElementPlaying(
  page: Page,
  selector = REMOTE_AUDIO,
  opts: { requireData?: boolean } = {},
): Promise<void> {
  const problems = await playbackProblems(page, selector, opts);
  if (problems.length) {
    throw new Error(
      `the tone is in the stream, but ${selector} does not play it: ${problems.join(', ')} ${JSON.stringify(await elementPlayback(page, selector, 0))}`,
    );
  }
}

/**
 * Listen for the dominant frequency until it is within `tol` Hz of `hz` with
 * level > minLevel, or time runs out. The analyser listens to the remote
 * stream; once the tone is there, the `remote-audio` element playing that
 * stream must also really play it (a muted or paused element passes the
 * stream analysis but is silent to the user): that throws.
 */
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
    if (Math.abs(last.hz - hz) <= tol && last.level > minLevel) {
      await expectElementPlaying(page, REMOTE_AUDIO);
      return last;
    }
  }
  return last;
}

/**
 * Dominant tone over every remote <audio> the softphone plays (the active line's
 * `remote-audio` and other lines' `remote-audio-<n>`): the element whose stream
 * comes closest to `hz`. For a line that moved (transfer, second line). The
 * element found must really play (see expectTone).
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
      const sel = `audio[data-testid="${id}"]`;
      const r = await dominantFrequency(page, `document.querySelector('${sel}')?.srcObject`, 1000);
      if (Math.abs(r.hz - hz) <= tol && r.level > minLevel) {
        // the line may have moved meanwhile (its element renamed): look again
        const problems = await playbackProblems(page, sel);
        if (problems.includes('missing')) continue;
        if (problems.length) await expectElementPlaying(page, sel);
        return { ...r, testid: id };
      }
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
