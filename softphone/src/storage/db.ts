// The softphone's IndexedDB: the secret key, encrypted secrets, call history,
// contacts and chat messages. One database, versioned here only.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export interface EncryptedSecret {
  /** AES-GCM nonce, 12 bytes. */
  iv: Uint8Array<ArrayBuffer>;
  /** Ciphertext with the GCM tag appended. */
  data: ArrayBuffer;
}

export interface QualitySummary {
  samples: number;
  mosAvg?: number;
  mosMin?: number;
  rttAvgMs?: number;
  jitterAvgMs?: number;
  lossAvgPct?: number;
  codec?: string;
}

export interface HistoryEntry {
  id: string;
  direction: 'incoming' | 'outgoing';
  /** SIP URI of the other party. */
  remote: string;
  remoteName?: string;
  /** Epoch ms the call was created. */
  start: number;
  /** Seconds talked (0 when never established). */
  durationSec: number;
  answered: boolean;
  /** "486 Busy Here", "BYE", ... */
  endCause: string;
  endedBy?: 'local' | 'remote' | 'system';
  quality?: QualitySummary;
}

export interface Contact {
  id: string;
  name: string;
  /** SIP URI or number. */
  uri: string;
  /** Subscribe to presence for this contact. */
  watchPresence: boolean;
  note?: string;
}

export interface ChatMessage {
  id?: number;
  /** The other party's AOR (normalised sip: URI). */
  peer: string;
  direction: 'in' | 'out';
  body: string;
  time: number;
  status: 'sent' | 'failed' | 'received' | 'pending';
}

interface SoftphoneDB extends DBSchema {
  keys: { key: string; value: CryptoKey };
  secrets: { key: string; value: EncryptedSecret };
  history: { key: string; value: HistoryEntry; indexes: { start: number } };
  contacts: { key: string; value: Contact };
  messages: { key: number; value: ChatMessage; indexes: { peer: string } };
}

export const DB_NAME = 'softphone';
const DB_VERSION = 1;

let dbPromise: Promise<IDBPDatabase<SoftphoneDB>> | undefined;

export function db(): Promise<IDBPDatabase<SoftphoneDB>> {
  dbPromise ??= openDB<SoftphoneDB>(DB_NAME, DB_VERSION, {
    upgrade(database) {
      database.createObjectStore('keys');
      database.createObjectStore('secrets');
      database.createObjectStore('history', { keyPath: 'id' }).createIndex('start', 'start');
      database.createObjectStore('contacts', { keyPath: 'id' });
      database
        .createObjectStore('messages', { keyPath: 'id', autoIncrement: true })
        .createIndex('peer', 'peer');
    },
    blocking() {
      // Another tab upgrades the schema: let it.
      void dbPromise?.then((d) => d.close());
      dbPromise = undefined;
    },
  });
  return dbPromise;
}

/** Tests only: close and forget the connection so a fresh IndexedDB can be used. */
export async function closeDb(): Promise<void> {
  const p = dbPromise;
  dbPromise = undefined;
  if (p) (await p).close();
}

export function newId(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
