import { describe, expect, it } from 'vitest';
import { lowPointGrowth } from './endurance.js';

// The soak's memory rule (growth under 5 % after warm-up) on synthetic series
// shaped like what the soak samples every 10 s: a garbage-collected heap that
// climbs and drops back (sawtooth), with and without a leak under it.

const MB = 1024;
/** n samples of a heap: floor + (floor growth per sample) · i, plus a tooth climbing `tooth` kB over `period` samples. */
function heap(opts: {
  n: number;
  floorKb: number;
  leakKbPerSample: number;
  toothKb: number;
  period: number;
  phase?: number;
}): number[] {
  return Array.from({ length: opts.n }, (_, i) => {
    const t = ((i + (opts.phase ?? 0)) % opts.period) / (opts.period - 1);
    return opts.floorKb + opts.leakKbPerSample * i + opts.toothKb * t;
  });
}

/** The rule it replaces: the mean of the first three samples against the mean of the last three. */
const firstLastThree = (s: number[]) => {
  const avg = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
  return (avg(s.slice(-3)) - avg(s.slice(0, 3))) / avg(s.slice(0, 3));
};

describe('soak memory rule: low points, not averages', () => {
  it('a sawtooth with no leak passes, where the first-three/last-three averages read over 5 %', () => {
    // about 10 minutes at 10 s (56 samples); the heap climbs 12 MB over 7 samples, then GC drops it
    const s = heap({
      n: 56,
      floorKb: 70 * MB,
      leakKbPerSample: 0,
      toothKb: 12 * MB,
      period: 7,
      phase: 0,
    });
    // the last three samples sit high on a tooth, the first three at its foot
    expect(firstLastThree(s)).toBeGreaterThan(0.05);
    expect(lowPointGrowth(s)).toBe(0);
  });

  it('the case the soak met: its last sample below its first, still flat', () => {
    const s = heap({
      n: 60,
      floorKb: 70 * MB,
      leakKbPerSample: 0,
      toothKb: 10 * MB,
      period: 9,
      phase: 4,
    });
    expect(s[s.length - 1]!).toBeLessThan(s[0]!);
    expect(Math.abs(lowPointGrowth(s))).toBeLessThan(0.05);
  });

  it('a slow leak under the sawtooth fails: the floor rises 10 % over the soak', () => {
    const s = heap({
      n: 60,
      floorKb: 70 * MB,
      leakKbPerSample: (7 * MB) / 60,
      toothKb: 12 * MB,
      period: 7,
      phase: 3,
    });
    expect(lowPointGrowth(s)).toBeGreaterThanOrEqual(0.05);
  });

  it('a slow leak with no GC teeth at all fails; a flat series passes', () => {
    const leak = heap({
      n: 60,
      floorKb: 100 * MB,
      leakKbPerSample: (8 * MB) / 60,
      toothKb: 0,
      period: 2,
    });
    expect(lowPointGrowth(leak)).toBeGreaterThanOrEqual(0.05);
    expect(lowPointGrowth(Array.from({ length: 60 }, () => 50 * MB))).toBe(0);
  });

  it('short mode (a few samples) still gives a figure; fewer than two samples give 0', () => {
    const s = heap({ n: 9, floorKb: 70 * MB, leakKbPerSample: 0, toothKb: 8 * MB, period: 3 });
    expect(lowPointGrowth(s)).toBe(0);
    expect(lowPointGrowth([5 * MB])).toBe(0);
    expect(lowPointGrowth([])).toBe(0);
  });
});
