import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { mos } from '../media/mos.js';
import type { StreamStats } from '../media/rtp.js';
import { ConfigError } from '../scenario/load.js';

// The `browser` engine: headless Chromium (Debian's) running this product's
// softphone core (softphone/src/phone: Phone over SIP.js, bundled with esbuild)
// in a page of the target's HTTPS origin (the gateway checks the WebSocket's
// Origin), over WSS, with a sox-made sine WAV as its microphone. It registers,
// dials or answers through the core's API, plays the remote stream in an
// unmuted <audio>, and reads what it received from WebRTC's getStats (packets,
// loss, jitter → E-model MOS) and a WebAudio AnalyserNode on the remote stream
// (dominant frequency): the browser side is DTLS-SRTP, so its audio cannot be
// decoded off the wire like plain RTP. The core, not the UI, is driven: a test
// of the call path must not depend on the layout of the app's screens.

export interface BrowserLegOptions {
  dir: string;
  /** The softphone's page, e.g. https://127.0.0.1:8443/ */
  baseUrl: string;
  /** SIP over WebSocket, e.g. wss://127.0.0.1:8443/ws */
  wsUrl: string;
  user: string;
  password: string;
  domain: string;
  toneHz: number;
  chromium: string;
}

export interface BrowserCallEvent {
  state: string;
  t: number;
}

/** One call of a browser leg as the softphone core reported it (states, transfer progress, end). */
export interface BrowserCallLog {
  /** The core's call id (or dial-failed-<n> for a dial the core refused). */
  id: string;
  direction: 'outgoing' | 'incoming';
  states: BrowserCallEvent[];
  /** TransferProgress of a REFER this call sent: requested, accepted, trying, succeeded, failed. */
  transfer: { state: string; code?: number; reason?: string; t: number }[];
  endCause?: { code?: number; reason: string; by: string };
  /** The consultation call of an attended transfer (set by the runner). */
  consultation?: boolean;
}

const TRACK_PCS = `(() => {
  if (window.__calltest) return;
  const rec = { pcs: [] };
  window.__calltest = rec;
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(c) { super(c); rec.pcs.push(this); }
  };
})();`;

/** The page's own record (window.__ct) — what Node reads back with evaluate(). */
interface PageCt {
  calls: PageCall[];
  logs: BrowserCallLog[];
}
/** The slice of the softphone core's CallHandle driven here (softphone/src/phone/types.ts). */
interface PageCall {
  id: string;
  state: string;
  direction: 'outgoing' | 'incoming';
  remoteStream?: MediaStream;
  endCause?: { code?: number; reason: string; by: string };
  on(event: string, fn: (payload: unknown) => void): () => void;
  answer(): Promise<void>;
  hangup(): Promise<void>;
  hold(): Promise<void>;
  attendedTransfer(other: PageCall): Promise<{ state: string; code?: number; reason?: string }>;
}

/** A call is over for the runner's purposes. */
const LIVE = (state: string) => state !== 'ended';

export class BrowserLeg {
  private browser?: Browser;
  page?: Page;
  /** The page's calls as last read, plus dials the core refused (no call object). */
  private logs: BrowserCallLog[] = [];
  private failedDials: BrowserCallLog[] = [];
  /** Calls the runner marked as an attended transfer's consultation (by index). */
  private consultations = new Set<number>();
  /** Media measured while each call was up, by call id. */
  readonly media = new Map<string, { rx: StreamStats; tx: StreamStats }>();
  console: string[] = [];

  constructor(readonly o: BrowserLegOptions) {}

  private toneWav(): string {
    mkdirSync(this.o.dir, { recursive: true });
    const f = join(this.o.dir, `tone-${this.o.toneHz}.wav`);
    if (!existsSync(f))
      execFileSync('sox', [
        '-V1',
        '-n',
        '-r',
        '48000',
        '-b',
        '16',
        '-c',
        '1',
        f,
        'synth',
        '60',
        'sine',
        String(this.o.toneHz),
      ]);
    return f;
  }

