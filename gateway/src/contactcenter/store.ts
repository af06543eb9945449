import type { Db } from '../store/db.js';
import type { AgentState, QueueCallOutcome } from './types.js';

// The contact center's SQL, in one place (tables: store/db.ts migration 2).

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
  | 'agent-login';

export interface QueueEventRow {
  id: number;
  at: string;
  event: QueueEventName;
  queueCallId: string | null;
  queue: string | null;
  agent: string | null;
  data: Record<string, unknown> | null;
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
    ) as { username: string; queue: string; penalty: number; logged_in: number; source: string }[];
    return rows.map((r) => ({
      username: r.username,
      queue: r.queue,
      penalty: r.penalty,
      loggedIn: r.logged_in === 1,
      source: r.source === 'admin' ? 'admin' : 'config',
    }));
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

  insertQueueCall(c: {
    id: string;
    callId: string;
    queue: string;
    callerNumber: string;
    callerName: string;
    enteredAt: string;
  }): void {
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
    return { handled: r.n, avgHandleSec: Math.round(r.avg ?? 0) };
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

  // --- events ---

  event(e: {
    at: string;
    event: QueueEventName;
    queueCallId?: string | null;
    queue?: string | null;
    agent?: string | null;
    data?: Record<string, unknown>;
  }): void {
    this.db
      .prepare(
        'INSERT INTO queue_events (at, event, queue_call_id, queue, agent, data) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        e.at,
        e.event,
        e.queueCallId ?? null,
        e.queue ?? null,
        e.agent ?? null,
        e.data ? JSON.stringify(e.data) : null,
      );
  }

  events(filter: { queueCallId?: string; event?: QueueEventName } = {}): QueueEventRow[] {
    const rows = this.db
      .prepare(
        `SELECT id, at, event, queue_call_id AS queueCallId, queue, agent, data FROM queue_events
         WHERE (@q IS NULL OR queue_call_id = @q) AND (@e IS NULL OR event = @e) ORDER BY id`,
      )
      .all({ q: filter.queueCallId ?? null, e: filter.event ?? null }) as (Omit<
      QueueEventRow,
      'data'
    > & { data: string | null })[];
    return rows.map((r) => ({
      ...r,
      data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : null,
    }));
  }
}
