import type { Db } from '../store/db.js';
import type { GatewayConfig } from '../config/schema.js';
import { SqliteDirectory } from '../store/sqlite.js';
import type { DirectoryStorage, TrunkRow, UserRow } from '../store/storage.js';
import type { ClusterBus } from '../store/bus.js';
import { computeHa1 } from './ha1.js';

export type User = UserRow;

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

/** The user directory: who may register, with which HA1, and which DIDs ring whom. */
export class Directory {
  private readonly store: SqliteDirectory;

  /**
   * Reads are synchronous (the routing decision asks per request) from the
   * node's SQLite file. In a cluster that file holds a copy of the shared
   * PostgreSQL directory, refreshed on every change (syncFromStorage).
   */
  constructor(
    private readonly db: Db,
    private readonly realm: string,
  ) {
    this.store = new SqliteDirectory(db);
  }

  upsertUser(input: NewUser): void {
    this.store.upsertUser(userRow(input, this.realm));
  }

  removeUser(username: string): boolean {
    return this.store.removeUser(username);
  }

  /** A user whose HA1 was computed for another realm cannot authenticate here: treat as unknown. */
  findUser(username: string): User | undefined {
    return this.store.findUser(username, this.realm);
  }

  listUsers(): User[] {
    return this.store.listUsers();
  }

  setDid(number: string, username: string): void {
    this.store.setDid(number, username);
  }

  /** The local user a DID (E.164) rings. */
  findDid(number: string): string | undefined {
    return this.store.findDid(number);
  }

  listDids(): { number: string; username: string }[] {
    return this.store.listDids();
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
        this.store.removeDemoUsers();
      }
      for (const u of configUsers(cfg)) this.upsertUser(u);
      for (const d of cfg.dids) this.setDid(d.number, d.username);
      this.store.replaceTrunks(configTrunks(cfg));
    })();
  }

  /** Cluster: make this node's copy exactly the shared directory's content. */
  async syncFromStorage(shared: DirectoryStorage): Promise<void> {
    const [users, dids, trunks] = [
      await shared.listUsers(),
      await shared.listDids(),
      await shared.listTrunks(),
    ];
    this.store.mirror(users, dids, trunks);
  }
}

type NewUser = {
  username: string;
  password: string;
  displayName?: string;
  callerId?: string | null;
  demo?: boolean;
};

/** The stored row of a user: HA1 for this realm, never the password. */
export function userRow(input: NewUser, realm: string): UserRow {
  return {
    username: input.username,
    displayName: input.displayName ?? '',
    ha1: computeHa1(input.username, realm, input.password),
    realm,
    callerId: input.callerId ?? null,
    demo: input.demo ?? false,
  };
}

function configUsers(cfg: GatewayConfig): NewUser[] {
  return cfg.users.map((u) => ({
    username: u.username,
    password: u.password,
    displayName: u.displayName,
    callerId: u.callerId,
  }));
}

function configTrunks(cfg: GatewayConfig): TrunkRow[] {
  return cfg.trunks.map((t) => ({
    name: t.name,
    host: t.host,
    port: t.port,
    transport: t.transport,
    register: t.register,
    prefixes: t.prefixes,
  }));
}

/**
 * Cluster: the config's users, DIDs, demo accounts and trunks into the shared
 * directory (what syncFromConfig does for one machine). Every node does it at
 * start from the same config, so doing it twice changes nothing.
 */
export async function syncConfigToStorage(
  shared: DirectoryStorage,
  cfg: GatewayConfig,
): Promise<void> {
  if (cfg.demo.enabled) {
    for (const u of DEMO_USERS) await shared.upsertUser(userRow({ ...u, demo: true }, cfg.domain));
    await shared.setDid(DEMO_DID.number, DEMO_DID.username);
  } else {
    await shared.removeDemoUsers();
  }
  for (const u of configUsers(cfg)) await shared.upsertUser(userRow(u, cfg.domain));
  for (const d of cfg.dids) await shared.setDid(d.number, d.username);
  await shared.replaceTrunks(configTrunks(cfg));
}

/**
 * Cluster start: the config into the shared directory, this node's copy made
 * from it, and refreshed whenever a node (or `npm run users`) says it changed
 * or the bus reconnects (a change may have been missed). `afterRefresh`: what
 * else must forget the old directory (this node's Kamailio cache).
 */
export async function joinClusterDirectory(
  directory: Directory,
  shared: DirectoryStorage,
  bus: ClusterBus,
  cfg: GatewayConfig,
  opts: { afterRefresh?: () => Promise<unknown>; onError?: (err: unknown) => void } = {},
): Promise<void> {
  await syncConfigToStorage(shared, cfg);
  await directory.syncFromStorage(shared);
  const refresh = () =>
    directory
      .syncFromStorage(shared)
      .then(() => opts.afterRefresh?.())
      .catch((err: unknown) => opts.onError?.(err));
  bus.subscribe('gw_directory', () => void refresh());
  bus.onReconnect(() => void refresh());
  bus.publish('gw_directory', { why: 'config' });
}
