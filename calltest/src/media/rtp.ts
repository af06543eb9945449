import { decodeG711, dominantFrequency, SILENCE_RMS } from './audio.js';
import { mos } from './mos.js';

// Per-stream RTP statistics from packets read off the wire (tshark): packets,
// loss (RFC 3550 expected vs received), interarrival jitter (RFC 3550 §6.4.1),
// the E-model MOS, the longest gap of silence/no packets, and the tone.

export interface RtpPacket {
  /** Arrival time, seconds since the epoch. */
  t: number;
  src: string;
  dst: string;
  ssrc: number;
  seq: number;
  ts: number;
  pt: number;
  marker: boolean;
  /** Raw payload (absent when not kept). */
  payload?: Uint8Array;
}

export interface StreamStats {
  src: string;
  dst: string;
  ssrc: string;
  pt: number;
  packets: number;
  expected: number;
  lost: number;
  lossPct: number;
  jitterMs: number;
  mos: number;
  firstT: number;
  lastT: number;
  /** Longest stretch (ms) with no packets or with decoded audio below the silence level. */
  maxSilenceMs: number;
  /** Dominant frequency of the decoded audio (G.711 only). */
  toneHz?: number;
  rms?: number;
  /** RFC 4733 events seen (digits). */
  dtmf: string;
  /** Only telephone-events (no audio): loss, jitter and MOS are not meaningful. */
  eventsOnly?: boolean;
}

const clockRate = (pt: number) => (pt === 111 ? 48000 : 8000);
const DTMF_EVENTS = '0123456789*#ABCD';

export function streamStats(packets: RtpPacket[], dtmfPt = 101): StreamStats[] {
  const groups = new Map<string, RtpPacket[]>();
  for (const p of packets) {
    const k = `${p.src}>${p.dst}>${p.ssrc}`;
    const g = groups.get(k) ?? [];
    g.push(p);
    groups.set(k, g);
  }
  const out: StreamStats[] = [];
  for (const g of groups.values()) {
    g.sort((a, b) => a.t - b.t);
    const audio = g.filter((p) => p.pt !== dtmfPt && p.pt < 72);
    const events = g.filter((p) => p.pt === dtmfPt || (p.pt >= 96 && p.pt !== 111));
    const main = audio.length ? audio : g;
    // loss over extended sequence numbers (wrap-around handled)
    let ext = 0;
    let prev = main[0]!.seq;
    let min = 0;
    let max = 0;
    const seen = new Set<number>();
    for (const p of main) {
      let d = p.seq - prev;
      if (d < -32768) d += 65536;
      else if (d > 32768) d -= 65536;
      ext += d;
      prev = p.seq;
      min = Math.min(min, ext);
      max = Math.max(max, ext);
      seen.add(ext);
    }
    const expected = max - min + 1;
    const lost = Math.max(0, expected - seen.size);
    // RFC 3550 jitter: J += (|D| - J) / 16, D in timestamp units
    const rate = clockRate(main[0]!.pt);
    let j = 0;
    for (let i = 1; i < main.length; i++) {
      const a = main[i - 1]!;
      const b = main[i]!;
      const d = (b.t - a.t) * rate - (b.ts - a.ts);
      j += (Math.abs(d) - j) / 16;
    }
    const jitterMs = (j / rate) * 1000;
    const lossPct = expected > 0 ? (lost / expected) * 100 : 0;
    // silence: gaps between packets, and packets whose decoded audio is quiet
    let maxSilenceMs = 0;
    let silentSince: number | undefined;
    const g711 = main.every((p) => p.pt === 0 || p.pt === 8) && main.some((p) => p.payload);
    let prevT = main[0]!.t;
    for (const p of main) {
      const gap = (p.t - prevT) * 1000 - 20;
      if (gap > maxSilenceMs) maxSilenceMs = gap;
      prevT = p.t;
      if (g711 && p.payload) {
        const s = decodeG711(p.payload, p.pt);
        let sum = 0;
        for (const v of s) sum += v * v;
        const quiet = Math.sqrt(sum / Math.max(1, s.length)) < SILENCE_RMS;
        if (quiet) silentSince ??= p.t;
        else silentSince = undefined;
        if (silentSince !== undefined)
          maxSilenceMs = Math.max(maxSilenceMs, (p.t - silentSince) * 1000 + 20);
      }
    }
    let toneHz: number | undefined;
    let rms: number | undefined;
    if (g711) {
      const parts = main.filter((p) => p.payload).map((p) => decodeG711(p.payload!, p.pt));
      const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) {
        all.set(p, off);
        off += p.length;
      }
      const r = dominantFrequency(all);
      toneHz = r.hz;
      rms = Math.round(r.rms * 10000) / 10000;
    }
    // RFC 4733: one digit per event (a new RTP timestamp), the event code is payload byte 0
    let dtmf = '';
    const eventTs = new Set<number>();
    for (const e of events) {
      if (!e.payload || eventTs.has(e.ts)) continue;
      eventTs.add(e.ts);
      dtmf += DTMF_EVENTS[e.payload[0]!] ?? '?';
    }
    const first = main[0]!;
    out.push({
      src: first.src,
      dst: first.dst,
      ssrc: `0x${first.ssrc.toString(16).padStart(8, '0')}`,
      pt: first.pt,
      packets: main.length,
      expected,
      lost,
      lossPct: Math.round(lossPct * 100) / 100,
      jitterMs: Math.round(jitterMs * 100) / 100,
      mos: mos({ lossPct, jitterMs }),
      firstT: first.t,
      lastT: main[main.length - 1]!.t,
      maxSilenceMs: Math.round(maxSilenceMs),
      toneHz,
      rms,
      dtmf,
      ...(audio.length ? {} : { eventsOnly: true }),
    });
  }
  return out;
}
