// Every unit test gets a fresh in-memory IndexedDB and an empty localStorage.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach } from 'vitest';
import { closeDb } from './storage/db';
import { forgetCachedKey } from './storage/secrets';

afterEach(async () => {
  await closeDb();
  forgetCachedKey();
  globalThis.indexedDB = new IDBFactory();
  localStorage.clear();
  sessionStorage.clear();
});
