import { describe, expect, it } from 'vitest';
import { mos, mosFromR, rFactor } from './mos.js';

describe('E-model MOS estimate', () => {
  it('gives the G.711 ceiling (4.4) for a clean stream', () => {
    expect(rFactor({ lossPct: 0, jitterMs: 0 })).toBeCloseTo(93.2 - 0.024 * 20.125, 3);
    expect(mos({ lossPct: 0, jitterMs: 0 })).toBe(4.4); // 1 + 0.035·92.72 + 7e-6·92.72·32.72·7.28
  });

  it('falls with loss as G.107 with Bpl 25.1 says', () => {
    // 5 % random loss: Ie,eff = 95 * 5 / (5 + 25.1) = 15.78
    const r = rFactor({ lossPct: 5, jitterMs: 0 });
    expect(r).toBeCloseTo(93.2 - 0.483 - 15.78, 1);
    expect(mos({ lossPct: 5, jitterMs: 0 })).toBe(3.9); // R = 76.94
    expect(mos({ lossPct: 20, jitterMs: 0 })).toBeLessThan(3);
  });

  it('adds the delay impairment past 177.3 ms', () => {
    const near = rFactor({ lossPct: 0, jitterMs: 0, networkDelayMs: 150 });
    const far = rFactor({ lossPct: 0, jitterMs: 0, networkDelayMs: 300 });
    expect(near - far).toBeGreaterThan(0.024 * 150 + 0.11 * (320.125 - 177.3) - 0.01);
  });

  it('clamps the R → MOS mapping', () => {
    expect(mosFromR(-5)).toBe(1);
    expect(mosFromR(120)).toBe(4.5);
    expect(mosFromR(50)).toBeCloseTo(1 + 1.75 + 7e-6 * 50 * -10 * 50, 5);
  });
});
