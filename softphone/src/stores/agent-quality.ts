// An agent's queue call quality, sent to the gateway every few seconds
// (POST /api/agent/quality) for the supervisors' wallboard: the mean of the
// call's getStats samples (MOS, jitter, loss, RTT; the core's StatsSampler)
// over the last interval. Loaded by the agent store when a queue call is
// answered, so it is not part of the first load.
import type { CallStats, QualityVerdict } from '../phone';
import type { AgentClientLike } from './core';

/** How often (API.md: every few seconds). */
export const QUALITY_INTERVAL_MS = 5000;

/** The mean of the samples of the last interval: what one quality post carries. */
export function qualityOf(
  samples: readonly CallStats[],
): { mos: number; jitterMs: number; lossPct: number; rttMs: number } | undefined {
  if (!samples.length) return undefined;
  const mean = (f: (s: CallStats) => number | undefined) => {
    const v = samples
      .map(f)
      .filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
  };
  return {
    mos: mean((s) => s.mos),
    jitterMs: mean((s) => s.jitterMs),
    lossPct: mean((s) => s.packetLossPct),
    rttMs: mean((s) => s.rttMs),
  };
}

/** Sends one sample of the last interval; undefined when there is nothing to send or it failed. */
export async function postQuality(
  client: AgentClientLike,
  callId: string,
  samples: readonly CallStats[],
  now = Date.now(),
): Promise<QualityVerdict | undefined> {
  const recent = samples.filter((s) => s.timestamp > now - QUALITY_INTERVAL_MS);
  const q = qualityOf(recent.length ? recent : samples.slice(-1));
  // No MOS yet (no packets counted): nothing worth sending (the gateway wants 1-5).
  if (!q || !(q.mos >= 1)) return undefined;
  // 409 when the call just ended: the next tick (if any) tries again.
  return client.postQuality({ callId, ...q }).catch(() => undefined);
}

/** Posts every interval until the returned stop function is called. */
export function reportQuality(opts: {
  client: AgentClientLike;
  callId: string;
  /** The call's current samples (undefined: the call is not up). */
  samples: () => readonly CallStats[] | undefined;
  onVerdict: (v: QualityVerdict) => void;
}): () => void {
  const timer = setInterval(() => {
    const s = opts.samples();
    if (s)
      void postQuality(opts.client, opts.callId, s).then((v) => {
        if (v) opts.onVerdict(v);
      });
  }, QUALITY_INTERVAL_MS);
  return () => clearInterval(timer);
}
