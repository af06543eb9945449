import type { CcStore } from './cc.js';

// The one storage interface (issue 10): the embedded default keeps SQLite
// (one file, synchronous underneath), a cluster shares PostgreSQL. Both
// implement this, and one contract test suite (storage.contract.ts) runs
// against both. Writes are idempotent by key (a call record by its Call-ID,
// a queue call by its id, an event by its key), so a write retried after a
// lost connection cannot double a row.

/** Every method of T, returning a Promise of what it returned. */
export type AsyncOf<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
};

export interface CallRecordRow {
  id: number;
  callId: string;
  fromUser: string;
  toUser: string;
  direction: string;
  trunk: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  status: string;
  code: number | null;
  reason: string | null;
  /** The cluster node that wrote the record (null on a single machine). */
  node: string | null;
}

/** Call records (CDRs): keyed by Call-ID; every update applies once. */
export interface CallRecordStorage {
  /** A new record; a second start of the same Call-ID changes nothing. */
  start(r: {
    callId: string;
    fromUser: string;
    toUser: string;
    direction: string;
    trunk: string | null;
    startedAt: string;
  }): Promise<void>;
  answered(callId: string, at: string): Promise<void>;
  ended(callId: string, at: string): Promise<void>;
  failed(callId: string, at: string, code: number | null, reason: string | null): Promise<void>;
  get(callId: string): Promise<CallRecordRow | undefined>;
  /**
   * This node's records with no end that started before `before` (ISO): what
   * its Kamailio should still know. Another node's open calls are its own.
   */
  openBefore(before: string): Promise<{ callId: string; answeredAt: string | null }[]>;
  openCount(): Promise<number>;
  /** Newest first. */
  recent(limit: number): Promise<CallRecordRow[]>;
  /** Every record of [from, to) by start, oldest first (reports, the cluster test's count). */
  between(from: string, to: string): Promise<CallRecordRow[]>;
}

export interface UserRow {
  username: string;
  displayName: string;
  ha1: string;
  realm: string;
  callerId: string | null;
  demo: boolean;
}

export interface TrunkRow {
  name: string;
  host: string;
  port: number;
  transport: string;
  register: boolean;
  prefixes: string[];
}

/** The user directory: users (HA1 only), DIDs, trunks (no secrets). */
export interface DirectoryStorage {
  upsertUser(u: UserRow): Promise<void>;
  removeUser(username: string): Promise<boolean>;
  removeDemoUsers(): Promise<number>;
  findUser(username: string, realm: string): Promise<UserRow | undefined>;
  listUsers(): Promise<UserRow[]>;
  setDid(number: string, username: string): Promise<void>;
  findDid(number: string): Promise<string | undefined>;
  listDids(): Promise<{ number: string; username: string }[]>;
  replaceTrunks(trunks: TrunkRow[]): Promise<void>;
  listTrunks(): Promise<TrunkRow[]>;
}

/** The contact center's state: the same operations as its SQLite CcStore, asynchronous. */
export type CcStorage = AsyncOf<Omit<CcStore, 'transaction'>> & {
  /** fn's operations commit together or not at all. */
  transaction<T>(fn: (tx: CcStorage) => Promise<T>): Promise<T>;
};

export interface Storage {
  readonly kind: 'sqlite' | 'postgres';
  readonly callRecords: CallRecordStorage;
  readonly directory: DirectoryStorage;
  readonly cc: CcStorage;
  /** Answers within a second (health checks). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
