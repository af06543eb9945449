import { describe, expect, it } from 'vitest';
import type { CallRow } from '../runner.js';
import { aggregate, cpsSeries, percentile } from './aggregate.js';

const call = (i: number, over: Partial<CallRow> = {}): CallRow => ({
  leg: 'caller',
  callId: `c${i}`,
  method: 'INVITE',
  finalCode: 200,
  pddMs: 10 * (i + 1),
  durationMs: 1000,
  mos: 4.4,
  lossPct: 0,
  failed: false,
  start: 1_000_000 + i * 500,
  ...over,
});

describe('report aggregates', () => {
  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(10);
    expect(percentile(v, 95)).toBe(19);
    expect(percentile(v, 5)).toBe(1);
    expect(percentile([], 50)).toBeUndefined();
  });

  it('ASR, ACD, PDD, MOS, failures by code, achieved rate and peak concurrency', () => {
    const rows = [
      ...Array.from({ length: 8 }, (_, i) => call(i)),
      call(8, { finalCode: 486, durationMs: undefined, failed: true }),
      call(9, {
        finalCode: undefined,
        pddMs: undefined,
        durationMs: undefined,
        failed: true,
        mos: 3.1,
      }),
      // a REGISTER row does not count as a call
      call(10, { method: 'REGISTER' }),
    ];
    const a = aggregate(rows);
    expect(a.calls).toBe(10);
    expect(a.answered).toBe(8);
    expect(a.asr).toBe(80);
    expect(a.acdMs).toBe(1000);
    expect(a.pddP50).toBe(50);
    expect(a.pddP95).toBe(90);
    expect(a.mosP5).toBe(3.1);
    expect(a.failuresByCode).toEqual({ '486': 1, 'no answer': 1 });
    // 10 calls started over 4.5 s
    expect(a.cpsAchieved).toBe(2);
    expect(a.cpsPeak).toBe(2);
    // each call lasts ~1.01-1.08 s and one starts every 0.5 s: 3 at once at most
    expect(a.peakConcurrency).toBe(3);
  });

  it('calls per second over time', () => {
    const rows = Array.from({ length: 5 }, (_, i) => call(i));
    expect(cpsSeries(rows)).toEqual([
      { t: 0, cps: 2 },
      { t: 1, cps: 2 },
      { t: 2, cps: 1 },
    ]);
  });
});

describe('aggregates over a scenario run', () => {
  it('count the placing side only (a call seen by caller and callee is one call)', () => {
    const rows = [
      call(0, { side: 'uac' }),
      call(0, { side: 'uas', leg: 'callee', start: 1_000_009 }),
    ];
    const a = aggregate(rows);
    expect(a.calls).toBe(1);
    // one call in under a second: a count, not a rate
    expect(a.cpsAchieved).toBe(1);
  });
});
