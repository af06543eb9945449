import type { QueueConfig } from '../config/contactCenter.js';
import type { CcStore, QueueCallRow } from './store.js';

// Supervisor reports (issue 8), computed from the stored records only
// (queue_calls + queue_events), never from in-memory counters: a report for a
// past interval gives the same numbers after a restart. The wallboard's
// "today" figures are this same computation over one day-long interval, so the
// wallboard and the report can never disagree.
//
// Definitions (API.md "Reports"):
// - a caller counts in the interval they entered the queue (offered);
// - abandoned = every caller who hung up while waiting; shortAbandoned = those
//   who waited less than the queue's shortAbandonSec (counted in abandoned too,
//   and left out of the service level's denominator);
// - service level % = answered within serviceLevelSec / (offered − shortAbandoned);
// - ASA = mean wait of the answered; talk = answer → hang-up; after-call work
//   (ACW) = hang-up → the call's first wrap-up-done event; AHT = talk + ACW;
// - occupancy = time in on-call or wrap-up / time in any state but offline,
//   from the agents' agent-state events (per queue: over the queue's members).

export const REPORT_INTERVALS = { '15m': 15 * 60, '1h': 3600, '1d': 86400 } as const;
export type ReportInterval = keyof typeof REPORT_INTERVALS;
const MAX_BUCKETS = 3000;

export interface QueueReportRow {
  start: string;
  end: string;
  queue: string;
  offered: number;
  answered: number;
  abandoned: number;
  shortAbandoned: number;
  overflowed: number;
  exited: number;
  answeredWithinSl: number;
  serviceLevelPct: number | null;
  asaSec: number | null;
  talkSec: number | null;
  acwSec: number | null;
  ahtSec: number | null;
  occupancyPct: number | null;
  /** Calls with quality samples, their mean MOS, and those flagged below the threshold. */
  mosAvg: number | null;
  qualityFlagged: number;
}

export interface AgentReportRow {
  start: string;
  end: string;
  agent: string;
  /** Offers that rang this agent. */
  offered: number;
  answered: number;
  /** Offers that rang and were not answered (no answer, declined, busy, unavailable, failed). */
  missed: number;
  talkSec: number | null;
  acwSec: number | null;
  ahtSec: number | null;
  loggedInSec: number;
  busySec: number;
  occupancyPct: number | null;
  mosAvg: number | null;
  qualityFlagged: number;
}

export interface ReportQuery {
  from: string;
  to: string;
  interval: ReportInterval;
  /** Queues whose calls count (the caller's visible queues, maybe narrowed to one). */
  queues: QueueConfig[];
  /** by=agent: these agents (default: members of `queues`). */
  agents?: string[];
}

const r1 = (n: number) => Math.round(n * 10) / 10;
const mean = (xs: number[]) => (xs.length ? r1(xs.reduce((a, b) => a + b, 0) / xs.length) : null);
const ms = (s: string) => Date.parse(s);
const BUSY = new Set(['on-call', 'wrap-up']);
const MISSED = new Set(['no-answer', 'declined', 'busy', 'unavailable', 'failed']);

interface Bucket {
  start: number;
  end: number;
}

export function buckets(from: string, to: string, interval: ReportInterval): Bucket[] {
  const a = ms(from);
  const b = ms(to);
  const step = REPORT_INTERVALS[interval] * 1000;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a)
    throw new RangeError('from < to needed');
  if ((b - a) / step > MAX_BUCKETS)
    throw new RangeError(`more than ${MAX_BUCKETS} intervals: choose a longer interval`);
  const out: Bucket[] = [];
  for (let t = a; t < b; t += step) out.push({ start: t, end: Math.min(t + step, b) });
  return out;
}

/** Talk and ACW of one answered, ended call (ACW null while wrap-up is still open). */
function handle(row: QueueCallRow, wrapDone: Map<string, number>) {
  if (!row.answeredAt || !row.endedAt) return null;
  const talk = Math.max(0, (ms(row.endedAt) - ms(row.answeredAt)) / 1000);
  const done = wrapDone.get(row.id);
  const acw = done === undefined ? null : Math.max(0, (done - ms(row.endedAt)) / 1000);
  return { talk, acw };
}

