import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { AgentRow, QueueCallOutcome, QueueCallRow, QueueEventName } from './cc.js';
import {
  auditValues,
  callRecordValues,
  eventValues,
  toAgentDay,
  toAgentStates,
  toAudit,
  toEvent,
  toMember,
  toQuality,
  toTrunk,
  toUser,
  trunkValues,
  userValues,
  type RawAudit,
  type RawEvent,
  type RawMember,
  type RawQuality,
  type RawTrunk,
  type RawUser,
} from './rows.js';
import type {
  CallRecordRow,
  CallRecordStorage,
  CcStorage,
  DirectoryStorage,
  Storage,
} from './storage.js';

// A cluster's storage (issue 10): the SQLite tables of db.ts on a shared
// PostgreSQL, behind storage.ts's interface. Times stay ISO-8601 text (UTC,
// 'Z'), as in SQLite, so both order and compare them the same way and the
// rows read back identical.
//
// One connection per node, used in order: a node's writes land in the order it
// made them, and a read sees every write made before it (the engine writes
// without waiting). A write that failed with the connection (PostgreSQL
// restarted, a network cut) is retried once on a new connection; every write
// is idempotent by key, so a retry cannot double a row.

const MIGRATIONS: string[] = [
  `CREATE TABLE users (
     username     TEXT PRIMARY KEY,
     display_name TEXT NOT NULL DEFAULT '',
     ha1          TEXT NOT NULL,
     realm        TEXT NOT NULL,
     caller_id    TEXT,
     demo         INTEGER NOT NULL DEFAULT 0,
     created_at   TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
   );
   CREATE TABLE dids (
     number   TEXT PRIMARY KEY,
     username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE
   );
   CREATE TABLE trunks (
     name      TEXT PRIMARY KEY,
     host      TEXT NOT NULL,
     port      INTEGER NOT NULL,
     transport TEXT NOT NULL,
     register  INTEGER NOT NULL,
     prefixes  TEXT NOT NULL
   );
   CREATE TABLE call_records (
     id          INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     call_id     TEXT NOT NULL UNIQUE,
     from_user   TEXT NOT NULL,
     to_user     TEXT NOT NULL,
     direction   TEXT NOT NULL,
     trunk       TEXT,
     started_at  TEXT NOT NULL,
     answered_at TEXT,
     ended_at    TEXT,
     status      TEXT NOT NULL DEFAULT 'started',
     code        INTEGER,
     reason      TEXT,
     node        TEXT
   );
   CREATE INDEX call_records_started ON call_records(started_at);
   CREATE INDEX call_records_open ON call_records(started_at) WHERE ended_at IS NULL;
   CREATE TABLE cc_agents (
     username     TEXT PRIMARY KEY REFERENCES users(username) ON DELETE CASCADE,
     state        TEXT NOT NULL DEFAULT 'offline',
     reason       TEXT,
     since        TEXT NOT NULL,
     idle_since   TEXT,
     unanswered   INTEGER NOT NULL DEFAULT 0,
     next_state   TEXT,
     next_reason  TEXT,
     wrap_call_id TEXT,
     wrap_ends_at TEXT
   );
   CREATE TABLE cc_queue_members (
     username  TEXT NOT NULL REFERENCES cc_agents(username) ON DELETE CASCADE,
     queue     TEXT NOT NULL,
     penalty   INTEGER NOT NULL DEFAULT 0,
     logged_in INTEGER NOT NULL DEFAULT 1,
     source    TEXT NOT NULL DEFAULT 'config',
     PRIMARY KEY (username, queue)
   );
   CREATE TABLE queue_calls (
     -- Insertion order (SQLite's rowid).
     seq                  INTEGER GENERATED ALWAYS AS IDENTITY UNIQUE,
     id                   TEXT PRIMARY KEY,
     call_id              TEXT NOT NULL,
     queue                TEXT NOT NULL,
     caller_number        TEXT NOT NULL,
     caller_name          TEXT NOT NULL DEFAULT '',
     entered_at           TEXT NOT NULL,
     answered_at          TEXT,
     agent                TEXT,
     ended_at             TEXT,
     outcome              TEXT,
     wait_sec             DOUBLE PRECISION,
     disposition          TEXT,
     notes                TEXT,
     wrapped_up_at        TEXT,
     quality_samples      INTEGER NOT NULL DEFAULT 0,
     mos_min              DOUBLE PRECISION,
     mos_avg              DOUBLE PRECISION,
     jitter_max_ms        DOUBLE PRECISION,
     loss_max_pct         DOUBLE PRECISION,
     rtt_max_ms           DOUBLE PRECISION,
     quality_flagged      INTEGER NOT NULL DEFAULT 0,
     recording_file       TEXT,
     recording_deleted_at TEXT
   );
   CREATE INDEX queue_calls_caller ON queue_calls(caller_number, entered_at);
   CREATE INDEX queue_calls_agent ON queue_calls(agent, answered_at);
   CREATE INDEX queue_calls_queue ON queue_calls(queue, entered_at);
   CREATE INDEX queue_calls_entered ON queue_calls(entered_at);
   CREATE INDEX queue_calls_open ON queue_calls(entered_at) WHERE ended_at IS NULL;
   CREATE TABLE queue_events (
     id            INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     -- Made by the writer: a retried insert finds its row already there.
     key           TEXT NOT NULL UNIQUE,
     at            TEXT NOT NULL,
     event         TEXT NOT NULL,
     queue_call_id TEXT,
     queue         TEXT,
     agent         TEXT,
     data          TEXT
   );
   CREATE INDEX queue_events_call ON queue_events(queue_call_id);
   CREATE INDEX queue_events_at ON queue_events(at);
   CREATE INDEX queue_events_agent_state ON queue_events(agent, id) WHERE event = 'agent-state';
   CREATE TABLE cc_audit (
     id      INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     key     TEXT NOT NULL UNIQUE,
     at      TEXT NOT NULL,
     actor   TEXT NOT NULL,
     action  TEXT NOT NULL,
     target  TEXT,
     allowed INTEGER NOT NULL,
     detail  TEXT
   );
   CREATE INDEX cc_audit_at ON cc_audit(at);
   CREATE FUNCTION cc_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'cc_audit is append-only'; END $$;
   CREATE TRIGGER cc_audit_no_change BEFORE UPDATE OR DELETE ON cc_audit
     FOR EACH ROW EXECUTE FUNCTION cc_audit_append_only();`,
  // The node that runs the contact center now (../contactcenter/leader.ts): the
  // PostgreSQL advisory lock decides who leads; this row tells the other nodes
  // where its call-control tier is. term grows with every takeover.
  `CREATE TABLE cc_leader (
     id      INTEGER PRIMARY KEY CHECK (id = 1),
     node    TEXT NOT NULL,
     address TEXT NOT NULL,
     port    INTEGER NOT NULL,
     https   TEXT NOT NULL,
     term    INTEGER NOT NULL,
     since   TEXT NOT NULL
   );`,
];

