import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startE2eStack, type E2eStack } from './harness/stack.js';
import {
  answer,
  byId,
  dial,
  hangup,
  launchPhone,
  loginDemo,
  report,
  until,
  anyRemoteTone,
  waitCallState,
  waitLinesReleased,
  waitNoLiveCall,
  type Phone,
} from './harness/softphone.js';
import { clearFailureShots, ensureSoftphoneBuilt, failureShot } from './harness/artifacts.js';

// Issue 11 ("Test depth"): the softphone's local three-way conference (this
// browser mixes). 1001 (1000 Hz) calls 1002 (600 Hz), then 1003 (750 Hz) on a
// second line, and merges: each of the three must hear BOTH other parties'
// tones, and never only one (crossed or missing mix legs are caught because
// every party has its own tone).

const TOL_BINS = 2;
const MIN_LEVEL = 0.003;
/**
 * 1003's tone. Not 800 Hz: a party hearing two tones f1, f2 also hears their
 * intermodulation (Opus, the mix) at 2f1 - f2 and 2f2 - f1, and with 600 /
 * 800 / 1000 Hz those land on the listener's own tone (2*800 - 1000 = 600 for
 * 1002, 2*800 - 600 = 1000 for 1001): seen at 26 dB under the heard tones,
 * which the own-tone check took for a leak. With 750 Hz no second- or
 * third-order product of two tones falls on the third tone or on PROBES.
 */
const C_HZ = 750;
/**
 * Tones nobody sends, 75 Hz or more from the three and from every second- and
 * third-order product of two of them: the noise floor near the tones (Opus
 * coding noise, concealment of late packets on a busy machine).
 */
const PROBES = [825, 1125];
/**
 * Init script: the softphone's voice processing off (its Settings switches,
 * stored before the app reads them). A fake microphone has no acoustic path
 * back from the speaker, so echo cancellation has nothing to cancel; under
 * load its filter misconverges and subtracts a copy of what the page plays
 * from what it sends, which puts a party's own tone back into its ears
 * (seen: 1001 heard its 1000 Hz at 22 dB under the others, with the floor at
 * 700 Hz 40 dB under). This test is about the mixer, not about AEC.
 */
const NO_VOICE_PROCESSING = () => {
  const key = 'softphone.settings.v1';
  let stored: Record<string, unknown> = {};
  try {
    stored = JSON.parse(localStorage.getItem(key) ?? '{}') as Record<string, unknown>;
  } catch {
    stored = {};
  }
  const webrtc = typeof stored.webrtc === 'object' && stored.webrtc ? stored.webrtc : {};
  stored.webrtc = {
    ...webrtc,
    echoCancellation: false,
    noiseSuppression: false,
    autoGainControl: false,
  };
  localStorage.setItem(key, JSON.stringify(stored));
};
let stack: E2eStack;
let a: Phone;
let b: Phone;
let c: Phone;

/**
 * Levels of the given tones (and the median noise) over every remote <audio>
 * stream of the page, summed: an analyser per stream, fed for `ms`.
 */
async function toneLevels(
  page: Page,
  tones: number[],
  ms = 1500,
): Promise<{ levels: Record<number, number>; noise: number; streams: number }> {
  return page.evaluate(
    async ({ tones, ms, tol }) => {
      const els = [...document.querySelectorAll('audio[data-testid^="remote-audio"]')];
      const streams = els
        .map((e) => (e as HTMLAudioElement).srcObject)
        .filter((s): s is MediaStream => s instanceof MediaStream && s.getAudioTracks().length > 0);
      const ctx = new AudioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      for (const s of streams) ctx.createMediaStreamSource(s).connect(analyser);
      const bins = new Float32Array(analyser.frequencyBinCount);
      const sums = new Float32Array(analyser.frequencyBinCount);
      const end = performance.now() + ms;
      let n = 0;
      while (performance.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        analyser.getFloatFrequencyData(bins);
        bins.forEach((db, i) => (sums[i] = (sums[i] ?? 0) + Math.pow(10, db / 20)));
        n++;
      }
      const binHz = ctx.sampleRate / analyser.fftSize;
      const levels: Record<number, number> = {};
      for (const hz of tones) {
        const k = Math.round(hz / binHz);
        let best = 0;
        for (let i = k - tol; i <= k + tol; i++) best = Math.max(best, sums[i] ?? 0);
        levels[hz] = best / Math.max(n, 1);
      }
      const sorted = [...sums].sort((x, y) => x - y);
      const noise = (sorted[Math.floor(sorted.length / 2)] ?? 0) / Math.max(n, 1);
      await ctx.close();
      return { levels, noise, streams: streams.length };
    },
    { tones, ms, tol: TOL_BINS },
  );
}

/**
 * Wait until `page` hears every tone of `hear` above MIN_LEVEL (the level scale
 * of harness/browser.ts dominantFrequency) and `ratio` times the median bin.
 * A party's own tone leaking back sits around 1e-4: far under MIN_LEVEL.
 */
