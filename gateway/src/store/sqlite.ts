import { CcStore } from './cc.js';
import type { Db } from './db.js';
import {
  callRecordValues,
  toTrunk,
  toUser,
  trunkValues,
  userValues,
  type RawTrunk,
  type RawUser,
} from './rows.js';
import type {
  CallRecordRow,
  CallRecordStorage,
  CcStorage,
  DirectoryStorage,
  Storage,
  TrunkRow,
  UserRow,
} from './storage.js';

// The embedded default: storage.ts's interface over the one SQLite file.
// better-sqlite3 is synchronous, so every operation has run when its Promise
// is returned: callers see their writes in order, as before.

const RECORD_COLUMNS = `id, call_id AS callId, from_user AS fromUser, to_user AS toUser, direction, trunk,
  started_at AS startedAt, answered_at AS answeredAt, ended_at AS endedAt, status, code, reason, node`;

/** Call records' SQL for SQLite (prepared once: three statements run per call). */
export class SqliteCallRecords {
  private readonly insertStart;
  private readonly markAnswered;
  private readonly markEnded;
  private readonly markFailed;

  constructor(
    private readonly db: Db,
    private readonly node: string | null = null,
  ) {
    this.insertStart = db.prepare(
      `INSERT INTO call_records (call_id, from_user, to_user, direction, trunk, started_at, node)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(call_id) DO NOTHING`,
    );
    this.markAnswered = db.prepare(
      `UPDATE call_records SET answered_at = ?, status = 'answered', code = 200 WHERE call_id = ? AND answered_at IS NULL`,
    );
    this.markEnded = db.prepare(
      `UPDATE call_records SET ended_at = ?, status = 'ended' WHERE call_id = ? AND ended_at IS NULL`,
    );
    this.markFailed = db.prepare(
      `UPDATE call_records SET ended_at = ?, status = 'failed', code = ?, reason = ? WHERE call_id = ? AND ended_at IS NULL`,
    );
  }

  start(r: Parameters<CallRecordStorage['start']>[0]): void {
    this.insertStart.run(...callRecordValues(r, this.node));
  }
  answered(callId: string, at: string): void {
    this.markAnswered.run(at, callId);
  }
  ended(callId: string, at: string): void {
    this.markEnded.run(at, callId);
  }
  failed(callId: string, at: string, code: number | null, reason: string | null): void {
    this.markFailed.run(at, code, reason, callId);
  }
  get(callId: string): CallRecordRow | undefined {
    return this.db
      .prepare(`SELECT ${RECORD_COLUMNS} FROM call_records WHERE call_id = ?`)
      .get(callId) as CallRecordRow | undefined;
  }
  openBefore(before: string): { callId: string; answeredAt: string | null }[] {
    return this.db
      .prepare(
        'SELECT call_id AS callId, answered_at AS answeredAt FROM call_records WHERE ended_at IS NULL AND started_at < ? AND node IS ?',
      )
      .all(before, this.node) as { callId: string; answeredAt: string | null }[];
  }
  openCount(): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM call_records WHERE ended_at IS NULL').get() as {
        n: number;
      }
    ).n;
  }
  recent(limit: number): CallRecordRow[] {
    return this.db
      .prepare(`SELECT ${RECORD_COLUMNS} FROM call_records ORDER BY id DESC LIMIT ?`)
      .all(limit) as CallRecordRow[];
  }
  between(from: string, to: string): CallRecordRow[] {
    return this.db
      .prepare(
        `SELECT ${RECORD_COLUMNS} FROM call_records WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id`,
      )
      .all(from, to) as CallRecordRow[];
  }
}

/** The directory's SQL for SQLite. */
export class SqliteDirectory {
  constructor(private readonly db: Db) {}

