import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killMentioning } from './processes.js';

const CLOSE_MS = 10_000;

// Real headless Chromium (Debian's) with a WAV tone as its microphone, as
// ../shared/ENVIRONMENT.md describes. Each softphone under test gets its own
// browser process so each can have its own tone: one tone per direction is how
// crossed or looped media is caught.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * A 16-bit mono 48 kHz sine WAV (24-bit is silently rejected by Chromium), in a
 * folder shared by every test file. Test files may run at once: sox writes a
 * file of this process's own and renames it into place (atomic), so a reader
 * never sees a half-written tone.
 */
export function toneWav(frequencyHz: number, seconds = 60): string {
  const dir = join(tmpdir(), 'e2e-tones');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `tone-${frequencyHz}-${seconds}s.wav`);
  if (!existsSync(file)) {
    const part = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.part.wav`;
    try {
      execFileSync('sox', [
        '-V1',
        '-n',
        '-r',
        '48000',
        '-b',
        '16',
        '-c',
        '1',
        part,
        'synth',
        String(seconds),
        'sine',
        String(frequencyHz),
      ]);
      renameSync(part, file);
    } finally {
      rmSync(part, { force: true });
    }
  }
  return file;
}

export interface Softphone {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export interface SoftphoneBrowserOptions {
  toneHz: number;
  baseUrl: string;
  /**
   * Fake cameras Chromium offers (default 1), `fake_device_0..n-1`. Chromium
   * 156: 0 is I420 (green corner squares), 1 a Y16 depth camera WebRTC never
   * encodes (no frames reach a peer), 2 MJPEG (yellow corner squares).
   */
  cameras?: number;
}

export async function launchSoftphoneBrowser(opts: SoftphoneBrowserOptions): Promise<Softphone> {
  // Chromium ignores switches it does not know: this one marks the browser's
  // processes so a close that hangs can still end them (see close below).
  const mark = `--e2e-browser=${randomBytes(6).toString('hex')}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright adds --mute-audio in headless mode; remote audio is only decoded
    // while it plays unmuted, so drop that default.
    ignoreDefaultArgs: ['--mute-audio'],
    args: [
      opts.cameras && opts.cameras > 1
        ? `--use-fake-device-for-media-stream=device-count=${opts.cameras}`
        : '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${toneWav(opts.toneHz)}`,
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      mark,
      // Playwright's launch() already gives every browser a fresh, empty profile.
    ],
  });
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    permissions: ['microphone', 'camera', 'notifications'],
    baseURL: opts.baseUrl,
  });
  const page = await context.newPage();
  const close = async () => {
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      browser.close().then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), CLOSE_MS))),
    ]);
    clearTimeout(timer);
    if (!closed) {
      const killed = killMentioning(mark);
      process.stderr.write(
        `[e2e] browser.close() hung ${CLOSE_MS} ms; killed ${killed.length} Chromium processes\n`,
      );
    }
  };
  return { browser, context, page, close };
}

/**
 * Listens to a remote MediaStream for `ms` and returns the dominant frequency
 * (Hz) and its level, using WebAudio's AnalyserNode on the stream itself.
 * Run inside the page: pass the expression that yields the stream.
 */
export async function dominantFrequency(
  page: Page,
  streamExpression: string,
  ms = 1500,
): Promise<{ hz: number; level: number }> {
  return page.evaluate(
    async ({ expr, ms }) => {
      const stream = (0, eval)(expr) as MediaStream | null | undefined;
      if (!stream || stream.getAudioTracks().length === 0) return { hz: 0, level: 0 };
      const ctx = new AudioContext();
      const src = ctx.createMediaStreamSource(stream);
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      src.connect(analyser);
      const bins = new Float32Array(analyser.frequencyBinCount);
      const sums = new Float32Array(analyser.frequencyBinCount);
      const until = performance.now() + ms;
      while (performance.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        analyser.getFloatFrequencyData(bins);
        bins.forEach((db, i) => (sums[i] = (sums[i] ?? 0) + Math.pow(10, db / 20)));
      }
      let best = 0;
      sums.forEach((v, i) => {
        if (v > (sums[best] ?? 0)) best = i;
      });
      const hz = (best * ctx.sampleRate) / analyser.fftSize;
      const level = (sums[best] ?? 0) / (ms / 100);
      await ctx.close();
      return { hz, level };
    },
    { expr: streamExpression, ms },
  );
}
