import type { Db } from './db.js';
import {
  auditValues,
  eventValues,
  toAgentDay,
  toAgentStates,
  toAudit,
  toEvent,
  toMember,
  toQuality,
  type RawAudit,
  type RawEvent,
  type RawMember,
  type RawQuality,
} from './rows.js';

// The contact center's SQL for SQLite, in one place (tables: db.ts migrations
// 2 and 3; PostgreSQL's in postgres.ts). The engine in ../contactcenter uses it
// through ../contactcenter/store.ts.

/** The contact center's agent states (../contactcenter/types.ts AGENT_STATES). */
export type AgentState = 'offline' | 'available' | 'offered' | 'on-call' | 'wrap-up' | 'not-ready';

/** How a queue call left the queue. */
export type QueueCallOutcome = 'answered' | 'abandoned' | 'overflowed' | 'exited';

export interface AgentRow {
  username: string;
  state: AgentState;
  reason: string | null;
  since: string;
  idleSince: string | null;
  unanswered: number;
  nextState: 'not-ready' | 'offline' | null;
  nextReason: string | null;
  wrapCallId: string | null;
  wrapEndsAt: string | null;
}

export interface MemberRow {
  username: string;
  queue: string;
  penalty: number;
  loggedIn: boolean;
  source: 'config' | 'admin';
}

export interface QueueCallRow {
  id: string;
  callId: string;
  queue: string;
  callerNumber: string;
  callerName: string;
  enteredAt: string;
  answeredAt: string | null;
  agent: string | null;
  endedAt: string | null;
  outcome: QueueCallOutcome | null;
  waitSec: number | null;
  disposition: string | null;
  notes: string | null;
  wrappedUpAt: string | null;
}

export type QueueEventName =
  | 'entered'
  | 'offered'
  | 'offer-outcome'
  | 'answered'
  | 'abandoned'
  | 'overflowed'
  | 'exited'
  | 'transferred'
  | 'ended'
  | 'wrap-up-done'
  | 'agent-state'
  | 'agent-login'
  | 'sent-to-agent';

export interface QueueEventRow {
  id: number;
  at: string;
  event: QueueEventName;
  queueCallId: string | null;
  queue: string | null;
  agent: string | null;
  data: Record<string, unknown> | null;
}

/** A queue event as the engine writes it. */
export interface QueueEventEntry {
  at: string;
  event: QueueEventName;
  queueCallId?: string | null;
  queue?: string | null;
  agent?: string | null;
  data?: Record<string, unknown>;
}

export interface QualitySummary {
  samples: number;
  mosMin: number | null;
  mosAvg: number | null;
  jitterMaxMs: number | null;
  lossMaxPct: number | null;
  rttMaxMs: number | null;
  /** A sample fell below contactCenter.qualityMosThreshold during the call. */
  flagged: boolean;
}

/** An audit entry as the engine writes it. */
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  target?: string | null;
  allowed: boolean;
  detail?: Record<string, unknown>;
}

export interface AuditRow {
  id: number;
  at: string;
  /** Username, or 'admin' for the admin bearer token. */
  actor: string;
  action: string;
  target: string | null;
  allowed: boolean;
  detail: Record<string, unknown> | null;
}

const CALL_COLUMNS = `id, call_id AS callId, queue, caller_number AS callerNumber, caller_name AS callerName,
  entered_at AS enteredAt, answered_at AS answeredAt, agent, ended_at AS endedAt, outcome,
  wait_sec AS waitSec, disposition, notes, wrapped_up_at AS wrappedUpAt`;

