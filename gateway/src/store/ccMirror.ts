import { CcStore } from './cc.js';
import type { Db } from './db.js';
import type { CcStorage } from './storage.js';

// The contact center's store in a cluster (issue 10). One node at a time runs
// the engine (../contactcenter/leader.ts), so there is one writer: it keeps
// working on its own SQLite synchronously, exactly as on a single machine, and
// every write is replayed in the same order on the shared PostgreSQL
// (write-behind). A node that takes over first copies PostgreSQL's tables into
// its SQLite (importCcState), so both start equal and stay equal.
//
// Why not make the engine's store asynchronous: the engine's rule "offered is
// set before the INVITE" relies on reading and changing an agent in one
// synchronous step; with a single writer that rule still holds, and the
// engine, its tests and the single-machine default stay as they are.

/** CcStore's methods that change rows: these are replayed on PostgreSQL. */
export const CC_WRITES = [
  'ensureAgent',
  'setConfigMembership',
  'pruneMembership',
  'upsertAdminMembership',
  'setLoggedIn',
  'saveAgent',
  'insertQueueCall',
  'markAnswered',
  'markLeft',
  'markEnded',
  'setCallAgent',
  'saveDisposition',
  'addQualitySample',
  'setRecording',
  'recordingDeleted',
  'audit',
  'event',
] as const satisfies readonly (keyof CcStore)[];

export type CcWriteMethod = (typeof CC_WRITES)[number];

export interface CcWrite {
  method: CcWriteMethod;
  args: unknown[];
}

/** A CcStore whose writes also go to `sink`, a transaction's as one batch. */
export class MirroredCcStore extends CcStore {
  private batch: CcWrite[] | undefined;
  private readonly sink: (writes: CcWrite[]) => void;

  constructor(db: Db, sink: (writes: CcWrite[]) => void) {
    super(db);
    this.sink = sink;
    const self = this as unknown as Record<CcWriteMethod, (...args: unknown[]) => unknown>;
    for (const method of CC_WRITES) {
      const local = (CcStore.prototype[method] as (...args: unknown[]) => unknown).bind(this);
      self[method] = (...args: unknown[]) => {
        const result = local(...args);
        // copied now: a caller may change the object it passed after the call
        this.record({ method, args: structuredClone(args) });
        return result;
      };
    }
  }

  override transaction<T>(fn: () => T): T {
    if (this.batch) return super.transaction(fn);
    this.batch = [];
    try {
      const result = super.transaction(fn);
      const writes = this.batch;
      this.batch = undefined;
      if (writes.length > 0) this.sink(writes);
      return result;
    } catch (err) {
      this.batch = undefined;
      throw err;
    }
  }

  private record(w: CcWrite): void {
    if (this.batch) this.batch.push(w);
    else this.sink([w]);
  }
}

/**
 * Replays writes on PostgreSQL in the order they were made, one batch at a
 * time (a batch in one transaction). A write that fails is logged and the
 * next goes on: the engine's SQLite already holds it, and the next write of
 * the same row (an agent's state is saved whole) repairs it.
 */
export class CcWriteBehind {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private stopped = false;
  /** Writes replayed (for the cluster figures). */
  written = 0;
  failed = 0;

  constructor(
    private readonly target: CcStorage,
    private readonly onError: (err: unknown, writes: CcWrite[]) => void,
  ) {}

  readonly push = (writes: CcWrite[]): void => {
    if (this.stopped) return;
    this.pending += writes.length;
    this.tail = this.tail.then(async () => {
      try {
        if (writes.length === 1) await apply(this.target, writes[0]!);
        else
          await this.target.transaction(async (tx) => {
            for (const w of writes) await apply(tx, w);
          });
        this.written += writes.length;
      } catch (err) {
        this.failed += writes.length;
        this.onError(err, writes);
      } finally {
        this.pending -= writes.length;
      }
    });
  };