  /** The softphone core as one script for the page (esbuild, once per process). */
  private static bundle?: string;
  static async phoneBundle(): Promise<string> {
    if (BrowserLeg.bundle) return BrowserLeg.bundle;
    const here = dirname(fileURLToPath(import.meta.url));
    const entry = resolve(here, '..', '..', '..', 'softphone', 'src', 'phone', 'index.ts');
    if (!existsSync(entry))
      throw new ConfigError(`the browser engine needs the softphone core (${entry} not found)`);
    let esbuild: typeof import('esbuild');
    try {
      esbuild = await import('esbuild');
    } catch {
      throw new ConfigError('the browser engine needs the npm package esbuild (npm install)');
    }
    const out = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      format: 'iife',
      globalName: 'CalltestPhone',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    BrowserLeg.bundle = out.outputFiles[0]!.text;
    return BrowserLeg.bundle;
  }

  async start(): Promise<boolean> {
    let pw: typeof import('playwright-core');
    try {
      pw = await import('playwright-core');
    } catch {
      throw new ConfigError(
        'the browser engine needs the npm package playwright-core (npm install)',
      );
    }
    if (!existsSync(this.o.chromium))
      throw new ConfigError(
        `no Chromium at ${this.o.chromium} (install Debian package "chromium" or set CHROMIUM_PATH)`,
      );
    const bundle = await BrowserLeg.phoneBundle();
    this.browser = await pw.chromium.launch({
      executablePath: this.o.chromium,
      headless: true,
      // remote audio is only decoded while it plays unmuted
      ignoreDefaultArgs: ['--mute-audio'],
      args: [
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        `--use-file-for-fake-audio-capture=${this.toneWav()}`,
        '--allow-loopback-in-peer-connection',
        '--autoplay-policy=no-user-gesture-required',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    const ctx = await this.browser.newContext({
      ignoreHTTPSErrors: true,
      permissions: ['microphone', 'camera', 'notifications'],
    });
    // run from TypeScript through tsx/esbuild, functions handed to evaluate() call a
    // __name() helper that exists in Node only: define it in the page too
    await ctx.addInitScript({ content: 'globalThis.__name ??= (f) => f;' });
    await ctx.addInitScript({ content: TRACK_PCS });
    const page = await ctx.newPage();
    this.page = page;
    page.on('console', (m) => {
      if (m.type() === 'error') this.console.push(m.text().slice(0, 300));
    });
    page.on('pageerror', (e) => this.console.push(`pageerror: ${e.message.slice(0, 300)}`));
    // a small page of the target's origin (the WebSocket's Origin must be the gateway's)
    const base = this.o.baseUrl.replace(/\/?$/, '/');
    try {
      await page.goto(`${base}healthz`, { timeout: 15_000 });
    } catch (err) {
      throw new ConfigError(
        `browser leg: cannot open ${base} (${(err as Error).message.split('\n')[0]}); set --browser-url`,
      );
    }
    await page.addScriptTag({ content: bundle });
    const r = await page.evaluate(
      async (o) => {
        interface PagePhone {
          on(event: 'callAdded' | 'incomingCall', fn: (call: PageCall) => void): void;
          start(): Promise<void>;
        }
        const w = window as unknown as {
          __ct?: unknown;
          CalltestPhone: { Phone: new (config: Record<string, unknown>) => PagePhone };
        };
        const rec: PageCt & { phone?: PagePhone; track?: (c: PageCall) => void } = {
          calls: [],
          logs: [],
        };
        w.__ct = rec;
        const phone = new w.CalltestPhone.Phone({
          wsUrl: o.wsUrl,
          sipUri: `sip:${o.user}@${o.domain}`,
          authUser: o.user,
          password: o.password,
          pbxPreset: 'kamailio',
          instanceId: crypto.randomUUID(),
          audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
        });
        rec.phone = phone;
        // every call: its own log of state changes and transfer progress, and its own
        // unmuted <audio> (remote audio is only decoded while it plays), so a leg
        // holding two calls (a transfer) measures each one apart
        const track = (call: PageCall) => {
          if (rec.calls.includes(call)) return;
          const n = rec.calls.push(call) - 1;
          const log: BrowserCallLog = {
            id: call.id,
            direction: call.direction,
            states: [],
            transfer: [],
          };
          rec.logs.push(log);
          const audio = document.createElement('audio');
          audio.autoplay = true;
          audio.setAttribute('data-testid', `remote-audio-${n}`);
          document.body.appendChild(audio);
          const update = () => {
            const last = log.states[log.states.length - 1];
            if (!last || last.state !== call.state)
              log.states.push({ state: call.state, t: Date.now() });
            if (call.state === 'ended') log.endCause ??= call.endCause && { ...call.endCause };
            if (
              call.remoteStream &&
              call.state !== 'ended' &&
              audio.srcObject !== call.remoteStream
            ) {
              audio.srcObject = call.remoteStream;
              void audio.play().catch(() => undefined);
            }
          };
          update();
          call.on('state', update);
          call.on('updated', update);
          call.on('transfer', (p) => {
            const t = p as { state: string; code?: number; reason?: string };
            log.transfer.push({ state: t.state, code: t.code, reason: t.reason, t: Date.now() });
          });
        };
        rec.track = track;
        phone.on('callAdded', track);
        phone.on('incomingCall', track);
        try {
          await phone.start();
          return { ok: true, error: '' };
        } catch (err) {
          return { ok: false, error: String((err as Error)?.message ?? err) };
        }
      },
      { wsUrl: this.o.wsUrl, user: this.o.user, domain: this.o.domain, password: this.o.password },
    );
    if (!r.ok) this.console.push(`register: ${r.error}`);
    return r.ok;
  }

  /** Reads the page's call logs. */
  private async pull(): Promise<void> {
    const logs = await this.page!.evaluate(
      () =>
        JSON.parse(
          JSON.stringify((window as unknown as { __ct: PageCt }).__ct.logs),
        ) as BrowserCallLog[],
    );
    this.logs = logs.map((l, i) => (this.consultations.has(i) ? { ...l, consultation: true } : l));
  }

  /** Every call of this leg, oldest first (a refused dial is a call that never started). */
  get calls(): BrowserCallLog[] {
    return [...this.logs, ...this.failedDials].sort(
      (a, b) => (a.states[0]?.t ?? 0) - (b.states[0]?.t ?? 0),
    );
  }

  /** Reads the page once more (after the calls, before judging). */
  async refresh(): Promise<void> {
    if (this.page) await this.pull().catch(() => undefined);
  }

  /** State of call `n` (index in the order the page saw them), 'none' before it exists. */
  async state(n: number): Promise<string> {
    await this.pull();
    const l = this.logs[n];
    return l?.states[l.states.length - 1]?.state ?? 'none';
  }

  /** Polls call `n`'s state until one of `want` (or `until`); the last state seen. */
  async watch(n: number, want: string[], until: number): Promise<string> {
    for (;;) {
      const s = await this.state(n);
      if (want.includes(s) || Date.now() > until) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Number of calls the page has seen. */
  async count(): Promise<number> {
    await this.pull();
    return this.logs.length;
  }

  /** Places a call; its index, or undefined when the core refused to dial (recorded as a failed call). */
  async dial(to: string): Promise<number | undefined> {
    const t = Date.now();
    try {
      return await this.page!.evaluate((to) => {
        const c = (window as unknown as { __ct: PageCt }).__ct as PageCt & {
          phone: { call(t: string): PageCall };
          track(c: PageCall): void;
        };
        c.track(c.phone.call(to));
        return c.calls.length - 1;
      }, to);
    } catch (err) {
      this.failedDials.push({
        id: `dial-failed-${this.failedDials.length + 1}`,
        direction: 'outgoing',
        states: [
          { state: 'dialled', t },
          { state: `dial failed: ${(err as Error).message.split('\n')[0]}`, t: Date.now() },
        ],
        transfer: [],
      });
      await this.screenshot('dial-failed');
      return undefined;
    }
  }

  /** Answers every call that is ringing in (after `ringMs`); how many it answered. */
  async answerRinging(ringMs: number): Promise<number> {
    await this.pull();
    const ringing = this.logs
      .map((l, i) => [l, i] as const)
      .filter(([l]) => l.direction === 'incoming' && l.states.at(-1)?.state === 'incoming')
      .map(([, i]) => i);
    if (!ringing.length) return 0;
    await new Promise((r) => setTimeout(r, ringMs));
    await this.page!.evaluate(async (idx) => {
      for (const i of idx) {
        const call = (window as unknown as { __ct: PageCt }).__ct.calls[i];
        if (call?.state === 'incoming') await call.answer().catch(() => undefined);
      }
    }, ringing);
    return ringing.length;
  }

  /** Calls not ended, and calls established now (indices). */
  async live(): Promise<{ live: number[]; established: number[]; settling: number[] }> {
    await this.pull();
    const last = (l: BrowserCallLog) => l.states.at(-1)?.state ?? 'none';
    const idx = (f: (s: string) => boolean) =>
      this.logs
        .map((l, i) => [last(l), i] as const)
        .filter(([s]) => f(s))
        .map(([, i]) => i);
    return {
      live: idx(LIVE),
      established: idx((s) => s === 'established'),
      // on the way to answered (a REFER's new call, a Replaces INVITE being taken)
      settling: idx((s) => ['calling', 'ringing', 'early', 'answering'].includes(s)),
    };
  }

  async hold(n: number): Promise<void> {
    await this.page!.evaluate(
      async (n) => (window as unknown as { __ct: PageCt }).__ct.calls[n]!.hold(),
      n,
    );
  }

  /** Marks call `n` as an attended transfer's consultation (for the verdict). */
  markConsultation(n: number): void {
    this.consultations.add(n);
  }

  /**
   * Attended transfer of call `n`'s far end to call `other`'s (softphone core's
   * Call.attendedTransfer): resolves with the final TransferProgress — succeeded
   * on a NOTIFY sipfrag 2xx, failed on a REFER refused or a sipfrag ≥ 300, or
   * what it was when the core gave up waiting for the NOTIFY (32 s).
   */
  async attendedTransfer(
    n: number,
    other: number,
  ): Promise<{ state: string; code?: number; reason?: string; error?: string }> {
    return this.page!.evaluate(
      async ([n, other]) => {
        const calls = (window as unknown as { __ct: PageCt }).__ct.calls;
        try {
          const p = await calls[n]!.attendedTransfer(calls[other]!);
          return { state: p.state, code: p.code, reason: p.reason };
        } catch (err) {
          return { state: 'failed', error: String((err as Error)?.message ?? err) };
        }
      },
      [n, other] as const,
    );
  }

  /** A screenshot of the page (kept next to the scenario's other files when a call fails). */
  async screenshot(name: string): Promise<string | undefined> {
    const f = join(this.o.dir, `${name}.png`);
    return this.page
      ?.screenshot({ path: f, fullPage: true })
      .then(() => f)
      .catch(() => undefined);
  }

  /** Hangs up call `n`, or every call still up. */
  async hangup(n?: number): Promise<void> {
    await this.page!.evaluate(async (n) => {
      const calls = (window as unknown as { __ct: PageCt }).__ct.calls.filter(
        (_, i) => n === undefined || i === n,
      );
      for (const c of calls) if (c.state !== 'ended') await c.hangup().catch(() => undefined);
    }, n);
  }

  /**
   * What call `n` receives and sends over ~ms: getStats of its own peer
   * connection (the one whose receiver feeds its remote stream) and the dominant
   * frequency of its remote audio (WebAudio FFT).
   */
  async measure(n: number, ms = 1500): Promise<void> {
    const r = await this.page!.evaluate(
      async ([n, ms]) => {
        const call = (window as unknown as { __ct: PageCt }).__ct.calls[n];
        const stream = call?.remoteStream;
        const w = window as unknown as { __calltest?: { pcs: RTCPeerConnection[] } };
        const tracks = stream?.getTracks() ?? [];
        const pc = (w.__calltest?.pcs ?? []).find((p) =>
          p.getReceivers().some((rv) => tracks.includes(rv.track)),
        );
        let hz = 0;
        let level = 0;
        if (stream && stream.getAudioTracks().length) {
          const ctx = new AudioContext();
          const an = ctx.createAnalyser();
          an.fftSize = 8192;
          ctx.createMediaStreamSource(stream).connect(an);
          const bins = new Float32Array(an.frequencyBinCount);
          const sums = new Float32Array(an.frequencyBinCount);
          const end = performance.now() + ms;
          while (performance.now() < end) {
            await new Promise((res) => setTimeout(res, 100));
            an.getFloatFrequencyData(bins);
            bins.forEach((db, i) => (sums[i] = (sums[i] ?? 0) + Math.pow(10, db / 20)));
          }
          let best = 0;
          sums.forEach((v, i) => {
            if (v > (sums[best] ?? 0)) best = i;
          });
          hz = (best * ctx.sampleRate) / an.fftSize;
          level = (sums[best] ?? 0) / (ms / 100);
          await ctx.close();
        }
        const out = {
          id: call?.id ?? '',
          rxPackets: 0,
          rxLost: 0,
          jitter: 0,
          txPackets: 0,
          hz,
          level,
        };
        if (pc && pc.connectionState !== 'closed') {
          const stats = await pc.getStats();
          stats.forEach((s) => {
            const x = s as Record<string, unknown>;
            if (x.type === 'inbound-rtp' && x.kind === 'audio') {
              out.rxPackets += Number(x.packetsReceived ?? 0);
              out.rxLost += Number(x.packetsLost ?? 0);
              out.jitter = Math.max(out.jitter, Number(x.jitter ?? 0));
            }
            if (x.type === 'outbound-rtp' && x.kind === 'audio')
              out.txPackets += Number(x.packetsSent ?? 0);
          });
        }
        return out;
      },
      [n, ms] as const,
    );
    const now = Date.now() / 1000;
    const lossPct = r.rxPackets + r.rxLost > 0 ? (100 * r.rxLost) / (r.rxPackets + r.rxLost) : 0;
    const base = { ssrc: 'webrtc', pt: 0, firstT: now, lastT: now, dtmf: '' };
    const rx: StreamStats = {
      ...base,
      src: 'gateway',
      dst: 'browser',
      packets: r.rxPackets,
      expected: r.rxPackets + r.rxLost,
      lost: r.rxLost,
      lossPct: Math.round(lossPct * 100) / 100,
      jitterMs: Math.round(r.jitter * 100000) / 100,
      mos: mos({ lossPct, jitterMs: r.jitter * 1000 }),
      maxSilenceMs: 0,
      toneHz: r.level > 0.001 ? Math.round(r.hz) : 0,
      rms: r.level,
    };
    const tx: StreamStats = {
      ...rx,
      src: 'browser',
      dst: 'gateway',
      packets: r.txPackets,
      toneHz: this.o.toneHz,
    };
    if (r.id) this.media.set(r.id, { rx, tx });
  }

  async stop(): Promise<void> {
    await this.refresh();
    await this.browser?.close().catch(() => undefined);
    this.browser = undefined;
    this.page = undefined;
  }
}