/** The agents' state timelines over [from, to), clipped to now (state segments from agent-state events). */
function timelines(
  store: CcStore,
  from: number,
  to: number,
  agents: Set<string>,
): Map<string, { start: number; end: number; state: string }[]> {
  const end = Math.min(to, Date.now());
  const initial = store.agentStatesAt(new Date(from).toISOString());
  const changes = store.eventsBetween(
    new Date(from).toISOString(),
    new Date(end).toISOString(),
    'agent-state',
  );
  const out = new Map<string, { start: number; end: number; state: string }[]>();
  for (const agent of agents) {
    const segs: { start: number; end: number; state: string }[] = [];
    let state = initial.get(agent) ?? 'offline';
    let since = from;
    for (const e of changes) {
      if (e.agent !== agent) continue;
      const at = ms(e.at);
      if (at > since) segs.push({ start: since, end: at, state });
      state = String(e.data?.state ?? state);
      since = Math.max(since, at);
    }
    if (end > since) segs.push({ start: since, end, state });
    out.set(agent, segs);
  }
  return out;
}

function occupancy(
  segs: { start: number; end: number; state: string }[],
  b: Bucket,
): { loggedIn: number; busy: number } {
  let loggedIn = 0;
  let busy = 0;
  for (const s of segs) {
    const d = Math.max(0, Math.min(s.end, b.end) - Math.max(s.start, b.start)) / 1000;
    if (d <= 0 || s.state === 'offline') continue;
    loggedIn += d;
    if (BUSY.has(s.state)) busy += d;
  }
  return { loggedIn, busy };
}

function wrapDoneTimes(store: CcStore, from: string, to: string): Map<string, number> {
  // Wrap-up of a call that ended near `to` finishes after it: look a day further.
  const later = new Date(ms(to) + 86_400_000).toISOString();
  const out = new Map<string, number>();
  for (const e of store.eventsBetween(from, later, 'wrap-up-done'))
    if (e.queueCallId && !out.has(e.queueCallId)) out.set(e.queueCallId, ms(e.at));
  return out;
}

function quality(store: CcStore, rows: QueueCallRow[]): { mosAvg: number | null; flagged: number } {
  const mos: number[] = [];
  let flagged = 0;
  for (const r of rows) {
    const q = store.quality(r.id);
    if (!q) continue;
    if (q.mosAvg !== null) mos.push(q.mosAvg);
    if (q.flagged) flagged += 1;
  }
  return {
    mosAvg: mos.length
      ? Math.round((mos.reduce((a, b) => a + b, 0) / mos.length) * 100) / 100
      : null,
    flagged,
  };
}

export function queueReport(store: CcStore, q: ReportQuery): QueueReportRow[] {
  const bs = buckets(q.from, q.to, q.interval);
  const names = new Set(q.queues.map((x) => x.name));
  const calls = store.queueCallsBetween(q.from, q.to).filter((r) => names.has(r.queue));
  const wrapDone = wrapDoneTimes(store, q.from, q.to);
  const members = store.members().filter((m) => names.has(m.queue));
  const tl = timelines(store, ms(q.from), ms(q.to), new Set(members.map((m) => m.username)));
  const out: QueueReportRow[] = [];
  for (const b of bs) {
    for (const queue of q.queues) {
      const rows = calls.filter(
        (r) => r.queue === queue.name && ms(r.enteredAt) >= b.start && ms(r.enteredAt) < b.end,
      );
      const answered = rows.filter((r) => r.outcome === 'answered');
      const abandoned = rows.filter((r) => r.outcome === 'abandoned');
      const short = abandoned.filter((r) => (r.waitSec ?? 0) < queue.shortAbandonSec);
      const within = answered.filter((r) => (r.waitSec ?? 0) <= queue.serviceLevelSec).length;
      const denominator = rows.length - short.length;
      const handled = answered.map((r) => handle(r, wrapDone)).filter((h) => h !== null);
      const withAcw = handled.filter((h) => h.acw !== null);
      let loggedIn = 0;
      let busy = 0;
      for (const m of members.filter((x) => x.queue === queue.name)) {
        const o = occupancy(tl.get(m.username) ?? [], b);
        loggedIn += o.loggedIn;
        busy += o.busy;
      }
      const qual = quality(store, answered);
      out.push({
        start: new Date(b.start).toISOString(),
        end: new Date(b.end).toISOString(),
        queue: queue.name,
        offered: rows.length,
        answered: answered.length,
        abandoned: abandoned.length,
        shortAbandoned: short.length,
        overflowed: rows.filter((r) => r.outcome === 'overflowed').length,
        exited: rows.filter((r) => r.outcome === 'exited').length,
        answeredWithinSl: within,
        serviceLevelPct: denominator > 0 ? r1((within / denominator) * 100) : null,
        asaSec: mean(answered.map((r) => r.waitSec ?? 0)),
        talkSec: mean(handled.map((h) => h.talk)),
        acwSec: mean(withAcw.map((h) => h.acw!)),
        ahtSec: mean(withAcw.map((h) => h.talk + h.acw!)),
        occupancyPct: loggedIn > 0 ? r1((busy / loggedIn) * 100) : null,
        mosAvg: qual.mosAvg,
        qualityFlagged: qual.flagged,
      });
    }
  }
  return out;
}