  /** Writes not yet on PostgreSQL. */
  get backlog(): number {
    return this.pending;
  }

  /** Resolves when every write pushed so far has been tried. */
  flush(): Promise<void> {
    return this.tail;
  }

  /** A node that no longer leads must not write: what is still queued is dropped. */
  stop(): void {
    this.stopped = true;
  }
}

function apply(target: CcStorage, w: CcWrite): Promise<unknown> {
  const fn = target[w.method] as (...args: unknown[]) => Promise<unknown>;
  return fn.apply(target, w.args);
}

/** Runs one SQL statement on PostgreSQL (a pg Client's query). */
export type PgQuery = (sql: string, params?: unknown[]) => Promise<{ rows: unknown[] }>;

const CALL_COLUMNS = [
  'id',
  'call_id',
  'queue',
  'caller_number',
  'caller_name',
  'entered_at',
  'answered_at',
  'agent',
  'ended_at',
  'outcome',
  'wait_sec',
  'disposition',
  'notes',
  'wrapped_up_at',
  'quality_samples',
  'mos_min',
  'mos_avg',
  'jitter_max_ms',
  'loss_max_pct',
  'rtt_max_ms',
  'quality_flagged',
  'recording_file',
  'recording_deleted_at',
];
const AGENT_COLUMNS = [
  'username',
  'state',
  'reason',
  'since',
  'idle_since',
  'unanswered',
  'next_state',
  'next_reason',
  'wrap_call_id',
  'wrap_ends_at',
];
const MEMBER_COLUMNS = ['username', 'queue', 'penalty', 'logged_in', 'source'];
const EVENT_COLUMNS = ['id', 'at', 'event', 'queue_call_id', 'queue', 'agent', 'data'];

/**
 * A node taking over the contact center: PostgreSQL's agents, memberships,
 * queue calls and queue events replace this node's SQLite copies (which are
 * from its own last term, or empty). The audit trail is not copied (SQLite's
 * is append-only): PostgreSQL's cc_audit holds every node's. Returns the
 * number of rows copied per table.
 */
export async function importCcState(query: PgQuery, db: Db): Promise<Record<string, number>> {
  const select = async (table: string, columns: string[], order: string) =>
    (await query(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${order}`)).rows as Record<
      string,
      unknown
    >[];
  const agents = await select('cc_agents', AGENT_COLUMNS, 'username');
  const members = await select('cc_queue_members', MEMBER_COLUMNS, 'username, queue');
  const calls = await select('queue_calls', CALL_COLUMNS, 'seq');
  const events = await select('queue_events', EVENT_COLUMNS, 'id');
  const insert = (table: string, columns: string[]) => {
    const stmt = db.prepare(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`,
    );
    return (row: Record<string, unknown>) => stmt.run(row);
  };
  const known = new Set(
    (db.prepare('SELECT username FROM users').all() as { username: string }[]).map(
      (u) => u.username,
    ),
  );
  db.transaction(() => {
    db.prepare('DELETE FROM cc_queue_members').run();
    db.prepare('DELETE FROM cc_agents').run();
    db.prepare('DELETE FROM queue_events').run();
    db.prepare('DELETE FROM queue_calls').run();
    const agent = insert('cc_agents', AGENT_COLUMNS);
    // the directory copy is refreshed from PostgreSQL too; a user removed meanwhile has no agent
    for (const a of agents) if (known.has(a.username as string)) agent(a);
    const member = insert('cc_queue_members', MEMBER_COLUMNS);
    for (const m of members) if (known.has(m.username as string)) member(m);
    const call = insert('queue_calls', CALL_COLUMNS);
    for (const c of calls) call(c);
    const event = insert('queue_events', EVENT_COLUMNS);
    for (const e of events) event(e);
  })();
  return {
    agents: agents.length,
    members: members.length,
    queueCalls: calls.length,
    queueEvents: events.length,
  };
}