async function expectHears(p: Phone, hear: number[], ratio = 30) {
  let last: Awaited<ReturnType<typeof toneLevels>> | undefined;
  try {
    return await until(
      `${p.name} to hear ${hear.join(' Hz + ')} Hz`,
      async () => {
        last = await toneLevels(p.page, hear);
        return (
          hear.every((hz) => {
            const l = last?.levels[hz] ?? 0;
            return l > MIN_LEVEL && l > ratio * (last?.noise ?? 1);
          }) && last
        );
      },
      15_000,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last ${JSON.stringify(last)}`);
  }
}

/**
 * What a softphone's lines and RTCPeerConnections do now (for a failed check):
 * each line's state, and per open RTCPeerConnection its state and the inbound
 * audio packets and level.
 */
async function mediaReport(p: Phone): Promise<string> {
  const lines = await p.page.$$eval('[data-testid^="line-"]', (els) =>
    els.map((e) => `${e.getAttribute('data-testid')}=${e.getAttribute('data-state')}`).join(' '),
  );
  const pcs = await p.page.evaluate(async () => {
    const rec = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e;
    const out: string[] = [];
    for (const [i, pc] of (rec?.pcs ?? []).entries()) {
      if (pc.signalingState === 'closed') continue;
      let audio = '';
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio')
          audio += ` in ${String(s.packetsReceived)} pkts level ${Number(s.audioLevel ?? 0).toFixed(4)}`;
      });
      const dirs = pc.getTransceivers().map((t) => t.currentDirection ?? t.direction);
      out.push(`pc${i} ${pc.connectionState} ${dirs.join('/')}${audio}`);
    }
    return out.join('; ');
  });
  return `${p.name}: ${lines}; ${pcs}`;
}

describe('local three-way conference in the browser', () => {
  beforeAll(async () => {
    ensureSoftphoneBuilt();
    clearFailureShots('transfer-conference');
    stack = await startE2eStack('transfer-conference');
    a = await launchPhone('1001', 1000, stack.baseUrl);
    b = await launchPhone('1002', 600, stack.baseUrl);
    c = await launchPhone('1003', C_HZ, stack.baseUrl);
    for (const p of [a, b, c]) await p.context.addInitScript(NO_VOICE_PROCESSING);
    await loginDemo(a, '1001');
    await loginDemo(b, '1002');
    await loginDemo(c, '1003');
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') {
      for (const p of [a, b, c])
        await failureShot(p.page, 'transfer-conference', ctx.task.name, p.name);
      const media: string[] = [];
      for (const p of [a, b, c]) media.push(await mediaReport(p).catch((e: Error) => e.message));
      process.stderr.write(
        `\n[e2e] ${ctx.task.name} failed:\n${stack.logs(40)}\n${report(a)}\n${report(b)}\n${report(c)}\n${media.join('\n')}\n`,
      );
    }
    for (const p of [a, b, c]) await hangup(p.page).catch(() => undefined);
    for (const p of [a, b, c]) {
      await waitNoLiveCall(p.page).catch(() => undefined);
      await waitLinesReleased(p.page);
    }
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await c?.close();
    await stack?.stop();
  });

  it('1001 calls 1002 and 1003 and merges: each of the three hears the other two tones', async () => {
    await dial(a.page, '1002');
    await byId(b.page, 'answer-button').waitFor({ state: 'visible', timeout: 15_000 });
    await answer(b.page);
    await waitCallState(b.page, 'established', 15_000);
    await waitCallState(a.page, 'established', 15_000);

    // a second line from 1001 (the first goes on hold)
    await dial(a.page, '1003');
    await byId(c.page, 'answer-button').waitFor({ state: 'visible', timeout: 15_000 });
    await answer(c.page);
    await waitCallState(c.page, 'established', 15_000);

    const merge = byId(a.page, 'merge-button');
    await merge.waitFor({ state: 'visible', timeout: 15_000 });
    await merge.click();
    await byId(a.page, 'split-button').waitFor({ state: 'visible', timeout: 15_000 });

    // each of the three hears both others: this waits until the merged media
    // flows everywhere (1002 was on hold until the merge, its audio resumes
    // with the un-hold re-INVITE)
    const parties = [
      [a, 1000, [600, C_HZ]],
      [b, 600, [1000, C_HZ]],
      [c, C_HZ, [1000, 600]],
    ] as const;
    for (const [p, , hear] of parties) await expectHears(p, [...hear]);
    // Nobody hears their own tone back through the mixer. Measured once every
    // path flows, in ONE window with the tones the party hears: an own-tone
    // level compared with a level from an earlier window that began before
    // 1002's audio was back compares with a tone heard for only part of that
    // window (seen: 600 Hz at 0.0062 instead of 0.0135, a 22.6 dB margin).
    // A real leak (a party's own stream in its mix) comes back as loud as
    // the other party's stream that crosses 1001's mixer the same way, the
    // louder tone the party hears. What is there instead is noise: Opus
    // coding noise, and on a busy machine concealment of late packets, which
    // lifts the floor near the tones to 20 dB under them (seen: 1001's own
    // 1000 Hz at 0.00138 with 700 Hz, which nobody sends, at 0.00111). So the
    // own tone must stay 26 dB under the louder heard tone or within 3x the
    // floor at PROBES; a leak, as loud as the heard tones, fails both. Not
    // against the weaker tone: one source can come through at a third of its
    // level for seconds (seen: 1002 heard 1001's 1000 Hz at 0.0049 beside
    // 1003's 750 Hz at 0.0147). The window judged is one where both heard
    // tones ran through it if one comes (the weaker at least half the
    // stronger; at most 4 windows).
    const seen: string[] = [];
    for (const [p, own, hear] of parties) {
      let l = await toneLevels(p.page, [...hear, own, ...PROBES]);
      const at = (hz: number) => l.levels[hz] ?? 0;
      for (
        let tries = 1;
        tries < 4 && Math.min(...hear.map(at)) < Math.max(...hear.map(at)) / 2;
        tries++
      )
        l = await toneLevels(p.page, [...hear, own, ...PROBES]);
      const weakest = Math.min(...hear.map(at));
      const loudest = Math.max(...hear.map(at));
      const what = `${p.name}: ${JSON.stringify(l)}`;
      expect(weakest, `${p.name} still hears both others: ${what}`).toBeGreaterThan(MIN_LEVEL);
      const floor = Math.max(...PROBES.map(at));
      expect(at(own), `${p.name} hears its own ${own} Hz: ${what}`).toBeLessThan(
        Math.max(loudest / 20, 3 * floor),
      );
      seen.push(
        `${p.name} hears ${hear.map((hz) => `${hz} Hz ${at(hz).toFixed(4)}`).join(', ')}, own ${own} Hz ${at(own).toFixed(5)} (${(20 * Math.log10(loudest / Math.max(at(own), 1e-9))).toFixed(1)} dB under the louder), floor ${floor.toFixed(5)}`,
      );
    }
    // what the microphones really run with (NO_VOICE_PROCESSING took effect)
    const aec = await a.page.evaluate(() =>
      ((window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e?.pcs ?? [])
        .flatMap((pc) => (pc.signalingState === 'closed' ? [] : pc.getSenders()))
        .map((snd) => snd.track?.getSettings().echoCancellation),
    );
    expect(aec.length, '1001 sends on its calls').toBeGreaterThan(0);
    expect(
      aec.filter((on) => on === true),
      `1001's echo cancellation: ${JSON.stringify(aec)}`,
    ).toEqual([]);
    process.stdout.write(`[e2e] conference: ${seen.join('; ')}\n`);
  });

  it('attended transfer (REFER with Replaces): 1001 consults 1003 and transfers 1002 to it; 1002 and 1003 hear each other, 1001 is out', async () => {
    await dial(a.page, '1002');
    await byId(b.page, 'answer-button').waitFor({ state: 'visible', timeout: 15_000 });
    await answer(b.page);
    await waitCallState(b.page, 'established', 15_000);
    await waitCallState(a.page, 'established', 15_000);
    // consultation call on a second line (the first goes on hold)
    await dial(a.page, '1003');
    await byId(c.page, 'answer-button').waitFor({ state: 'visible', timeout: 15_000 });
    await answer(c.page);
    await waitCallState(c.page, 'established', 15_000);
    // the consultation really carries audio before the transfer
    const consult = await expectHears(c, [1000]);
    expect(consult.levels[1000]).toBeGreaterThan(MIN_LEVEL);

    const sel = byId(a.page, 'attended-transfer-select');
    await sel.waitFor({ state: 'visible', timeout: 15_000 });
    const value = await sel
      .locator('option:not([disabled])')
      .first()
      .getAttribute('value', { timeout: 5000 });
    await sel.selectOption(value ?? '');
    await byId(a.page, 'attended-transfer-button').click();

    // 1001 leaves both calls
    const transferredAt = Date.now();
    await waitNoLiveCall(a.page, 20_000);
    // 1002 and 1003 now talk to each other: each hears the other's tone, and neither hears 1001
    const heard: string[] = [];
    for (const [p, hz] of [
      [b, C_HZ],
      [c, 600],
    ] as const) {
      const got = await anyRemoteTone(p.page, hz, {
        tol: 30,
        minLevel: MIN_LEVEL,
        timeoutMs: 15_000,
      });
      const why = async () =>
        `${p.name} hears ${JSON.stringify(got)} ${Date.now() - transferredAt} ms after the transfer; ${await mediaReport(p)}; all remote streams ${JSON.stringify(await toneLevels(p.page, [600, C_HZ, 1000]))}`;
      if (Math.abs(got.hz - hz) > 30 || !(got.level > MIN_LEVEL)) throw new Error(await why());
      heard.push(`${p.name} ${hz} Hz ${got.level.toFixed(4)} (${got.testid})`);
    }
    for (const p of [b, c]) {
      const l = await toneLevels(p.page, [1000]);
      expect(l.levels[1000] ?? 0, `${p.name} still hears 1001: ${JSON.stringify(l)}`).toBeLessThan(
        MIN_LEVEL,
      );
      heard.push(`${p.name} 1000 Hz ${(l.levels[1000] ?? 0).toFixed(5)}`);
    }
    process.stdout.write(`[e2e] attended transfer: ${heard.join(', ')}\n`);
  });
});