export function agentReport(store: CcStore, q: ReportQuery): AgentReportRow[] {
  const bs = buckets(q.from, q.to, q.interval);
  const names = new Set(q.queues.map((x) => x.name));
  const agents =
    q.agents ??
    [
      ...new Set(
        store
          .members()
          .filter((m) => names.has(m.queue))
          .map((m) => m.username),
      ),
    ].sort();
  const calls = store.answeredBetween(q.from, q.to).filter((r) => names.has(r.queue));
  const offers = store
    .eventsBetween(q.from, q.to, 'offered')
    .filter((e) => e.queue && names.has(e.queue));
  const outcomes = store
    .eventsBetween(q.from, q.to, 'offer-outcome')
    .filter((e) => e.queue && names.has(e.queue));
  const wrapDone = wrapDoneTimes(store, q.from, q.to);
  const tl = timelines(store, ms(q.from), ms(q.to), new Set(agents));
  const inB = (at: string, b: Bucket) => ms(at) >= b.start && ms(at) < b.end;
  const out: AgentReportRow[] = [];
  for (const b of bs) {
    for (const agent of agents) {
      const answered = calls.filter((r) => r.agent === agent && inB(r.answeredAt!, b));
      const handled = answered.map((r) => handle(r, wrapDone)).filter((h) => h !== null);
      const withAcw = handled.filter((h) => h.acw !== null);
      const o = occupancy(tl.get(agent) ?? [], b);
      const qual = quality(store, answered);
      out.push({
        start: new Date(b.start).toISOString(),
        end: new Date(b.end).toISOString(),
        agent,
        offered: offers.filter((e) => e.agent === agent && inB(e.at, b)).length,
        answered: answered.length,
        missed: outcomes.filter(
          (e) => e.agent === agent && inB(e.at, b) && MISSED.has(String(e.data?.outcome)),
        ).length,
        talkSec: mean(handled.map((h) => h.talk)),
        acwSec: mean(withAcw.map((h) => h.acw!)),
        ahtSec: mean(withAcw.map((h) => h.talk + h.acw!)),
        loggedInSec: Math.round(o.loggedIn),
        busySec: Math.round(o.busy),
        occupancyPct: o.loggedIn > 0 ? r1((o.busy / o.loggedIn) * 100) : null,
        mosAvg: qual.mosAvg,
        qualityFlagged: qual.flagged,
      });
    }
  }
  return out;
}

/** RFC 4180 CSV: a header of the row keys, then one line per row; empty cell for null. */
export function toCsv(rows: object[]): string {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]!);
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return (
    [
      keys.join(','),
      ...rows.map((r) => keys.map((k) => cell((r as Record<string, unknown>)[k])).join(',')),
    ].join('\r\n') + '\r\n'
  );
}
