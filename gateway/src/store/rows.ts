import type {
  AuditEntry,
  AuditRow,
  MemberRow,
  QualitySummary,
  QueueEventEntry,
  QueueEventRow,
} from './cc.js';
import type { CallRecordStorage, TrunkRow, UserRow } from './storage.js';

// What the SQLite store (sqlite.ts, cc.ts) and the PostgreSQL store
// (postgres.ts) share apart from their SQL: the rows both engines read back
// (flags as INTEGER 0/1, objects as JSON text) turned into the interface's
// rows, and the values a write binds, in the order of its columns. The SQL
// stays with each engine.

// ------------------------------------------------------------------ directory

export interface RawUser {
  username: string;
  display_name: string;
  ha1: string;
  realm: string;
  caller_id: string | null;
  demo: number;
}

export const toUser = (r: RawUser): UserRow => ({
  username: r.username,
  displayName: r.display_name,
  ha1: r.ha1,
  realm: r.realm,
  callerId: r.caller_id,
  demo: r.demo === 1,
});

/** For (username, display_name, ha1, realm, caller_id, demo). */
export const userValues = (u: UserRow) => [
  u.username,
  u.displayName,
  u.ha1,
  u.realm,
  u.callerId,
  u.demo ? 1 : 0,
];

export type RawTrunk = Omit<TrunkRow, 'register' | 'prefixes'> & {
  register: number;
  prefixes: string;
};

export const toTrunk = (r: RawTrunk): TrunkRow => ({
  ...r,
  register: r.register === 1,
  prefixes: JSON.parse(r.prefixes) as string[],
});

/** For (name, host, port, transport, register, prefixes). */
export const trunkValues = (t: TrunkRow) => [
  t.name,
  t.host,
  t.port,
  t.transport,
  t.register ? 1 : 0,
  JSON.stringify(t.prefixes),
];

// ------------------------------------------------------------------ call records

/** For (call_id, from_user, to_user, direction, trunk, started_at, node). */
export const callRecordValues = (
  r: Parameters<CallRecordStorage['start']>[0],
  node: string | null,
) => [r.callId, r.fromUser, r.toUser, r.direction, r.trunk, r.startedAt, node];

// ------------------------------------------------------------------ contact center

export interface RawMember {
  username: string;
  queue: string;
  penalty: number;
  logged_in: number;
  source: string;
}

export const toMember = (r: RawMember): MemberRow => ({
  username: r.username,
  queue: r.queue,
  penalty: r.penalty,
  loggedIn: r.logged_in === 1,
  source: r.source === 'admin' ? 'admin' : 'config',
});

/** The count and average of agentDay's query: the calls handled and their mean handle time. */
export const toAgentDay = (r: { n: number; avg: number | null }) => ({
  handled: r.n,
  avgHandleSec: Math.round(r.avg ?? 0),
});

export type RawQuality = Omit<QualitySummary, 'flagged'> & { flagged: number };

const round2 = (n: number) => Math.round(n * 100) / 100;

/** No summary before the first sample. */
export const toQuality = (r: RawQuality | undefined): QualitySummary | null =>
  !r || r.samples === 0 ? null : { ...r, mosAvg: round2(r.mosAvg ?? 0), flagged: r.flagged === 1 };

const parseObject = (json: string | null) =>
  json ? (JSON.parse(json) as Record<string, unknown>) : null;

export type RawAudit = Omit<AuditRow, 'allowed' | 'detail'> & {
  allowed: number;
  detail: string | null;
};

export const toAudit = (r: RawAudit): AuditRow => ({
  ...r,
  allowed: r.allowed === 1,
  detail: parseObject(r.detail),
});

/** For (at, actor, action, target, allowed, detail). */
export const auditValues = (e: AuditEntry) => [
  e.at,
  e.actor,
  e.action,
  e.target ?? null,
  e.allowed ? 1 : 0,
  e.detail ? JSON.stringify(e.detail) : null,
];

export type RawEvent = Omit<QueueEventRow, 'data'> & { data: string | null };

export const toEvent = (r: RawEvent): QueueEventRow => ({ ...r, data: parseObject(r.data) });

/** For (at, event, queue_call_id, queue, agent, data). */
export const eventValues = (e: QueueEventEntry) => [
  e.at,
  e.event,
  e.queueCallId ?? null,
  e.queue ?? null,
  e.agent ?? null,
  e.data ? JSON.stringify(e.data) : null,
];

/** Each agent's last 'agent-state' event → their state. */
export const toAgentStates = (rows: { agent: string; data: string }[]): Map<string, string> =>
  new Map(rows.map((r) => [r.agent, String((JSON.parse(r.data) as { state: string }).state)]));
