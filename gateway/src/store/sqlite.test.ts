import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openDb } from './db.js';
import { sqliteStorage } from './sqlite.js';
import { describeStorageContract } from './storage.contract.js';

// The storage contract on the embedded default: a fresh SQLite file per test
// (a file, not :memory:, so two "nodes" can open the same one).

const dir = mkdtempSync(join(tmpdir(), 'gw-store-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStorageContract('SQLite', () => {
  const file = join(dir, `db-${++n}.sqlite`);
  return Promise.resolve((node: string | null) =>
    Promise.resolve(sqliteStorage(openDb(file), { node })),
  );
});
