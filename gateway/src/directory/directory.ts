import type { Db } from '../store/db.js';
import type { GatewayConfig } from '../config/schema.js';
import { computeHa1 } from './ha1.js';

export interface User {
  username: string;
  displayName: string;
  ha1: string;
  realm: string;
  callerId: string | null;
  demo: boolean;
}

/**
 * Demo accounts for the embedded default. Their passwords are public by design
 * (one-click login in the softphone); config validation refuses them on a
 * non-loopback address.
 */
export const DEMO_USERS = [
  {
    username: '1001',
    displayName: 'Alice (demo)',
    password: 'demo-1001-pw',
    callerId: '+15550101001',
  },
  {
    username: '1002',
    displayName: 'Bob (demo)',
    password: 'demo-1002-pw',
    callerId: '+15550101002',
  },
  {
    username: '1003',
    displayName: 'Carol (demo)',
    password: 'demo-1003-pw',
    callerId: '+15550101003',
  },
  {
    username: '1004',
    displayName: 'Dave (demo)',
    password: 'demo-1004-pw',
    callerId: '+15550101004',
  },
] as const;

/** A DID routed to demo user 1001, so inbound trunk calls work out of the box. */
export const DEMO_DID = { number: '+15550100100', username: '1001' } as const;

interface UserRow {
  username: string;
  display_name: string;
  ha1: string;
  realm: string;
  caller_id: string | null;
  demo: number;
}

/** The user directory: who may register, with which HA1, and which DIDs ring whom. */
export class Directory {
  constructor(
    private readonly db: Db,
    private readonly realm: string,
  ) {}

  upsertUser(input: {
    username: string;
    password: string;
    displayName?: string;
    callerId?: string | null;
    demo?: boolean;
  }): void {
    this.db
      .prepare(
        `INSERT INTO users (username, display_name, ha1, realm, caller_id, demo)
         VALUES (@username, @displayName, @ha1, @realm, @callerId, @demo)
         ON CONFLICT(username) DO UPDATE SET display_name = excluded.display_name,
           ha1 = excluded.ha1, realm = excluded.realm, caller_id = excluded.caller_id, demo = excluded.demo`,
      )
      .run({
        username: input.username,
        displayName: input.displayName ?? '',
        ha1: computeHa1(input.username, this.realm, input.password),
        realm: this.realm,
        callerId: input.callerId ?? null,
        demo: input.demo ? 1 : 0,
      });
  }

  removeUser(username: string): boolean {
    return this.db.prepare('DELETE FROM users WHERE username = ?').run(username).changes > 0;
  }

  /** A user whose HA1 was computed for another realm cannot authenticate here: treat as unknown. */
  findUser(username: string): User | undefined {
    const row = this.db
      .prepare('SELECT * FROM users WHERE username = ? AND realm = ?')
      .get(username, this.realm) as UserRow | undefined;
    return row && toUser(row);
  }

  listUsers(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(
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

  /** The local user a DID (E.164) rings. */
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

  /**
   * Bring the store in line with the config at start: configured users and DIDs
   * are upserted, demo users seeded or removed, trunks mirrored (without secrets).
   */
  syncFromConfig(cfg: GatewayConfig): void {
    this.db.transaction(() => {
      if (cfg.demo.enabled) {
        for (const u of DEMO_USERS) this.upsertUser({ ...u, demo: true });
        this.setDid(DEMO_DID.number, DEMO_DID.username);
      } else {
        this.db.prepare('DELETE FROM users WHERE demo = 1').run();
      }
      for (const u of cfg.users) {
        this.upsertUser({
          username: u.username,
          password: u.password,
          displayName: u.displayName,
          callerId: u.callerId,
        });
      }
      for (const d of cfg.dids) this.setDid(d.number, d.username);
      this.db.prepare('DELETE FROM trunks').run();
      const insert = this.db.prepare(
        'INSERT INTO trunks (name, host, port, transport, register, prefixes) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const t of cfg.trunks) {
        insert.run(
          t.name,
          t.host,
          t.port,
          t.transport,
          t.register ? 1 : 0,
          JSON.stringify(t.prefixes),
        );
      }
    })();
  }
}

function toUser(row: UserRow): User {
  return {
    username: row.username,
    displayName: row.display_name,
    ha1: row.ha1,
    realm: row.realm,
    callerId: row.caller_id,
    demo: row.demo === 1,
  };
}
