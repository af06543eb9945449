import type { CallRow } from '../runner.js';

// Figures over many calls: ASR, ACD, PDD percentiles, failures by code,
// achieved rate and peak concurrency.

export interface Aggregates {
  calls: number;
  answered: number;
  /** Answer-seizure ratio, percent of calls answered (2xx). */
  asr: number;
  /** Average call duration of answered calls, ms. */
  acdMs: number;
  pddP50?: number;
  pddP95?: number;
  mosP5?: number;
  mosAvg?: number;
  lossAvgPct?: number;
  failuresByCode: Record<string, number>;
  /** Calls started per second over the whole run. */
  cpsAchieved: number;
  /** The most calls started in one second. */
  cpsPeak: number;
  peakConcurrency: number;
}

/** Nearest-rank percentile (p in 0..100) of a list; undefined when empty. */
export function percentile(values: number[], p: number): number | undefined {
  if (!values.length) return undefined;
  const v = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * v.length));
  return v[Math.min(v.length, rank) - 1];
}

export function aggregate(rows: CallRow[]): Aggregates {
  const calls = rows.filter((r) => r.method === 'INVITE' && r.side !== 'uas');
  const answered = calls.filter((r) => r.finalCode !== undefined && r.finalCode < 300);
  const durations = answered.map((r) => r.durationMs).filter((d): d is number => d !== undefined);
  const pdds = calls.map((r) => r.pddMs).filter((d): d is number => d !== undefined);
  const moses = calls.map((r) => r.mos).filter((d): d is number => d !== undefined);
  const losses = calls.map((r) => r.lossPct).filter((d): d is number => d !== undefined);
  const failuresByCode: Record<string, number> = {};
  for (const r of calls)
    if (r.failed || r.finalCode === undefined || r.finalCode >= 300) {
      const k =
        r.finalCode === undefined
          ? 'no answer'
          : r.finalCode < 300
            ? 'answered, expectation failed'
            : String(r.finalCode);
      failuresByCode[k] = (failuresByCode[k] ?? 0) + 1;
    }
  const starts = calls.map((r) => r.start);
  const span = starts.length > 1 ? (Math.max(...starts) - Math.min(...starts)) / 1000 : 0;
  // concurrency: sweep over call start/end events
  const events: [number, number][] = [];
  for (const r of calls) {
    events.push([r.start, 1]);
    events.push([r.start + (r.pddMs ?? 0) + (r.durationMs ?? 0), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let peak = 0;
  for (const [, d] of events) {
    cur += d;
    peak = Math.max(peak, cur);
  }
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    calls: calls.length,
    answered: answered.length,
    asr: calls.length ? round((answered.length / calls.length) * 100) : 0,
    acdMs: durations.length
      ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length)
      : 0,
    pddP50: percentile(pdds, 50),
    pddP95: percentile(pdds, 95),
    mosP5: percentile(moses, 5),
    mosAvg: moses.length ? round(moses.reduce((a, b) => a + b, 0) / moses.length) : undefined,
    lossAvgPct: losses.length
      ? round(losses.reduce((a, b) => a + b, 0) / losses.length)
      : undefined,
    failuresByCode,
    // over less than a second a rate means nothing: the count is given
    cpsAchieved: span >= 1 ? round((calls.length - 1) / span) : calls.length,
    cpsPeak: Math.max(0, ...cpsSeries(rows).map((p) => p.cps)),
    peakConcurrency: peak,
  };
}

/** Calls started per second, bucketed by whole seconds from the first call. */
export function cpsSeries(rows: CallRow[]): { t: number; cps: number }[] {
  const calls = rows.filter((r) => r.method === 'INVITE' && r.side !== 'uas');
  if (!calls.length) return [];
  const t0 = Math.min(...calls.map((r) => r.start));
  const buckets = new Map<number, number>();
  for (const r of calls) {
    const s = Math.floor((r.start - t0) / 1000);
    buckets.set(s, (buckets.get(s) ?? 0) + 1);
  }
  const last = Math.max(...buckets.keys());
  return Array.from({ length: last + 1 }, (_, t) => ({ t, cps: buckets.get(t) ?? 0 }));
}

/** Average MOS of calls started in each second. */
export function mosSeries(rows: CallRow[]): { t: number; mos: number }[] {
  const calls = rows.filter(
    (r) => r.method === 'INVITE' && r.side !== 'uas' && r.mos !== undefined,
  );
  if (!calls.length) return [];
  const t0 = Math.min(...rows.filter((r) => r.method === 'INVITE').map((r) => r.start));
  const b = new Map<number, number[]>();
  for (const r of calls) {
    const s = Math.floor((r.start - t0) / 1000);
    b.set(s, [...(b.get(s) ?? []), r.mos!]);
  }
  return [...b.entries()]
    .sort((a, c) => a[0] - c[0])
    .map(([t, v]) => ({
      t,
      mos: Math.round((v.reduce((x, y) => x + y, 0) / v.length) * 100) / 100,
    }));
}
