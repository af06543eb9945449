import Database from 'better-sqlite3';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensurePresenceDb } from './presenceDb.js';

// The presence database Kamailio's presence and pua modules open: made from
// Debian's own schema (kamailio-sqlite-modules), kept across restarts except
// for the previous run's call states.

const run = () => mkdtempSync(join(tmpdir(), 'presence-db-'));

describe('ensurePresenceDb', () => {
  it("creates Debian's presence tables with the versions Kamailio checks, in WAL mode", () => {
    const file = ensurePresenceDb(run());
    const db = new Database(file, { readonly: true });
    const versions = Object.fromEntries(
      (
        db.prepare('SELECT table_name, table_version FROM version').all() as {
          table_name: string;
          table_version: number;
        }[]
      ).map((r) => [r.table_name, r.table_version]),
    );
    expect(versions).toMatchObject({ presentity: 5, active_watchers: 12, watchers: 3, pua: 7 });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('keeps subscriptions on a second start and drops the call states of the previous run', () => {
    const dir = run();
    const file = ensurePresenceDb(dir);
    const db = new Database(file);
    db.prepare(
      `INSERT INTO active_watchers (presentity_uri, watcher_username, watcher_domain, to_user, to_domain,
         to_tag, from_tag, callid, local_cseq, remote_cseq, contact, expires, socket_info, local_contact,
         from_user, from_domain, updated, updated_winfo)
       VALUES ('sip:1002@localhost', '1001', 'localhost', '1001', 'localhost', 't', 'f', 'c', 1, 1,
         'sip:1001@127.0.0.1', 9999999999, 'udp:127.0.0.1:5060', 'sip:127.0.0.1:5060', '1001', 'localhost', 0, 0)`,
    ).run();
    db.prepare(
      `INSERT INTO pua (pres_uri, pres_id, event, expires, desired_expires, flag, etag, watcher_uri,
         call_id, to_tag, from_tag, cseq, contact, remote_contact, version, extra_headers)
       VALUES ('sip:1002@localhost', 'DIALOG_PUBLISH.x', 4, 0, 0, 0, 'e', '', 'x', '', '', 0, '', '', 0, '')`,
    ).run();
    db.close();

    ensurePresenceDb(dir);
    const again = new Database(file, { readonly: true });
    expect(again.prepare('SELECT COUNT(*) AS n FROM active_watchers').get()).toEqual({ n: 1 });
    expect(again.prepare('SELECT COUNT(*) AS n FROM pua').get()).toEqual({ n: 0 });
    again.close();
  });

  it('names the Debian package when the schema is missing', () => {
    const empty = run();
    mkdirSync(join(empty, 'schema'));
    writeFileSync(join(empty, 'schema', 'README'), '');
    expect(() => ensurePresenceDb(join(empty, 'run'), join(empty, 'schema'))).toThrow(
      /kamailio-sqlite-modules/,
    );
  });
});
