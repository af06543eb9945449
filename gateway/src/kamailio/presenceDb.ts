import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Kamailio's presence modules (presence, presence_xml, pua) will not start
// without a database, and Kamailio never creates tables itself. This makes the
// SQLite file they use, in <dataDir>/run, before every start of Kamailio (at
// render time, and as its ProcessSpec.beforeStart, so a restart after a crash too):
//
// - from the schema Debian ships with db_sqlite (kamailio-sqlite-modules,
//   /usr/share/kamailio/db_sqlite: `standard-create.sql` for the `version`
//   table every module checks, `presence-create.sql` for presentity,
//   active_watchers, watchers, xcap and pua), so the columns and table
//   versions are exactly what this Kamailio build expects;
// - idempotently: a file that already has the tables is kept, so
//   subscriptions (active_watchers, written back by presence) survive a
//   restart and watchers keep getting NOTIFYs;
// - in WAL mode (persistent in the file), so presence's timer writing
//   subscriptions back does not block a worker reading;
// - with the call state of the previous run dropped: `pua` holds the dialog
//   states pua_dialoginfo published, and the dialogs themselves (in memory)
//   died with that Kamailio. Left there, pua would load and refresh them, and
//   a BLF would show "busy" for a call that no longer exists.
//
// Why SQLite: Kamailio runs on the same host as the service and nothing else
// reads these tables; a database server for a few rows of subscriptions
// would be a new moving part. Presentities are kept in Kamailio's memory
// (presence `publ_cache` 2), so the call-state PUBLISHes never touch the file.

export const PRESENCE_DB_FILE = 'kamailio-presence.sqlite';

/** Where Debian's kamailio-sqlite-modules puts the schema. */
export const SQLITE_SCHEMA_DIR = '/usr/share/kamailio/db_sqlite';

const PRESENCE_TABLES = ['presentity', 'active_watchers', 'watchers', 'xcap', 'pua'];

/** Creates (or keeps) the presence database in `runDir`; returns its path. */
export function ensurePresenceDb(runDir: string, schemaDir = SQLITE_SCHEMA_DIR): string {
  const read = (file: string): string => {
    const path = join(schemaDir, file);
    if (!existsSync(path)) {
      throw new Error(
        `kamailio: ${path} is missing; install Debian's kamailio-sqlite-modules (presence needs its schema)`,
      );
    }
    return readFileSync(path, 'utf8');
  };
  mkdirSync(runDir, { recursive: true });
  const file = join(runDir, PRESENCE_DB_FILE);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    const has = (table: string) => exists.get(table) !== undefined;
    db.transaction(() => {
      if (!has('version')) db.exec(read('standard-create.sql'));
      const missing = PRESENCE_TABLES.filter((t) => !has(t));
      if (missing.length === PRESENCE_TABLES.length) {
        db.exec(read('presence-create.sql'));
      } else if (missing.length > 0) {
        throw new Error(
          `kamailio: ${file} has only some presence tables (missing ${missing.join(', ')}); delete the file to start again`,
        );
      }
      db.exec('DELETE FROM pua; DELETE FROM presentity;');
    })();
  } finally {
    db.close();
  }
  return file;
}
