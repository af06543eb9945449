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
// browser mixes). 1001 (1000 Hz) calls 1002 (600 Hz), then 1003 (800 Hz) on a
// second line, and merges: each of the three must hear BOTH other parties'
// tones, and never only one (crossed or missing mix legs are caught because
// every party has its own tone).

const TOL_BINS = 2;
const MIN_LEVEL = 0.003;
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

describe('local three-way conference in the browser', () => {
  beforeAll(async () => {
    ensureSoftphoneBuilt();
    clearFailureShots('transfer-conference');
    stack = await startE2eStack('transfer-conference');
    a = await launchPhone('1001', 1000, stack.baseUrl);
    b = await launchPhone('1002', 600, stack.baseUrl);
    c = await launchPhone('1003', 800, stack.baseUrl);
    await loginDemo(a, '1001');
    await loginDemo(b, '1002');
    await loginDemo(c, '1003');
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') {
      for (const p of [a, b, c])
        await failureShot(p.page, 'transfer-conference', ctx.task.name, p.name);
      process.stderr.write(
        `\n[e2e] ${ctx.task.name} failed:\n${stack.logs(40)}\n${report(a)}\n${report(b)}\n${report(c)}\n`,
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

    const heardA = await expectHears(a, [600, 800]);
    const heardB = await expectHears(b, [1000, 800]);
    const heardC = await expectHears(c, [1000, 600]);
    process.stdout.write(
      `[e2e] conference: 1001 ${JSON.stringify(heardA)} 1002 ${JSON.stringify(heardB)} 1003 ${JSON.stringify(heardC)}\n`,
    );
    // nobody hears their own tone back through the mixer: it stays 26 dB or
    // more under the weaker of the two tones that party does hear
    for (const [p, own, heard] of [
      [a, 1000, heardA],
      [b, 600, heardB],
      [c, 800, heardC],
    ] as const) {
      const l = await toneLevels(p.page, [own]);
      const weakest = Math.min(...Object.values(heard.levels));
      expect(
        l.levels[own] ?? 0,
        `${p.name} hears its own ${own} Hz: ${JSON.stringify(l)} vs ${JSON.stringify(heard)}`,
      ).toBeLessThan(weakest / 20);
    }
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
    await waitNoLiveCall(a.page, 20_000);
    // 1002 and 1003 now talk to each other: each hears the other's tone, and neither hears 1001
    const bHears = await anyRemoteTone(b.page, 800, {
      tol: 30,
      minLevel: MIN_LEVEL,
      timeoutMs: 15_000,
    });
    expect(Math.abs(bHears.hz - 800), `1002 hears ${JSON.stringify(bHears)}`).toBeLessThanOrEqual(
      30,
    );
    expect(bHears.level).toBeGreaterThan(MIN_LEVEL);
    const cHears = await anyRemoteTone(c.page, 600, {
      tol: 30,
      minLevel: MIN_LEVEL,
      timeoutMs: 15_000,
    });
    expect(Math.abs(cHears.hz - 600), `1003 hears ${JSON.stringify(cHears)}`).toBeLessThanOrEqual(
      30,
    );
    expect(cHears.level).toBeGreaterThan(MIN_LEVEL);
    for (const p of [b, c]) {
      const l = await toneLevels(p.page, [1000]);
      expect(l.levels[1000] ?? 0, `${p.name} still hears 1001: ${JSON.stringify(l)}`).toBeLessThan(
        MIN_LEVEL,
      );
    }
  });
});
