import type { Page } from 'playwright-core';

// In-page stamps for the softphone benchmark, all on the page's own clock
// (performance.now(), 0 = navigation start), so no Node↔browser clock mixing:
//   click:<testid>            a click on an element with that data-testid (capture phase)
//   registration:<state>      first time registration-status showed that data-state
//   call:<state>              first time call-state showed that data-state
//   audio                     first inbound-rtp audio packet with audioLevel > 0 (poller)
// window.__bench.reset() clears the stamps between iterations.

export const BENCH_INIT = () => {
  const w = window as unknown as {
    __bench?: { marks: Record<string, number>; reset(): void; watchAudio(): void };
    __e2e?: { pcs: RTCPeerConnection[] };
  };
  if (w.__bench) return;
  const bench = {
    marks: {} as Record<string, number>,
    reset() {
      bench.marks = {};
      last.registration = '';
      last.call = '';
    },
    /** Poll the page's peer connections until audio arrives (bounded to 20 s). */
    watchAudio() {
      const until = performance.now() + 20_000;
      const tick = async () => {
        if ('audio' in bench.marks || performance.now() > until) return;
        for (const pc of w.__e2e?.pcs ?? []) {
          if (pc.signalingState === 'closed') continue;
          const stats = await pc.getStats();
          let heard = false;
          stats.forEach((s: Record<string, unknown>) => {
            if (
              s.type === 'inbound-rtp' &&
              s.kind === 'audio' &&
              Number(s.packetsReceived ?? 0) > 0 &&
              Number(s.audioLevel ?? 0) > 0
            )
              heard = true;
          });
          if (heard) {
            bench.marks.audio ??= performance.now();
            return;
          }
        }
        setTimeout(() => void tick(), 5);
      };
      void tick();
    },
  };
  const last = { registration: '', call: '' };
  w.__bench = bench;
  document.addEventListener(
    'click',
    (e) => {
      const el = (e.target as Element | null)?.closest?.('[data-testid]');
      const id = el?.getAttribute('data-testid');
      if (id) bench.marks[`click:${id}`] = performance.now();
    },
    true,
  );
  const check = () => {
    for (const [key, id] of [
      ['registration', 'registration-status'],
      ['call', 'call-state'],
    ] as const) {
      const v = document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-state') ?? '';
      if (v && v !== last[key]) {
        last[key] = v;
        bench.marks[`${key}:${v}`] ??= performance.now();
      }
    }
  };
  const start = () =>
    new MutationObserver(check).observe(document.documentElement, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-state'],
    });
  if (document.documentElement) start();
  else document.addEventListener('DOMContentLoaded', start);
};

export async function marks(page: Page): Promise<Record<string, number>> {
  return page.evaluate(
    () => (window as unknown as { __bench: { marks: Record<string, number> } }).__bench.marks,
  );
}

export async function resetMarks(page: Page): Promise<void> {
  await page.evaluate(() => (window as unknown as { __bench: { reset(): void } }).__bench.reset());
}

export async function watchAudio(page: Page): Promise<void> {
  await page.evaluate(() =>
    (window as unknown as { __bench: { watchAudio(): void } }).__bench.watchAudio(),
  );
}

export function median(xs: number[]): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}
