import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('PostgreSQL storage when the connection is cut', () => {
  it('call records written while the connection is killed: none lost, none doubled', async () => {
    const url = await server.createDatabase('cut');
    const s = await openPostgres(url, { node: 'edge-a' });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const N = 300;
      const at = (i: number) => new Date(Date.parse('2026-11-30T10:00:00Z') + i).toISOString();
      const writes: Promise<void>[] = [];
      let killed = 0;
      for (let i = 0; i < N; i++) {
        const callId = `cut-${i}`;
        // Not awaited, as Kamailio's events are written: the storage keeps their order.
        writes.push(
          s.callRecords.start({
            callId,
            fromUser: 'a',
            toUser: 'b',
            direction: 'local',
            trunk: null,
            startedAt: at(i),
          }),
          s.callRecords.answered(callId, at(i + 1)),
          s.callRecords.ended(callId, at(i + 2)),
        );
        if (i % 100 === 50) {
          // Let some land, then cut the storage's connection under the writes still queued.
          await writes[writes.length - 1];
          const r = await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gateway-store:edge-a'`,
          );
          killed += r.rowCount ?? 0;
        }
      }
      await Promise.all(writes);
      expect(killed).toBe(3);
      const rows = (
        await admin.query<{ call_id: string; status: string; n: number }>(
          `SELECT call_id, status, COUNT(*) OVER (PARTITION BY call_id)::int AS n FROM call_records`,
        )
      ).rows;
      expect(rows).toHaveLength(N);
      expect(rows.every((r) => r.n === 1 && r.status === 'ended')).toBe(true);
    } finally {
      await admin.end();
      await s.close();
    }
  }, 30_000);
});

describe('PostgreSQL migrations', () => {
  it('nodes starting together on an empty database migrate it once (advisory lock)', async () => {
    const url = await server.createDatabase('migrate_together');
    const nodes = await Promise.all(
      ['edge-a', 'edge-b', 'edge-c'].map((node) => openPostgres(url, { node })),
    );
    const again = await openPostgres(url, { node: 'edge-a' });
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const v = await c.query<{ version: number }>('SELECT version FROM gateway_schema');
      // two migrations: the tables, then cc_leader (the contact center's leader)
      expect(v.rows).toEqual([{ version: 2 }]);
      await nodes[1]!.callRecords.start({
        callId: 'm1',
        fromUser: 'a',
        toUser: 'b',
        direction: 'local',
        trunk: null,
        startedAt: '2026-11-30T10:00:00.000Z',
      });
      expect((await again.callRecords.get('m1'))?.node).toBe('edge-b');
      // The audit trail refuses changes in PostgreSQL too.
      await nodes[0]!.cc.audit({
        at: '2026-11-30T10:00:00.000Z',
        actor: 'x',
        action: 'y',
        allowed: true,
      });
      await expect(c.query(`UPDATE cc_audit SET actor = 'z'`)).rejects.toThrow(
        'cc_audit is append-only',
      );
      await expect(c.query('DELETE FROM cc_audit')).rejects.toThrow('cc_audit is append-only');
    } finally {
      await c.end();
      for (const s of [...nodes, again]) await s.close();
    }
  }, 30_000);
});