export class CcStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // --- agents and membership ---

  ensureAgent(username: string, now: string): void {
    this.db
      .prepare(
        `INSERT INTO cc_agents (username, state, since) VALUES (?, 'offline', ?) ON CONFLICT(username) DO NOTHING`,
      )
      .run(username, now);
  }

  /** Membership from the config: replaces the agent's earlier config rows, keeps admin rows and login flags. */
  setConfigMembership(username: string, queues: { name: string; penalty: number }[]): void {
    const keep = new Set(queues.map((q) => q.name));
    for (const m of this.members(username))
      if (m.source === 'config' && !keep.has(m.queue))
        this.db
          .prepare('DELETE FROM cc_queue_members WHERE username = ? AND queue = ?')
          .run(username, m.queue);
    const up = this.db.prepare(
      `INSERT INTO cc_queue_members (username, queue, penalty, source) VALUES (?, ?, ?, 'config')
       ON CONFLICT(username, queue) DO UPDATE SET penalty = excluded.penalty, source = 'config'`,
    );
    for (const q of queues) up.run(username, q.name, q.penalty);
  }

  /** Config rows of agents no longer in the config, and rows of queues that no longer exist. */
  pruneMembership(configAgents: Set<string>, queues: Set<string>): void {
    for (const m of this.members()) {
      if ((m.source === 'config' && !configAgents.has(m.username)) || !queues.has(m.queue))
        this.db
          .prepare('DELETE FROM cc_queue_members WHERE username = ? AND queue = ?')
          .run(m.username, m.queue);
    }
  }

  upsertAdminMembership(username: string, queue: string, penalty: number): void {
    this.db
      .prepare(
        `INSERT INTO cc_queue_members (username, queue, penalty, source) VALUES (?, ?, ?, 'admin')
         ON CONFLICT(username, queue) DO UPDATE SET penalty = excluded.penalty`,
      )
      .run(username, queue, penalty);
  }

  members(username?: string): MemberRow[] {
    const rows = (
      username
        ? this.db
            .prepare('SELECT * FROM cc_queue_members WHERE username = ? ORDER BY queue')
            .all(username)
        : this.db.prepare('SELECT * FROM cc_queue_members ORDER BY username, queue').all()
    ) as RawMember[];
    return rows.map(toMember);
  }

  setLoggedIn(username: string, queue: string | undefined, loggedIn: boolean): number {
    const v = loggedIn ? 1 : 0;
    return queue
      ? this.db
          .prepare('UPDATE cc_queue_members SET logged_in = ? WHERE username = ? AND queue = ?')
          .run(v, username, queue).changes
      : this.db
          .prepare('UPDATE cc_queue_members SET logged_in = ? WHERE username = ?')
          .run(v, username).changes;
  }

  agents(): AgentRow[] {
    return this.db
      .prepare(
        `SELECT username, state, reason, since, idle_since AS idleSince, unanswered,
                next_state AS nextState, next_reason AS nextReason,
                wrap_call_id AS wrapCallId, wrap_ends_at AS wrapEndsAt
         FROM cc_agents ORDER BY username`,
      )
      .all() as AgentRow[];
  }

  saveAgent(a: AgentRow): void {
    this.db
      .prepare(
        `UPDATE cc_agents SET state = @state, reason = @reason, since = @since, idle_since = @idleSince,
           unanswered = @unanswered, next_state = @nextState, next_reason = @nextReason,
           wrap_call_id = @wrapCallId, wrap_ends_at = @wrapEndsAt
         WHERE username = @username`,
      )
      .run(a);
  }

  // --- queue calls ---

  insertQueueCall(
    c: Pick<QueueCallRow, 'id' | 'callId' | 'queue' | 'callerNumber' | 'callerName' | 'enteredAt'>,
  ): void {
    this.db
      .prepare(
        `INSERT INTO queue_calls (id, call_id, queue, caller_number, caller_name, entered_at)
         VALUES (@id, @callId, @queue, @callerNumber, @callerName, @enteredAt)`,
      )
      .run(c);
  }

  markAnswered(id: string, agent: string, at: string, waitSec: number): void {
    this.db
      .prepare(
        `UPDATE queue_calls SET answered_at = ?, agent = ?, outcome = 'answered', wait_sec = ? WHERE id = ?`,
      )
      .run(at, agent, waitSec, id);
  }

  /** The caller left the queue without an agent (abandoned, overflowed, exited). */
  markLeft(id: string, outcome: QueueCallOutcome, at: string, waitSec: number): void {
    this.db
      .prepare(
        `UPDATE queue_calls SET outcome = ?, ended_at = ?, wait_sec = ? WHERE id = ? AND outcome IS NULL`,
      )
      .run(outcome, at, waitSec, id);
  }

  markEnded(id: string, at: string): void {
    this.db
      .prepare('UPDATE queue_calls SET ended_at = ? WHERE id = ? AND ended_at IS NULL')
      .run(at, id);
  }

  /** A transfer to another agent: the row follows the caller to the new agent. */
  setCallAgent(id: string, agent: string): void {
    this.db.prepare('UPDATE queue_calls SET agent = ? WHERE id = ?').run(agent, id);
  }

  saveDisposition(id: string, disposition: string, notes: string | null, at: string): void {
    this.db
      .prepare(
        'UPDATE queue_calls SET disposition = ?, notes = ?, wrapped_up_at = COALESCE(wrapped_up_at, ?) WHERE id = ?',
      )
      .run(disposition, notes, at, id);
  }

  queueCall(id: string): QueueCallRow | undefined {
    return this.db.prepare(`SELECT ${CALL_COLUMNS} FROM queue_calls WHERE id = ?`).get(id) as
      QueueCallRow | undefined;
  }

  queueCalls(): QueueCallRow[] {
    return this.db
      .prepare(`SELECT ${CALL_COLUMNS} FROM queue_calls ORDER BY rowid`)
      .all() as QueueCallRow[];
  }

  /** Calls a crash left open: still waiting (no outcome) or answered and not ended. */
  openQueueCalls(): QueueCallRow[] {
    return this.db
      .prepare(`SELECT ${CALL_COLUMNS} FROM queue_calls WHERE ended_at IS NULL`)
      .all() as QueueCallRow[];
  }

  lastAnsweredBy(agent: string): QueueCallRow | undefined {
    return this.db
      .prepare(
        `SELECT ${CALL_COLUMNS} FROM queue_calls WHERE agent = ? AND answered_at IS NOT NULL
         ORDER BY answered_at DESC LIMIT 1`,
      )
      .get(agent) as QueueCallRow | undefined;
  }

  history(callerNumber: string, excludeId: string, limit = 5): QueueCallRow[] {
    return this.db
      .prepare(
        `SELECT ${CALL_COLUMNS} FROM queue_calls WHERE caller_number = ? AND id != ?
         ORDER BY entered_at DESC, rowid DESC LIMIT ?`,
      )
      .all(callerNumber, excludeId, limit) as QueueCallRow[];
  }

  /** Calls answered since `since` and their average handle time (answer → end). */
  agentDay(agent: string, since: string): { handled: number; avgHandleSec: number } {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS n,
                AVG(CASE WHEN ended_at IS NOT NULL
                    THEN (julianday(ended_at) - julianday(answered_at)) * 86400 END) AS avg
         FROM queue_calls WHERE agent = ? AND answered_at >= ?`,
      )
      .get(agent, since) as { n: number; avg: number | null };
    return toAgentDay(r);
  }

  handledSince(since: string): Map<string, number> {
    const rows = this.db
      .prepare(
        'SELECT agent, COUNT(*) AS n FROM queue_calls WHERE answered_at >= ? AND agent IS NOT NULL GROUP BY agent',
      )
      .all(since) as { agent: string; n: number }[];
    return new Map(rows.map((r) => [r.agent, r.n]));
  }

  /** Average wait of the queue's callers answered since `since` (null: none yet). */
  averageAnsweredWait(queue: string, since: string): number | null {
    const r = this.db
      .prepare(
        `SELECT AVG(wait_sec) AS avg FROM queue_calls WHERE queue = ? AND outcome = 'answered' AND answered_at >= ?`,
      )
      .get(queue, since) as { avg: number | null };
    return r.avg;
  }

  /** Queue calls that entered in [from, to), for reports and the wallboard. */
  queueCallsBetween(from: string, to: string): QueueCallRow[] {
    return this.db
      .prepare(
        `SELECT ${CALL_COLUMNS} FROM queue_calls WHERE entered_at >= ? AND entered_at < ? ORDER BY entered_at, rowid`,
      )
      .all(from, to) as QueueCallRow[];
  }

  /** Calls of `agent` answered in [from, to). */
  answeredBetween(from: string, to: string): QueueCallRow[] {
    return this.db
      .prepare(
        `SELECT ${CALL_COLUMNS} FROM queue_calls WHERE answered_at >= ? AND answered_at < ? ORDER BY answered_at, rowid`,
      )
      .all(from, to) as QueueCallRow[];
  }

  // --- quality (issue 8: the agent's getStats samples, summarised per call) ---

  /** Fold one sample into the call's summary (running average, min MOS, max jitter/loss/RTT). */
  addQualitySample(
    id: string,
    s: { mos: number; jitterMs: number; lossPct: number; rttMs: number },
    flagged: boolean,
  ): void {
    this.db
      .prepare(
        `UPDATE queue_calls SET
           mos_avg = (COALESCE(mos_avg, 0) * quality_samples + @mos) / (quality_samples + 1),
           quality_samples = quality_samples + 1,
           mos_min = MIN(COALESCE(mos_min, @mos), @mos),
           jitter_max_ms = MAX(COALESCE(jitter_max_ms, @jitterMs), @jitterMs),
           loss_max_pct = MAX(COALESCE(loss_max_pct, @lossPct), @lossPct),
           rtt_max_ms = MAX(COALESCE(rtt_max_ms, @rttMs), @rttMs),
           quality_flagged = MAX(quality_flagged, @flagged)
         WHERE id = @id`,
      )
      .run({ id, ...s, flagged: flagged ? 1 : 0 });
  }

  quality(id: string): QualitySummary | null {
    const r = this.db
      .prepare(
        `SELECT quality_samples AS samples, mos_min AS mosMin, mos_avg AS mosAvg, jitter_max_ms AS jitterMaxMs,
                loss_max_pct AS lossMaxPct, rtt_max_ms AS rttMaxMs, quality_flagged AS flagged
         FROM queue_calls WHERE id = ?`,
      )
      .get(id) as RawQuality | undefined;
    return toQuality(r);
  }

  // --- recordings ---

  setRecording(id: string, file: string): void {
    this.db.prepare('UPDATE queue_calls SET recording_file = ? WHERE id = ?').run(file, id);
  }

  recording(id: string): { file: string | null; deletedAt: string | null } | undefined {
    return this.db
      .prepare(
        'SELECT recording_file AS file, recording_deleted_at AS deletedAt FROM queue_calls WHERE id = ?',
      )
      .get(id) as { file: string | null; deletedAt: string | null } | undefined;
  }

  /** Recordings still on disk of calls that entered before `before`. */
  recordingsBefore(queue: string, before: string): { id: string; file: string }[] {
    return this.db
      .prepare(
        `SELECT id, recording_file AS file FROM queue_calls
         WHERE queue = ? AND entered_at < ? AND recording_file IS NOT NULL AND recording_deleted_at IS NULL`,
      )
      .all(queue, before) as { id: string; file: string }[];
  }

  recordingDeleted(id: string, at: string): void {
    this.db.prepare('UPDATE queue_calls SET recording_deleted_at = ? WHERE id = ?').run(at, id);
  }

  // --- audit (append-only; triggers refuse UPDATE and DELETE) ---

  audit(e: AuditEntry): void {
    this.db
      .prepare(
        'INSERT INTO cc_audit (at, actor, action, target, allowed, detail) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(...auditValues(e));
  }

  auditLog(
    filter: { from?: string; to?: string; actor?: string; limit?: number } = {},
  ): AuditRow[] {
    const rows = this.db
      .prepare(
        `SELECT id, at, actor, action, target, allowed, detail FROM cc_audit
         WHERE (@from IS NULL OR at >= @from) AND (@to IS NULL OR at < @to)
           AND (@actor IS NULL OR actor = @actor)
         ORDER BY id DESC LIMIT @limit`,
      )
      .all({
        from: filter.from ?? null,
        to: filter.to ?? null,
        actor: filter.actor ?? null,
        limit: filter.limit ?? 500,
      }) as RawAudit[];
    return rows.map(toAudit);
  }

  // --- events ---

  event(e: QueueEventEntry): void {
    this.db
      .prepare(
        'INSERT INTO queue_events (at, event, queue_call_id, queue, agent, data) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(...eventValues(e));
  }

  /** Events in [from, to) (reports), optionally of one kind. */
  eventsBetween(from: string, to: string, event?: QueueEventName): QueueEventRow[] {
    return (
      this.db
        .prepare(
          `SELECT id, at, event, queue_call_id AS queueCallId, queue, agent, data FROM queue_events
           WHERE at >= ? AND at < ? AND (? IS NULL OR event = ?) ORDER BY id`,
        )
        .all(from, to, event ?? null, event ?? null) as RawEvent[]
    ).map(toEvent);
  }

  /** Each agent's last state change before `at`: their state when a report interval opens. */
  agentStatesAt(at: string): Map<string, string> {
    const rows = this.db
      .prepare(
        `SELECT agent, data FROM queue_events WHERE id IN (
           SELECT MAX(id) FROM queue_events WHERE event = 'agent-state' AND at < ? GROUP BY agent)`,
      )
      .all(at) as { agent: string; data: string }[];
    return toAgentStates(rows);
  }

  events(filter: { queueCallId?: string; event?: QueueEventName } = {}): QueueEventRow[] {
    const rows = this.db
      .prepare(
        `SELECT id, at, event, queue_call_id AS queueCallId, queue, agent, data FROM queue_events
         WHERE (@q IS NULL OR queue_call_id = @q) AND (@e IS NULL OR event = @e) ORDER BY id`,
      )
      .all({ q: filter.queueCallId ?? null, e: filter.event ?? null }) as RawEvent[];
    return rows.map(toEvent);
  }
}