/** Any number that identifies the gateway's migration lock among advisory locks. */
const MIGRATION_LOCK = 0x67617477; // 'gatw'

type Exec = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

/** Connection lost (not an SQL error): SQLSTATE classes 08 (connection) and 57P (shutdown), or none. */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code.startsWith('57P');
}

/** One connection, used in order; reconnects on the next operation after a loss. */
export class PgSerial {
  private client: pg.Client | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly url: string,
    /** Names the connection in pg_stat_activity. */
    private readonly applicationName = 'gateway-store',
  ) {}

  private async connection(): Promise<pg.Client> {
    if (this.closed) throw new Error('storage closed');
    if (this.client) return this.client;
    const c = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: 5000,
      application_name: this.applicationName,
    });
    // An idle connection that dies emits 'error': forget it, the next operation reconnects.
    c.on('error', () => {
      if (this.client === c) this.client = undefined;
    });
    await c.connect();
    this.client = c;
    return c;
  }

  private drop(): void {
    const c = this.client;
    this.client = undefined;
    void c?.end().catch(() => undefined);
  }

  /** Run fn after every operation queued before it; retried once on a new connection if it was lost. */
  run<T>(fn: (exec: Exec) => Promise<T>, retry = true): Promise<T> {
    const attempt = async () => {
      const c = await this.connection();
      return fn((sql, params) => c.query(sql, params));
    };
    const p = this.tail.then(async () => {
      try {
        return await attempt();
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        this.drop();
        if (!retry || this.closed) throw err;
        return attempt();
      }
    });
    this.tail = p.catch(() => undefined);
    return p;
  }

  exec: Exec = (sql, params) => this.run((e) => e(sql, params));

  /** fn's statements in one transaction (not retried: a lost COMMIT's outcome is unknown). */
  transaction<T>(fn: (exec: Exec) => Promise<T>): Promise<T> {
    return this.run(async (e) => {
      await e('BEGIN');
      try {
        const result = await fn(e);
        await e('COMMIT');
        return result;
      } catch (err) {
        await e('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }, false);
  }

  async close(): Promise<void> {
    await this.tail;
    this.closed = true;
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }
}

/** Bring the database to the latest schema; nodes starting together take turns (advisory lock). */
export async function migratePostgres(serial: PgSerial): Promise<void> {
  await serial.transaction(async (e) => {
    await e('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await e('CREATE TABLE IF NOT EXISTS gateway_schema (version INTEGER NOT NULL)');
    const r = await e('SELECT version FROM gateway_schema');
    const current = (r.rows[0] as { version: number } | undefined)?.version ?? 0;
    for (const sql of MIGRATIONS.slice(current)) await e(sql);
    if (r.rowCount === 0)
      await e('INSERT INTO gateway_schema (version) VALUES ($1)', [MIGRATIONS.length]);
    else await e('UPDATE gateway_schema SET version = $1', [MIGRATIONS.length]);
  });
}

// ------------------------------------------------------------------ call records

const RECORD_COLUMNS = `id, call_id AS "callId", from_user AS "fromUser", to_user AS "toUser", direction, trunk,
  started_at AS "startedAt", answered_at AS "answeredAt", ended_at AS "endedAt", status, code, reason, node`;

function pgCallRecords(exec: Exec, node: string | null): CallRecordStorage {
  return {
    async start(r) {
      await exec(
        `INSERT INTO call_records (call_id, from_user, to_user, direction, trunk, started_at, node)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (call_id) DO NOTHING`,
        callRecordValues(r, node),
      );
    },
    async answered(callId, at) {
      await exec(
        `UPDATE call_records SET answered_at = $1, status = 'answered', code = 200 WHERE call_id = $2 AND answered_at IS NULL`,
        [at, callId],
      );
    },
    async ended(callId, at) {
      await exec(
        `UPDATE call_records SET ended_at = $1, status = 'ended' WHERE call_id = $2 AND ended_at IS NULL`,
        [at, callId],
      );
    },
    async failed(callId, at, code, reason) {
      await exec(
        `UPDATE call_records SET ended_at = $1, status = 'failed', code = $2, reason = $3 WHERE call_id = $4 AND ended_at IS NULL`,
        [at, code, reason, callId],
      );
    },
    async get(callId) {
      const r = await exec(`SELECT ${RECORD_COLUMNS} FROM call_records WHERE call_id = $1`, [
        callId,
      ]);
      return r.rows[0] as CallRecordRow | undefined;
    },
    async openBefore(before) {
      const r = await exec(
        `SELECT call_id AS "callId", answered_at AS "answeredAt" FROM call_records
         WHERE ended_at IS NULL AND started_at < $1 AND node IS NOT DISTINCT FROM $2`,
        [before, node],
      );
      return r.rows as { callId: string; answeredAt: string | null }[];
    },
    async openCount() {
      const r = await exec('SELECT COUNT(*)::int AS n FROM call_records WHERE ended_at IS NULL');
      return (r.rows[0] as { n: number }).n;
    },
    async recent(limit) {
      const r = await exec(`SELECT ${RECORD_COLUMNS} FROM call_records ORDER BY id DESC LIMIT $1`, [
        limit,
      ]);
      return r.rows as CallRecordRow[];
    },
    async between(from, to) {
      const r = await exec(
        `SELECT ${RECORD_COLUMNS} FROM call_records WHERE started_at >= $1 AND started_at < $2 ORDER BY started_at, id`,
        [from, to],
      );
      return r.rows as CallRecordRow[];
    },
  };
}

// ------------------------------------------------------------------ directory

function pgDirectory(serial: PgSerial): DirectoryStorage {
  const exec = serial.exec;
  return {
    async upsertUser(u) {
      await exec(
        `INSERT INTO users (username, display_name, ha1, realm, caller_id, demo) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name, ha1 = excluded.ha1,
           realm = excluded.realm, caller_id = excluded.caller_id, demo = excluded.demo`,
        userValues(u),
      );
    },
    async removeUser(username) {
      return ((await exec('DELETE FROM users WHERE username = $1', [username])).rowCount ?? 0) > 0;
    },
    async removeDemoUsers() {
      return (await exec('DELETE FROM users WHERE demo = 1')).rowCount ?? 0;
    },
    async findUser(username, realm) {
      const r = await exec('SELECT * FROM users WHERE username = $1 AND realm = $2', [
        username,
        realm,
      ]);
      const row = r.rows[0] as RawUser | undefined;
      return row && toUser(row);
    },
    async listUsers() {
      return ((await exec('SELECT * FROM users ORDER BY username')).rows as RawUser[]).map(toUser);
    },
    async setDid(number, username) {
      await exec(
        'INSERT INTO dids (number, username) VALUES ($1, $2) ON CONFLICT (number) DO UPDATE SET username = excluded.username',
        [number, username],
      );
    },
    async findDid(number) {
      const r = await exec('SELECT username FROM dids WHERE number = $1', [number]);
      return (r.rows[0] as { username: string } | undefined)?.username;
    },
    async listDids() {
      return (await exec('SELECT number, username FROM dids ORDER BY number')).rows as {
        number: string;
        username: string;
      }[];
    },
    async replaceTrunks(trunks) {
      await serial.transaction(async (e) => {
        await e('DELETE FROM trunks');
        for (const t of trunks)
          await e(
            'INSERT INTO trunks (name, host, port, transport, register, prefixes) VALUES ($1, $2, $3, $4, $5, $6)',
            trunkValues(t),
          );
      });
    },
    async listTrunks() {
      return ((await exec('SELECT * FROM trunks ORDER BY name')).rows as RawTrunk[]).map(toTrunk);
    },
  };
}

// ------------------------------------------------------------------ contact center

const CALL_COLUMNS = `id, call_id AS "callId", queue, caller_number AS "callerNumber", caller_name AS "callerName",
  entered_at AS "enteredAt", answered_at AS "answeredAt", agent, ended_at AS "endedAt", outcome,
  wait_sec AS "waitSec", disposition, notes, wrapped_up_at AS "wrappedUpAt"`;

const EVENT_COLUMNS = `id, at, event, queue_call_id AS "queueCallId", queue, agent, data`;

/** The contact center's operations on `exec` (the serial connection, or one transaction's). */
function pgCc(exec: Exec, serial: PgSerial): CcStorage {
  const rows = async <T>(sql: string, params?: unknown[]) => (await exec(sql, params)).rows as T[];
  const one = async <T>(sql: string, params?: unknown[]) => (await rows<T>(sql, params))[0];
  const cc: CcStorage = {
    transaction: <T>(fn: (tx: CcStorage) => Promise<T>) =>
      exec === serial.exec ? serial.transaction((e) => fn(pgCc(e, serial))) : fn(cc),

    async ensureAgent(username, now) {
      await exec(
        `INSERT INTO cc_agents (username, state, since) VALUES ($1, 'offline', $2) ON CONFLICT (username) DO NOTHING`,
        [username, now],
      );
    },
    async setConfigMembership(username, queues) {
      const keep = queues.map((q) => q.name);
      await exec(
        `DELETE FROM cc_queue_members WHERE username = $1 AND source = 'config' AND NOT (queue = ANY($2::text[]))`,
        [username, keep],
      );
      for (const q of queues)
        await exec(
          `INSERT INTO cc_queue_members (username, queue, penalty, source) VALUES ($1, $2, $3, 'config')
           ON CONFLICT (username, queue) DO UPDATE SET penalty = excluded.penalty, source = 'config'`,
          [username, q.name, q.penalty],
        );
    },
    async pruneMembership(configAgents, queues) {
      await exec(
        `DELETE FROM cc_queue_members
         WHERE (source = 'config' AND NOT (username = ANY($1::text[]))) OR NOT (queue = ANY($2::text[]))`,
        [[...configAgents], [...queues]],
      );
    },
    async upsertAdminMembership(username, queue, penalty) {
      await exec(
        `INSERT INTO cc_queue_members (username, queue, penalty, source) VALUES ($1, $2, $3, 'admin')
         ON CONFLICT (username, queue) DO UPDATE SET penalty = excluded.penalty`,
        [username, queue, penalty],
      );
    },
    async members(username) {
      const raw = await rows<RawMember>(
        username
          ? 'SELECT * FROM cc_queue_members WHERE username = $1 ORDER BY queue'
          : 'SELECT * FROM cc_queue_members ORDER BY username, queue',
        username ? [username] : [],
      );
      return raw.map(toMember);
    },
    async setLoggedIn(username, queue, loggedIn) {
      const v = loggedIn ? 1 : 0;
      const r = queue
        ? await exec(
            'UPDATE cc_queue_members SET logged_in = $1 WHERE username = $2 AND queue = $3',
            [v, username, queue],
          )
        : await exec('UPDATE cc_queue_members SET logged_in = $1 WHERE username = $2', [
            v,
            username,
          ]);
      return r.rowCount ?? 0;
    },
    async agents() {
      return rows<AgentRow>(
        `SELECT username, state, reason, since, idle_since AS "idleSince", unanswered,
                next_state AS "nextState", next_reason AS "nextReason",
                wrap_call_id AS "wrapCallId", wrap_ends_at AS "wrapEndsAt"
         FROM cc_agents ORDER BY username`,
      );
    },
    async saveAgent(a) {
      await exec(
        `UPDATE cc_agents SET state = $2, reason = $3, since = $4, idle_since = $5, unanswered = $6,
           next_state = $7, next_reason = $8, wrap_call_id = $9, wrap_ends_at = $10
         WHERE username = $1`,
        [
          a.username,
          a.state,
          a.reason,
          a.since,
          a.idleSince,
          a.unanswered,
          a.nextState,
          a.nextReason,
          a.wrapCallId,
          a.wrapEndsAt,
        ],
      );
    },

    async insertQueueCall(c) {
      await exec(
        `INSERT INTO queue_calls (id, call_id, queue, caller_number, caller_name, entered_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
        [c.id, c.callId, c.queue, c.callerNumber, c.callerName, c.enteredAt],
      );
    },
    async markAnswered(id, agent, at, waitSec) {
      await exec(
        `UPDATE queue_calls SET answered_at = $1, agent = $2, outcome = 'answered', wait_sec = $3 WHERE id = $4`,
        [at, agent, waitSec, id],
      );
    },
    async markLeft(id: string, outcome: QueueCallOutcome, at: string, waitSec: number) {
      await exec(
        `UPDATE queue_calls SET outcome = $1, ended_at = $2, wait_sec = $3 WHERE id = $4 AND outcome IS NULL`,
        [outcome, at, waitSec, id],
      );
    },
    async markEnded(id, at) {
      await exec('UPDATE queue_calls SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL', [
        at,
        id,
      ]);
    },
    async setCallAgent(id, agent) {
      await exec('UPDATE queue_calls SET agent = $1 WHERE id = $2', [agent, id]);
    },
    async saveDisposition(id, disposition, notes, at) {
      await exec(
        'UPDATE queue_calls SET disposition = $1, notes = $2, wrapped_up_at = COALESCE(wrapped_up_at, $3) WHERE id = $4',
        [disposition, notes, at, id],
      );
    },
    async queueCall(id) {
      return one<QueueCallRow>(`SELECT ${CALL_COLUMNS} FROM queue_calls WHERE id = $1`, [id]);
    },
    async queueCalls() {
      return rows<QueueCallRow>(`SELECT ${CALL_COLUMNS} FROM queue_calls ORDER BY seq`);
    },
    async openQueueCalls() {
      return rows<QueueCallRow>(`SELECT ${CALL_COLUMNS} FROM queue_calls WHERE ended_at IS NULL`);
    },
    async lastAnsweredBy(agent) {
      return one<QueueCallRow>(
        `SELECT ${CALL_COLUMNS} FROM queue_calls WHERE agent = $1 AND answered_at IS NOT NULL
         ORDER BY answered_at DESC LIMIT 1`,
        [agent],
      );
    },
    async history(callerNumber, excludeId, limit = 5) {
      return rows<QueueCallRow>(
        `SELECT ${CALL_COLUMNS} FROM queue_calls WHERE caller_number = $1 AND id != $2
         ORDER BY entered_at DESC, seq DESC LIMIT $3`,
        [callerNumber, excludeId, limit],
      );
    },
    async agentDay(agent, since) {
      const r = (await one<{ n: number; avg: number | null }>(
        `SELECT COUNT(*)::int AS n,
                AVG(CASE WHEN ended_at IS NOT NULL
                    THEN EXTRACT(EPOCH FROM (ended_at::timestamptz - answered_at::timestamptz)) END)::float8 AS avg
         FROM queue_calls WHERE agent = $1 AND answered_at >= $2`,
        [agent, since],
      ))!;
      return toAgentDay(r);
    },
    async handledSince(since) {
      const r = await rows<{ agent: string; n: number }>(
        'SELECT agent, COUNT(*)::int AS n FROM queue_calls WHERE answered_at >= $1 AND agent IS NOT NULL GROUP BY agent',
        [since],
      );
      return new Map(r.map((x) => [x.agent, x.n]));
    },
    async averageAnsweredWait(queue, since) {
      const r = await one<{ avg: number | null }>(
        `SELECT AVG(wait_sec)::float8 AS avg FROM queue_calls WHERE queue = $1 AND outcome = 'answered' AND answered_at >= $2`,
        [queue, since],
      );
      return r?.avg ?? null;
    },
    async queueCallsBetween(from, to) {
      return rows<QueueCallRow>(
        `SELECT ${CALL_COLUMNS} FROM queue_calls WHERE entered_at >= $1 AND entered_at < $2 ORDER BY entered_at, seq`,
        [from, to],
      );
    },
    async answeredBetween(from, to) {
      return rows<QueueCallRow>(
        `SELECT ${CALL_COLUMNS} FROM queue_calls WHERE answered_at >= $1 AND answered_at < $2 ORDER BY answered_at, seq`,
        [from, to],
      );
    },

    async addQualitySample(id, s, flagged) {
      await exec(
        `UPDATE queue_calls SET
           mos_avg = (COALESCE(mos_avg, 0) * quality_samples + $2) / (quality_samples + 1),
           quality_samples = quality_samples + 1,
           mos_min = LEAST(COALESCE(mos_min, $2), $2),
           jitter_max_ms = GREATEST(COALESCE(jitter_max_ms, $3), $3),
           loss_max_pct = GREATEST(COALESCE(loss_max_pct, $4), $4),
           rtt_max_ms = GREATEST(COALESCE(rtt_max_ms, $5), $5),
           quality_flagged = GREATEST(quality_flagged, $6)
         WHERE id = $1`,
        [id, s.mos, s.jitterMs, s.lossPct, s.rttMs, flagged ? 1 : 0],
      );
    },
    async quality(id) {
      const r = await one<RawQuality>(
        `SELECT quality_samples AS samples, mos_min AS "mosMin", mos_avg AS "mosAvg", jitter_max_ms AS "jitterMaxMs",
                loss_max_pct AS "lossMaxPct", rtt_max_ms AS "rttMaxMs", quality_flagged AS flagged
         FROM queue_calls WHERE id = $1`,
        [id],
      );
      return toQuality(r);
    },

    async setRecording(id, file) {
      await exec('UPDATE queue_calls SET recording_file = $1 WHERE id = $2', [file, id]);
    },
    async recording(id) {
      return one<{ file: string | null; deletedAt: string | null }>(
        'SELECT recording_file AS file, recording_deleted_at AS "deletedAt" FROM queue_calls WHERE id = $1',
        [id],
      );
    },
    async recordingsBefore(queue, before) {
      return rows<{ id: string; file: string }>(
        `SELECT id, recording_file AS file FROM queue_calls
         WHERE queue = $1 AND entered_at < $2 AND recording_file IS NOT NULL AND recording_deleted_at IS NULL`,
        [queue, before],
      );
    },
    async recordingDeleted(id, at) {
      await exec('UPDATE queue_calls SET recording_deleted_at = $1 WHERE id = $2', [at, id]);
    },

    async audit(e) {
      await exec(
        `INSERT INTO cc_audit (key, at, actor, action, target, allowed, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (key) DO NOTHING`,
        [randomUUID(), ...auditValues(e)],
      );
    },
    async auditLog(filter = {}) {
      const r = await rows<RawAudit>(
        `SELECT id, at, actor, action, target, allowed, detail FROM cc_audit
         WHERE ($1::text IS NULL OR at >= $1) AND ($2::text IS NULL OR at < $2)
           AND ($3::text IS NULL OR actor = $3)
         ORDER BY id DESC LIMIT $4`,
        [filter.from ?? null, filter.to ?? null, filter.actor ?? null, filter.limit ?? 500],
      );
      return r.map(toAudit);
    },

    async event(e) {
      await exec(
        `INSERT INTO queue_events (key, at, event, queue_call_id, queue, agent, data) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (key) DO NOTHING`,
        [randomUUID(), ...eventValues(e)],
      );
    },
    async eventsBetween(from: string, to: string, event?: QueueEventName) {
      return (
        await rows<RawEvent>(
          `SELECT ${EVENT_COLUMNS} FROM queue_events
           WHERE at >= $1 AND at < $2 AND ($3::text IS NULL OR event = $3) ORDER BY id`,
          [from, to, event ?? null],
        )
      ).map(toEvent);
    },
    async agentStatesAt(at) {
      const r = await rows<{ agent: string; data: string }>(
        `SELECT agent, data FROM queue_events WHERE id IN (
           SELECT MAX(id) FROM queue_events WHERE event = 'agent-state' AND at < $1 GROUP BY agent)`,
        [at],
      );
      return toAgentStates(r);
    },
    async events(filter = {}) {
      return (
        await rows<RawEvent>(
          `SELECT ${EVENT_COLUMNS} FROM queue_events
           WHERE ($1::text IS NULL OR queue_call_id = $1) AND ($2::text IS NULL OR event = $2) ORDER BY id`,
          [filter.queueCallId ?? null, filter.event ?? null],
        )
      ).map(toEvent);
    },
  };
  return cc;
}

/** Connect to a cluster's PostgreSQL, bring its schema up to date, and give the storage. */
export async function openPostgres(
  url: string,
  opts: { node?: string | null } = {},
): Promise<Storage> {
  const serial = new PgSerial(url, `gateway-store:${opts.node ?? 'single'}`);
  try {
    await migratePostgres(serial);
  } catch (err) {
    await serial.close();
    throw err;
  }
  return {
    kind: 'postgres',
    callRecords: pgCallRecords(serial.exec, opts.node ?? null),
    directory: pgDirectory(serial),
    cc: pgCc(serial.exec, serial),
    ping: () =>
      Promise.race([
        serial.exec('SELECT 1').then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref()),
      ]),
    close: () => serial.close(),
  };
}
