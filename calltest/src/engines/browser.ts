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

const TRACK_PCS = `(() => {
  if (window.__calltest) return;
  const rec = { pcs: [] };
  window.__calltest = rec;
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(c) { super(c); rec.pcs.push(this); }
  };
})();`;

export class BrowserLeg {
  private browser?: Browser;
  page?: Page;
  /** Our own marks (dialled, incoming, dial failed) and the page's call-state changes. */
  private marks: BrowserCallEvent[] = [];
  private pageStates: BrowserCallEvent[] = [];
  get states(): BrowserCallEvent[] {
    return [...this.marks, ...this.pageStates].sort((a, b) => a.t - b.t);
  }
  mark(state: string): void {
    this.marks.push({ state, t: Date.now() });
  }
  /** Media measured while the call was up. */
  rx?: StreamStats;
  tx?: StreamStats;
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
        // the slice of the softphone core's API used here (src/phone/index.ts)
        interface PageCall {
          state: string;
          direction: string;
          remoteStream?: MediaStream;
          on(event: string, fn: () => void): void;
        }
        interface PagePhone {
          on(event: 'callAdded' | 'incomingCall', fn: (call: PageCall) => void): void;
          start(): Promise<void>;
        }
        const w = window as unknown as {
          __ct?: unknown;
          CalltestPhone: { Phone: new (config: Record<string, unknown>) => PagePhone };
        };
        const audio = document.createElement('audio');
        audio.autoplay = true;
        audio.setAttribute('data-testid', 'remote-audio');
        document.body.appendChild(audio);
        const ct = {
          phone: undefined as PagePhone | undefined,
          calls: [] as PageCall[],
          states: [] as { state: string; t: number }[],
        };
        w.__ct = ct;
        const phone = new w.CalltestPhone.Phone({
          wsUrl: o.wsUrl,
          sipUri: `sip:${o.user}@${o.domain}`,
          authUser: o.user,
          password: o.password,
          pbxPreset: 'kamailio',
          instanceId: crypto.randomUUID(),
          audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
        });
        ct.phone = phone;
        // every call: record its state changes and play its remote audio
        const track = (call: PageCall) => {
          if (ct.calls.includes(call)) return;
          ct.calls.push(call);
          const update = () => {
            const last = ct.states[ct.states.length - 1];
            if (!last || last.state !== call.state)
              ct.states.push({ state: call.state, t: Date.now() });
            if (call.remoteStream && audio.srcObject !== call.remoteStream) {
              audio.srcObject = call.remoteStream;
              void audio.play().catch(() => undefined);
            }
          };
          update();
          // events where the core has them, and a poll so no change is missed
          for (const ev of ['state', 'updated']) {
            try {
              call.on(ev, update);
            } catch {
              // not an event of this core version
            }
          }
          const poll = setInterval(() => {
            update();
            if (call.state === 'ended') clearInterval(poll);
          }, 50);
        };
        (ct as { track?: (c: PageCall) => void }).track = track;
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

  /** The call states the page recorded so far. */
  private async pull(): Promise<void> {
    this.pageStates = await this.page!.evaluate(() => [
      ...(window as unknown as { __ct: { states: BrowserCallEvent[] } }).__ct.states,
    ]);
  }

  /** Polls the call state until one of `want` (or `until`). */
  async watch(want: string[], until: number): Promise<string> {
    for (;;) {
      await this.pull();
      const s = this.pageStates[this.pageStates.length - 1]?.state ?? 'idle';
      if (want.includes(s) || Date.now() > until) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async dial(to: string): Promise<void> {
    this.mark('dialled');
    await this.page!.evaluate((to) => {
      const ct = (
        window as unknown as {
          __ct: { phone: { call(t: string): unknown }; track(c: unknown): void };
        }
      ).__ct;
      ct.track(ct.phone.call(to));
    }, to);
  }

  /** Waits for an incoming call (bounded), rings `ringMs`, answers. */
  async answerNext(ringMs: number, until: number): Promise<boolean> {
    while (Date.now() < until) {
      const n = await this.page!.evaluate(
        () =>
          (
            window as unknown as { __ct: { calls: { direction: string; state: string }[] } }
          ).__ct.calls.filter((c) => c.direction === 'incoming' && c.state === 'incoming').length,
      );
      if (n > 0) {
        this.mark('incoming');
        await new Promise((r) => setTimeout(r, ringMs));
        await this.page!.evaluate(async () => {
          const calls = (
            window as unknown as {
              __ct: { calls: { direction: string; state: string; answer(): Promise<void> }[] };
            }
          ).__ct.calls;
          await calls.find((c) => c.direction === 'incoming' && c.state === 'incoming')?.answer();
        });
        return true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /** A screenshot of the page (kept next to the scenario's other files when a call fails). */
  async screenshot(name: string): Promise<string | undefined> {
    const f = join(this.o.dir, `${name}.png`);
    return this.page
      ?.screenshot({ path: f, fullPage: true })
      .then(() => f)
      .catch(() => undefined);
  }

  async hangup(): Promise<void> {
    await this.page!.evaluate(async () => {
      const calls = (
        window as unknown as { __ct: { calls: { state: string; hangup(): Promise<void> }[] } }
      ).__ct.calls;
      for (const c of calls) if (c.state !== 'ended') await c.hangup().catch(() => undefined);
    });
  }

  /** Received/sent audio while the call is up: getStats over ~ms, and the remote tone. */
  async measure(ms = 1500): Promise<void> {
    const r = await this.page!.evaluate(async (ms: number) => {
      const w = window as unknown as { __calltest?: { pcs: RTCPeerConnection[] } };
      const pcs = (w.__calltest?.pcs ?? []).filter((p) => p.connectionState !== 'closed');
      const audio = document.querySelector(
        '[data-testid="remote-audio"]',
      ) as HTMLAudioElement | null;
      const stream = audio?.srcObject as MediaStream | null | undefined;
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
      const out = { rxPackets: 0, rxLost: 0, jitter: 0, txPackets: 0, hz, level };
      for (const pc of pcs) {
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
    }, ms);
    const now = Date.now() / 1000;
    const lossPct = r.rxPackets + r.rxLost > 0 ? (100 * r.rxLost) / (r.rxPackets + r.rxLost) : 0;
    const base = { ssrc: 'webrtc', pt: 0, firstT: now, lastT: now, dtmf: '' };
    this.rx = {
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
    this.tx = {
      ...this.rx,
      src: 'browser',
      dst: 'gateway',
      packets: r.txPackets,
      toneHz: this.o.toneHz,
    };
  }

  async stop(): Promise<void> {
    await this.browser?.close().catch(() => undefined);
  }
}
