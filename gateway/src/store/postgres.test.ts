import { afterAll, beforeAll } from 'vitest';
import { openPostgres } from './postgres.js';
import { describeStorageContract } from './storage.contract.js';
import { startTestPostgres, type TestPostgres } from './testing/postgres.js';

// The storage contract on PostgreSQL (a cluster's storage): a throwaway server
// on 127.0.0.1:18750 (run inside a loopback namespace, like the whole suite),
// a fresh database per test.

let server: TestPostgres;
let n = 0;
beforeAll(async () => {
  server = await startTestPostgres(18750);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describeStorageContract('PostgreSQL', async () => {
  const url = await server.createDatabase(`contract_${++n}`);
  return (node: string | null) => openPostgres(url, { node });
});