  upsertUser(u: UserRow): void {
    this.db
      .prepare(
        `INSERT INTO users (username, display_name, ha1, realm, caller_id, demo)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(username) DO UPDATE SET display_name = excluded.display_name,
           ha1 = excluded.ha1, realm = excluded.realm, caller_id = excluded.caller_id, demo = excluded.demo`,
      )
      .run(...userValues(u));
  }
  removeUser(username: string): boolean {
    return this.db.prepare('DELETE FROM users WHERE username = ?').run(username).changes > 0;
  }
  removeDemoUsers(): number {
    return this.db.prepare('DELETE FROM users WHERE demo = 1').run().changes;
  }
  findUser(username: string, realm: string): UserRow | undefined {
    const row = this.db
      .prepare('SELECT * FROM users WHERE username = ? AND realm = ?')
      .get(username, realm) as RawUser | undefined;
    return row && toUser(row);
  }
  listUsers(): UserRow[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY username').all() as RawUser[]).map(
      toUser,
    );
  }
  setDid(number: string, username: string): void {
    this.db
      .prepare(
        'INSERT INTO dids (number, username) VALUES (?, ?) ON CONFLICT(number) DO UPDATE SET username = excluded.username',
      )
      .run(number, username);
  }
  findDid(number: string): string | undefined {
    const row = this.db.prepare('SELECT username FROM dids WHERE number = ?').get(number) as
      { username: string } | undefined;
    return row?.username;
  }
  listDids(): { number: string; username: string }[] {
    return this.db.prepare('SELECT number, username FROM dids ORDER BY number').all() as {
      number: string;
      username: string;
    }[];
  }
  replaceTrunks(trunks: TrunkRow[]): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM trunks').run();
      const insert = this.db.prepare(
        'INSERT INTO trunks (name, host, port, transport, register, prefixes) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const t of trunks) insert.run(...trunkValues(t));
    })();
  }
  /**
   * Make the tables exactly these rows (a cluster node's copy of the shared
   * directory). Users are upserted, not replaced, so the contact center's rows
   * that reference them stay; only users gone from the list are deleted.
   */
  mirror(users: UserRow[], dids: { number: string; username: string }[], trunks: TrunkRow[]): void {
    this.db.transaction(() => {
      const keep = new Set(users.map((u) => u.username));
      for (const u of this.listUsers()) if (!keep.has(u.username)) this.removeUser(u.username);
      for (const u of users) this.upsertUser(u);
      this.db.prepare('DELETE FROM dids').run();
      for (const d of dids) this.setDid(d.number, d.username);
      this.replaceTrunks(trunks);
    })();
  }

  listTrunks(): TrunkRow[] {
    return (this.db.prepare('SELECT * FROM trunks ORDER BY name').all() as RawTrunk[]).map(toTrunk);
  }
}

/** Each method of a synchronous object, returning a resolved Promise (a throw becomes a rejection). */
function asAsync<T extends object>(target: T, methods: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of methods) {
    const fn = (target as Record<string, unknown>)[name];
    if (typeof fn !== 'function') continue;
    out[name] = (...args: unknown[]) => {
      try {
        return Promise.resolve((fn as (...a: unknown[]) => unknown).apply(target, args));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
  }
  return out;
}

const methodsOf = (proto: object) =>
  Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor');

/** The contact center's SQLite store behind the asynchronous interface. */
export function sqliteCcStorage(db: Db, store = new CcStore(db)): CcStorage {
  const methods = methodsOf(CcStore.prototype).filter((n) => n !== 'transaction');
  const cc = asAsync(store, methods) as unknown as CcStorage;
  cc.transaction = async <T>(fn: (tx: CcStorage) => Promise<T>): Promise<T> => {
    // SQLite's operations run synchronously as they are called, so the whole of
    // fn runs between BEGIN and COMMIT (a nested call uses a savepoint).
    const nested = db.inTransaction;
    const sp = 'cc_tx';
    db.exec(nested ? `SAVEPOINT ${sp}` : 'BEGIN');
    try {
      const result = await fn(cc);
      db.exec(nested ? `RELEASE ${sp}` : 'COMMIT');
      return result;
    } catch (err) {
      db.exec(nested ? `ROLLBACK TO ${sp}; RELEASE ${sp}` : 'ROLLBACK');
      throw err;
    }
  };
  return cc;
}

export function sqliteStorage(db: Db, opts: { node?: string | null } = {}): Storage {
  const records = new SqliteCallRecords(db, opts.node ?? null);
  const directory = new SqliteDirectory(db);
  return {
    kind: 'sqlite',
    callRecords: asAsync(
      records,
      methodsOf(SqliteCallRecords.prototype),
    ) as unknown as CallRecordStorage,
    directory: asAsync(
      directory,
      methodsOf(SqliteDirectory.prototype),
    ) as unknown as DirectoryStorage,
    cc: sqliteCcStorage(db),
    ping: () => Promise.resolve(db.open),
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}
