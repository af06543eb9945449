import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

// The gateway's one SQLite file: users (HA1 only), DIDs, trunks (no secrets),
// call records. WAL so the HTTP API can read while Kamailio's events write.

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
