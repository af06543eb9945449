import { describe, expect, it } from 'vitest';
import { StatsSampler, eModel, mosFromR } from './stats';

function report(entries: Record<string, unknown>[]): RTCStatsReport {
  return new Map(entries.map((e) => [e.id as string, e])) as unknown as RTCStatsReport;
}

describe('E-model (ITU-T G.107)', () => {
  it('maps R to MOS with the G.107 Annex B formula and clamps the ends', () => {
    expect(mosFromR(93.2)).toBeCloseTo(4.409, 3);
    expect(mosFromR(50)).toBeCloseTo(2.58, 2);
    expect(mosFromR(0)).toBe(1);
    expect(mosFromR(-5)).toBe(1);
    expect(mosFromR(100)).toBe(4.5);
    expect(mosFromR(120)).toBe(4.5);
  });

  it('gives the default R of 93.2 for G.711 without loss or delay', () => {
    const e = eModel({ codec: 'PCMU', packetLossPct: 0, oneWayDelayMs: 50 });
    expect(e.r).toBeCloseTo(93.2, 5);
    expect(e.mos).toBeCloseTo(4.41, 2);
  });

  it('applies codec Ie (G.729: Ie 11 → R 82.2, MOS ≈ 4.10)', () => {
    const e = eModel({ codec: 'G729', packetLossPct: 0, oneWayDelayMs: 0 });
    expect(e.r).toBeCloseTo(82.2, 5);
    expect(e.mos).toBeCloseTo(4.1, 2);
  });

  it('computes Ie,eff from packet loss and Bpl', () => {
    // G.711 with PLC, Bpl 25.1, 1 % random loss: 95·1/(1+25.1) = 3.64
    const e = eModel({ codec: 'PCMA', packetLossPct: 1, oneWayDelayMs: 0 });
    expect(e.ieEff).toBeCloseTo(3.64, 2);
    expect(e.r).toBeCloseTo(89.56, 2);
    // 5 % loss: 95·5/(5+25.1) = 15.78
    expect(eModel({ codec: 'PCMU', packetLossPct: 5, oneWayDelayMs: 0 }).ieEff).toBeCloseTo(
      15.78,
      2,
    );
  });

  it('adds the delay impairment Idd above 100 ms one-way', () => {
    expect(eModel({ codec: 'PCMU', packetLossPct: 0, oneWayDelayMs: 100 }).id).toBe(0);
    // Ta = 200 ms → X = 1 → Idd = 25·(2^(1/6) − 3·(1+3^-6)^(1/6) + 2) ≈ 3.04
    expect(eModel({ codec: 'PCMU', packetLossPct: 0, oneWayDelayMs: 200 }).id).toBeCloseTo(3.04, 2);
    // Ta = 400 ms is markedly worse (≈ 17.5)
    expect(eModel({ codec: 'PCMU', packetLossPct: 0, oneWayDelayMs: 400 }).id).toBeGreaterThan(15);
  });
});

describe('StatsSampler', () => {
  const base = (t: number, bytesIn: number, bytesOut: number, recv: number, lost: number) =>
    report([
      { id: 'T1', type: 'transport', selectedCandidatePairId: 'CP1' },
      {
        id: 'CP1',
        type: 'candidate-pair',
        localCandidateId: 'L1',
        remoteCandidateId: 'R1',
        currentRoundTripTime: 0.08,
      },
      { id: 'L1', type: 'local-candidate', candidateType: 'host' },
      { id: 'R1', type: 'remote-candidate', candidateType: 'relay' },
      { id: 'C1', type: 'codec', mimeType: 'audio/opus' },
      {
        id: 'IN',
        type: 'inbound-rtp',
        kind: 'audio',
        timestamp: t,
        codecId: 'C1',
        bytesReceived: bytesIn,
        packetsReceived: recv,
        packetsLost: lost,
        jitter: 0.01,
        audioLevel: 0.3,
        jitterBufferDelay: 4,
        jitterBufferEmittedCount: 100,
      },
      {
        id: 'OUT',
        type: 'outbound-rtp',
        kind: 'audio',
        timestamp: t,
        bytesSent: bytesOut,
        codecId: 'C1',
      },
      { id: 'RIN', type: 'remote-inbound-rtp', kind: 'audio', roundTripTime: 0.06 },
    ]);

  it('computes per-interval bitrate and loss, RTT, jitter and MOS', () => {
    const s = new StatsSampler(() => 0);
    s.sample(base(1000, 0, 0, 0, 0));
    // 1 s later: 4000 bytes in = 32 kbit/s, 5000 out = 40 kbit/s, 48 received + 2 lost = 4 % loss
    const r = s.sample(base(2000, 4000, 5000, 48, 2));
    expect(r.codec).toBe('opus');
    expect(r.bitrateKbpsIn).toBeCloseTo(32, 5);
    expect(r.bitrateKbpsOut).toBeCloseTo(40, 5);
    expect(r.packetLossPct).toBeCloseTo(4, 5);
    expect(r.rttMs).toBeCloseTo(60, 5); // remote-inbound-rtp wins over the pair's estimate
    expect(r.jitterMs).toBeCloseTo(10, 5);
    expect(r.audioLevel).toBe(0.3);
    expect(r.candidatePair).toBe('host/relay');
    // Ta = 60/2 + 40 ms jitter buffer = 70 ms → no delay impairment; Opus Bpl 20, 4 % loss
    const expected = eModel({ codec: 'opus', packetLossPct: 4, oneWayDelayMs: 70 });
    expect(r.rFactor).toBeCloseTo(expected.r, 5);
    expect(r.mos).toBeCloseTo(expected.mos, 5);
    expect(r.mos).toBeLessThan(4.2);
  });

  it('reports no loss and full quality on a clean interval', () => {
    const s = new StatsSampler(() => 0);
    s.sample(base(1000, 0, 0, 0, 0));
    const r = s.sample(base(2000, 4000, 4000, 50, 0));
    expect(r.packetLossPct).toBe(0);
    expect(r.mos).toBeGreaterThan(4.3);
  });
});
