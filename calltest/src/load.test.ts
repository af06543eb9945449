import { describe, expect, it } from 'vitest';
import type { Aggregates } from './report/aggregate.js';
import { checkAssertions, parseAssertions, parseDuration, parseLoadArgs } from './load.js';

describe('load arguments and assertions', () => {
  it('parses a ramp and bounds it', () => {
    const la = parseLoadArgs({ cps: '5:50', step: '5/30s', duration: '10m' });
    expect(la).toMatchObject({ cpsStart: 5, cpsMax: 50, step: 5, stepSec: 30, durationSec: 600 });
    // no --max-calls: the most the ramp could place in the duration
    expect(la.maxCalls).toBe(30_000);
    expect(la.mediaSampleSec).toBe(30);
    expect(parseDuration('1h')).toBe(3600);
    expect(() => parseLoadArgs({ cps: '50:5' })).toThrow(/MAX must be/);
    expect(() => parseLoadArgs({ cps: 'fast' })).toThrow(/START\[:MAX\]/);
    expect(() => parseLoadArgs({ cps: '5', duration: '48h' })).toThrow(/at most 24h/);
  });

  it('checks assertions against the aggregates', () => {
    const a = {
      calls: 100,
      answered: 99,
      asr: 99,
      acdMs: 3000,
      pddP50: 10,
      pddP95: 2500,
      mosP5: 4.1,
      failuresByCode: { '503': 1 },
      cpsAchieved: 9.5,
      cpsPeak: 11,
      peakConcurrency: 30,
    } as Aggregates;
    const list = parseAssertions('asr>=99, pdd_p95<2000,mos_p5>=3.8,failed==1,cps_ratio>=0.9');
    const r = checkAssertions(list, a, parseLoadArgs({ cps: '10' }));
    expect(r.map((x) => [x.expr, x.ok, x.actual])).toEqual([
      ['asr>=99', true, '99'],
      ['pdd_p95<2000', false, '2500'],
      ['mos_p5>=3.8', true, '4.1'],
      ['failed==1', true, '1'],
      ['cps_ratio>=0.9', true, '0.95'],
    ]);
    expect(() => parseAssertions('speed>3')).toThrow(/unknown metric speed/);
    expect(() => parseAssertions('asr 99')).toThrow(/want metric OP number/);
  });
});
