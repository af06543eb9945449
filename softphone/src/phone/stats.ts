import type { CallStats } from './types';

/**
 * Equipment impairment (Ie) and packet-loss robustness (Bpl) per codec, from
 * ITU-T G.113 Appendix I where it has an entry. Browsers conceal lost packets
 * (PLC), so G.711 uses the "with PLC" row. G.113 has no Opus row: Ie 0 and
 * Bpl 20 are a deliberately cautious stand-in (Opus FEC/PLC does better).
 */
export interface CodecImpairment {
  ie: number;
  bpl: number;
}

export const CODEC_IMPAIRMENTS: Readonly<Record<string, CodecImpairment>> = {
  pcmu: { ie: 0, bpl: 25.1 },
  pcma: { ie: 0, bpl: 25.1 },
  g722: { ie: 0, bpl: 25.1 },
  g729: { ie: 11, bpl: 19 },
  ilbc: { ie: 10, bpl: 32 },
  opus: { ie: 0, bpl: 20 },
};

const DEFAULT_IMPAIRMENT: CodecImpairment = { ie: 0, bpl: 25.1 };

export interface EModelInput {
  /** Codec name as in SDP (opus, PCMU, ...), case-insensitive. */
  codec?: string;
  /** Packet loss, percent (Ppl). */
  packetLossPct: number;
  /** Mouth-to-ear one-way delay Ta in ms. */
  oneWayDelayMs: number;
  /** Burst ratio; 1 = random loss (what we can know from RTCP counters). */
  burstRatio?: number;
}

export interface EModelResult {
  r: number;
  mos: number;
  id: number;
  ieEff: number;
}

/** G.107 delay impairment Idd for one-way delay Ta (ms), mT = 100 ms. */
function delayImpairment(ta: number): number {
  if (ta <= 100) return 0;
  const x = Math.log10(ta / 100) / Math.log10(2);
  return 25 * ((1 + x ** 6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2);
}

/** G.107 Annex B: R → MOS (conversational quality estimate), clamped to 1..4.5. */
export function mosFromR(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
}

/**
 * ITU-T G.107 E-model with every parameter at its default except those we
 * measure: R = 93.2 − Id − Ie,eff. Id keeps only the pure-delay term Idd:
 * talker/listener echo terms assume an echo path that WebRTC's echo canceller
 * removes. Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl/BurstR + Bpl).
 */
export function eModel(input: EModelInput): EModelResult {
  const imp = CODEC_IMPAIRMENTS[(input.codec ?? '').toLowerCase()] ?? DEFAULT_IMPAIRMENT;
  const ppl = Math.min(100, Math.max(0, input.packetLossPct));
  const burstR = input.burstRatio ?? 1;
  const ieEff = imp.ie + ((95 - imp.ie) * ppl) / (ppl / burstR + imp.bpl);
  const id = delayImpairment(Math.max(0, input.oneWayDelayMs));
  const r = 93.2 - id - ieEff;
  return { r, mos: mosFromR(r), id, ieEff };
}

interface Counters {
  timestamp: number;
  bytesSent: number;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
}

type StatsRecord = Record<string, unknown> & { id: string; type: string };

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Turns successive RTCStatsReports of one call into per-interval figures.
 * Counters in the report are cumulative, so rates and loss are computed against
 * the previous sample (the first sample covers the call so far).
 */
export class StatsSampler {
  private previous: Counters | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  sample(report: RTCStatsReport): CallStats {
    const all: StatsRecord[] = [];
    report.forEach((s: StatsRecord) => all.push(s));
    const byId = new Map(all.map((s) => [s.id, s]));
    const audio = (s: StatsRecord) => s.kind === 'audio' || s.mediaType === 'audio';
    const inbound = all.find((s) => s.type === 'inbound-rtp' && audio(s));
    const outbound = all.find((s) => s.type === 'outbound-rtp' && audio(s));
    const remoteInbound = all.find((s) => s.type === 'remote-inbound-rtp' && audio(s));
    const transport = all.find((s) => s.type === 'transport');
    const pair =
      byId.get(String(transport?.selectedCandidatePairId ?? '')) ??
      all.find(
        (s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded',
      );

    const codecRecord = byId.get(String(inbound?.codecId ?? outbound?.codecId ?? ''));
    const codec =
      typeof codecRecord?.mimeType === 'string'
        ? codecRecord.mimeType.replace(/^audio\//i, '')
        : undefined;

    const current: Counters = {
      timestamp: num(inbound?.timestamp) ?? num(outbound?.timestamp) ?? this.now(),
      bytesSent: num(outbound?.bytesSent) ?? 0,
      bytesReceived: num(inbound?.bytesReceived) ?? 0,
      packetsReceived: num(inbound?.packetsReceived) ?? 0,
      packetsLost: Math.max(0, num(inbound?.packetsLost) ?? 0),
    };
    const prev = this.previous;
    this.previous = current;

    const elapsedMs = prev ? current.timestamp - prev.timestamp : 0;
    const kbps = (now: number, before: number) =>
      elapsedMs > 0 ? Math.max(0, ((now - before) * 8) / elapsedMs) : 0;
    const receivedDelta = current.packetsReceived - (prev?.packetsReceived ?? 0);
    const lostDelta = current.packetsLost - (prev?.packetsLost ?? 0);
    const expected = receivedDelta + lostDelta;
    const packetLossPct = expected > 0 ? (Math.max(0, lostDelta) / expected) * 100 : 0;

    const rttSec = num(remoteInbound?.roundTripTime) ?? num(pair?.currentRoundTripTime);
    const rttMs = rttSec !== undefined ? rttSec * 1000 : undefined;
    const jitterSec = num(inbound?.jitter);
    const jitterMs = jitterSec !== undefined ? jitterSec * 1000 : undefined;
    // Jitter buffer delay as measured by the receiver when available; otherwise
    // assume an adaptive buffer sized to about twice the interarrival jitter.
    const jbDelay = num(inbound?.jitterBufferDelay);
    const jbCount = num(inbound?.jitterBufferEmittedCount);
    const jitterBufferMs =
      jbDelay !== undefined && jbCount ? (jbDelay / jbCount) * 1000 : 2 * (jitterMs ?? 0);
    const e = eModel({
      codec,
      packetLossPct,
      oneWayDelayMs: (rttMs ?? 0) / 2 + jitterBufferMs,
    });

    const local = byId.get(String(pair?.localCandidateId ?? ''));
    const remote = byId.get(String(pair?.remoteCandidateId ?? ''));
    return {
      timestamp: this.now(),
      codec,
      bitrateKbpsIn: kbps(current.bytesReceived, prev?.bytesReceived ?? 0),
      bitrateKbpsOut: kbps(current.bytesSent, prev?.bytesSent ?? 0),
      rttMs,
      jitterMs,
      packetLossPct,
      packetsReceived: current.packetsReceived,
      packetsLost: current.packetsLost,
      audioLevel: num(inbound?.audioLevel),
      rFactor: e.r,
      mos: e.mos,
      candidatePair:
        local && remote
          ? `${String(local.candidateType)}/${String(remote.candidateType)}`
          : undefined,
    };
  }
}
