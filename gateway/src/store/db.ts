import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

// The gateway's one SQLite file: users (HA1 only), DIDs, trunks (no secrets),
// call records, contact-center state. WAL so the HTTP API can read while
// Kamailio's events write. A cluster uses PostgreSQL instead (postgres.ts, the
// same tables); storage.ts is the interface both implement.

export type Db = Database.Database;

const MIGRATIONS: string[] = [
  `CREATE TABLE users (
     username     TEXT PRIMARY KEY,
     display_name TEXT NOT NULL DEFAULT '',
     -- MD5(username:realm:password), RFC 2617 §3.2.2.2; the clear password is never stored.
     ha1          TEXT NOT NULL,
     realm        TEXT NOT NULL,
     caller_id    TEXT,
     demo         INTEGER NOT NULL DEFAULT 0,
     created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
     id          INTEGER PRIMARY KEY AUTOINCREMENT,
     call_id     TEXT NOT NULL UNIQUE,
     from_user   TEXT NOT NULL,
     to_user     TEXT NOT NULL,
     -- local, outbound (to a trunk or URI), inbound (from a trunk), service
     direction   TEXT NOT NULL,
     trunk       TEXT,
     started_at  TEXT NOT NULL,
     answered_at TEXT,
     ended_at    TEXT,
     status      TEXT NOT NULL DEFAULT 'started',
     code        INTEGER,
     reason      TEXT
   );
   CREATE INDEX call_records_started ON call_records(started_at);`,
  // Contact center (../contactcenter): agents' live state survives a restart;
  // queue_calls is one row per caller per queue, queue_events the append-only
  // log that reports are computed from.
  `CREATE TABLE cc_agents (
     username     TEXT PRIMARY KEY REFERENCES users(username) ON DELETE CASCADE,
     state        TEXT NOT NULL DEFAULT 'offline',
     reason       TEXT,
     since        TEXT NOT NULL,
     -- When the agent's last call ended (or they became available): longest-idle.
     idle_since   TEXT,
     unanswered   INTEGER NOT NULL DEFAULT 0,
     -- not-ready/offline chosen during a call, applied when wrap-up ends.
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
     -- config rows are rewritten at each start; admin rows are kept.
     source    TEXT NOT NULL DEFAULT 'config',
     PRIMARY KEY (username, queue)
   );
   CREATE TABLE queue_calls (
     id            TEXT PRIMARY KEY,
     call_id       TEXT NOT NULL,
     queue         TEXT NOT NULL,
     caller_number TEXT NOT NULL,
     caller_name   TEXT NOT NULL DEFAULT '',
     entered_at    TEXT NOT NULL,
     answered_at   TEXT,
     agent         TEXT,
     ended_at      TEXT,
     -- answered, abandoned, overflowed, exited
     outcome       TEXT,
     wait_sec      REAL,
     disposition   TEXT,
     notes         TEXT,
     wrapped_up_at TEXT
   );
   CREATE INDEX queue_calls_caller ON queue_calls(caller_number, entered_at);
   CREATE INDEX queue_calls_agent ON queue_calls(agent, answered_at);
   CREATE INDEX queue_calls_queue ON queue_calls(queue, entered_at);
   CREATE TABLE queue_events (
     id            INTEGER PRIMARY KEY AUTOINCREMENT,
     at            TEXT NOT NULL,
     event         TEXT NOT NULL,
     queue_call_id TEXT,
     queue         TEXT,
     agent         TEXT,
     -- JSON: outcome, wait_sec, disposition, state, reason...
     data          TEXT
   );
   CREATE INDEX queue_events_call ON queue_events(queue_call_id);
   CREATE INDEX queue_events_at ON queue_events(at);`,
  // Contact center II (supervisors): the audit trail (append-only: refusals,
  // monitoring and forcing actions, recording deletions), each queue call's
  // quality summary from the agent's getStats samples, and its recording file.
  `CREATE TABLE cc_audit (
     id       INTEGER PRIMARY KEY AUTOINCREMENT,
     at       TEXT NOT NULL,
     actor    TEXT NOT NULL,
     action   TEXT NOT NULL,
     target   TEXT,
     allowed  INTEGER NOT NULL,
     detail   TEXT
   );
   CREATE INDEX cc_audit_at ON cc_audit(at);
   CREATE TRIGGER cc_audit_no_update BEFORE UPDATE ON cc_audit
     BEGIN SELECT RAISE(ABORT, 'cc_audit is append-only'); END;
   CREATE TRIGGER cc_audit_no_delete BEFORE DELETE ON cc_audit
     BEGIN SELECT RAISE(ABORT, 'cc_audit is append-only'); END;
   ALTER TABLE queue_calls ADD COLUMN quality_samples INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE queue_calls ADD COLUMN mos_min REAL;
   ALTER TABLE queue_calls ADD COLUMN mos_avg REAL;
   ALTER TABLE queue_calls ADD COLUMN jitter_max_ms REAL;
   ALTER TABLE queue_calls ADD COLUMN loss_max_pct REAL;
   ALTER TABLE queue_calls ADD COLUMN rtt_max_ms REAL;
   ALTER TABLE queue_calls ADD COLUMN quality_flagged INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE queue_calls ADD COLUMN recording_file TEXT;
   ALTER TABLE queue_calls ADD COLUMN recording_deleted_at TEXT;
   CREATE INDEX queue_calls_entered ON queue_calls(entered_at);`,
  // Cluster (issue 10): which node wrote a call record (null on one machine).
  `ALTER TABLE call_records ADD COLUMN node TEXT;`,
];

export function openDb(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: no fsync per call record; a power cut may lose the last
  // records but never corrupts the file (https://sqlite.org/pragma.html#pragma_synchronous).
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 2000');
  // SQLite's own default page cache (2 MB). better-sqlite3 builds it with 16 MB,
  // which the service filled page by page as call_records grew: its memory rose
  // for the first ~75,000 calls (seen as +35 % in a 10-minute soak, heaptrack:
  // pcache1). Writes touch only the newest rows and the call_id index's path, and
  // the OS page cache holds the file anyway; a bigger private copy of it bought nothing.
  db.pragma('cache_size = -2000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = MIGRATIONS.slice(current);
  if (pending.length === 0) return;
  db.transaction(() => {
    pending.forEach((sql) => db.exec(sql));
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}
