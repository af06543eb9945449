import { describe, expect, it } from 'vitest';
import { ulawToLinear } from './audio.js';
import { streamStats, type RtpPacket } from './rtp.js';

/** u-law encoder (G.711), for making test payloads only. */
function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function stream(
  hz: number,
  n: number,
  opts: { drop?: Set<number>; silentFrom?: number; jitterMs?: number } = {},
): RtpPacket[] {
  const out: RtpPacket[] = [];
  for (let i = 0; i < n; i++) {
    if (opts.drop?.has(i)) continue;
    const payload = new Uint8Array(160);
    for (let k = 0; k < 160; k++) {
      const v =
        opts.silentFrom !== undefined && i >= opts.silentFrom
          ? 0
          : 12000 * Math.sin((2 * Math.PI * hz * (i * 160 + k)) / 8000);
      payload[k] = linearToUlaw(v);
    }
    const wobble = opts.jitterMs ? ((i % 2 ? 1 : -1) * opts.jitterMs) / 1000 : 0;
    out.push({
      t: 100 + i * 0.02 + wobble,
      src: '127.0.0.1:30000',
      dst: '127.0.0.1:4000',
      ssrc: 7,
      seq: (65500 + i) % 65536,
      ts: i * 160,
      pt: 0,
      marker: false,
      payload,
    });
  }
  return out;
}

describe('RTP stream statistics', () => {
  it('G.711 u-law decoding', () => {
    expect(ulawToLinear(0xff)).toBe(0);
    expect(ulawToLinear(0x80)).toBe(32124);
    expect(ulawToLinear(0x00)).toBe(-32124);
    expect(ulawToLinear(linearToUlaw(1000))).toBeCloseTo(1000, -2);
  });

  it('a clean 600 Hz stream: no loss, tone found, MOS at the G.711 ceiling (sequence wrap handled)', () => {
    const [s] = streamStats(stream(600, 150));
    expect(s).toMatchObject({ packets: 150, expected: 150, lost: 0, lossPct: 0, mos: 4.4 });
    expect(Math.abs(s!.toneHz! - 600)).toBeLessThanOrEqual(10);
    expect(s!.maxSilenceMs).toBeLessThan(30);
  });

  it('loss, jitter and the MOS they cost', () => {
    const drop = new Set(Array.from({ length: 10 }, (_, i) => 20 + i * 10));
    const [s] = streamStats(stream(1000, 150, { drop, jitterMs: 5 }));
    expect(s!.lost).toBe(10);
    expect(s!.lossPct).toBeCloseTo(6.67, 1);
    expect(s!.jitterMs).toBeGreaterThan(5);
    expect(s!.mos).toBeLessThan(4);
    expect(Math.abs(s!.toneHz! - 1000)).toBeLessThanOrEqual(10);
  });

  it('silence: a quiet tail counts as silence', () => {
    const [s] = streamStats(stream(600, 150, { silentFrom: 100 }));
    expect(s!.maxSilenceMs).toBeGreaterThanOrEqual(980);
  });

  it('RFC 4733 events become digits, one per event', () => {
    const ev = (digit: number, ts: number, seq: number): RtpPacket => ({
      t: 200 + seq * 0.02,
      src: 'a:1',
      dst: 'b:2',
      ssrc: 9,
      seq,
      ts,
      pt: 101,
      marker: false,
      payload: Uint8Array.from([digit, 10, 0, 160]),
    });
    const audio = stream(600, 20).map((p) => ({ ...p, src: 'a:1', dst: 'b:2', ssrc: 9 }));
    const [s] = streamStats([
      ...audio,
      ev(1, 5000, 30),
      ev(1, 5000, 31),
      ev(11, 9000, 40),
      ev(11, 9000, 41),
    ]);
    expect(s!.dtmf).toBe('1#');
  });
});
