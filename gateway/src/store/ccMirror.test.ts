import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CcStore, type AgentRow } from './cc.js';
import { CcWriteBehind, MirroredCcStore, importCcState, type CcWrite } from './ccMirror.js';
import { openDb, type Db } from './db.js';
import { Leadership, type LeaderInfo } from './leader.js';
import { openPostgres } from './postgres.js';
import { sqliteStorage } from './sqlite.js';
import type { Storage } from './storage.js';
import { startTestPostgres, type TestPostgres } from './testing/postgres.js';

// Cluster mode's contact-center store: the leader's writes replayed on
// PostgreSQL leave both stores equal; a new leader's import makes its SQLite
// equal to PostgreSQL; one node at a time holds the leadership, and the next
// takes over when it lets go. A throwaway PostgreSQL on 127.0.0.1:18753 (run in
// a loopback namespace like the rest of the suite).

let server: TestPostgres;
let n = 0;
beforeAll(async () => {
  server = await startTestPostgres(18753);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** A queue call to sales. */
const salesCall = (
  id: string,
  callId: string,
  callerNumber: string,
  callerName: string,
  enteredAt: string,
) => ({ id, callId, queue: 'sales', callerNumber, callerName, enteredAt });

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const USERS = ['1001', '1002'];

async function withUsers(db: Db, pgStore?: Storage): Promise<void> {
  for (const username of USERS) {
    const u = {
      username,
      displayName: '',
      ha1: 'x',
      realm: 'localhost',
      callerId: null,
      demo: false,
    };
    await sqliteStorage(db).directory.upsertUser(u);
    await pgStore?.directory.upsertUser(u);
  }
}

/** What both stores must agree on (ids are each store's own). */
async function contents(
  cc: Pick<CcStore, 'agents' | 'members' | 'queueCalls' | 'events' | 'quality'> | Storage['cc'],
) {
  const calls = await cc.queueCalls();
  return {
    agents: await cc.agents(),
    members: await cc.members(),
    calls,
    quality: await Promise.all(calls.map((c) => cc.quality(c.id))),
    events: (await cc.events()).map(({ id: _id, ...e }) => e),
  };
}

describe('contact center write-behind (cluster mode)', () => {
  it('every write, in order, lands on PostgreSQL; a transaction as one batch; a rolled-back one not at all', async () => {
    const url = await server.createDatabase(`mirror_${++n}`);
    const pgStore = await openPostgres(url, { node: 'edge-a' });
    const db = openDb(':memory:');
    try {
      await withUsers(db, pgStore);
      const batches: CcWrite[][] = [];
      const wb = new CcWriteBehind(pgStore.cc, (err) => {
        throw err;
      });
      const store = new MirroredCcStore(db, (w) => {
        batches.push(w);
        wb.push(w);
      });
      const t = (s: number) =>
        new Date(Date.parse('2026-12-01T09:00:00Z') + s * 1000).toISOString();
      store.transaction(() => {
        for (const u of USERS) {
          store.ensureAgent(u, t(0));
          store.setConfigMembership(u, [{ name: 'sales', penalty: 0 }]);
        }
        store.pruneMembership(new Set(USERS), new Set(['sales']));
      });
      expect(batches).toHaveLength(1);
      const row: AgentRow = {
        ...store.agents()[0]!,
        state: 'available',
        since: t(1),
        idleSince: t(1),
      };
      store.saveAgent(row);
      // the caller's object changes after the call: the replayed write is the one made
      row.state = 'offline';
      store.insertQueueCall(salesCall('q1', 'c1', '+1555', 'A', t(2)));
      store.insertQueueCall(salesCall('q2', 'c2', '+1556', 'B', t(3)));
      store.event({ at: t(2), event: 'entered', queueCallId: 'q1', queue: 'sales' });
      store.event({ at: t(3), event: 'entered', queueCallId: 'q2', queue: 'sales' });
      store.markAnswered('q1', '1001', t(4), 2);
      store.event({
        at: t(4),
        event: 'answered',
        queueCallId: 'q1',
        queue: 'sales',
        agent: '1001',
        data: { waitSec: 2 },
      });
      store.addQualitySample('q1', { mos: 4.1, jitterMs: 3, lossPct: 0, rttMs: 20 }, false);
      store.markLeft('q2', 'abandoned', t(5), 2);
      store.markEnded('q1', t(6));
      store.saveDisposition('q1', 'Resolved', 'ok', t(7));
      store.setLoggedIn('1002', 'sales', false);
      store.audit({
        at: t(8),
        actor: 'admin',
        action: 'force-state',
        target: '1001',
        allowed: true,
      });
      expect(() =>
        store.transaction(() => {
          store.ensureAgent('1002', t(9));
          store.markEnded('q2', t(9));
          throw new Error('rolled back');
        }),
      ).toThrow('rolled back');
      await wb.flush();
      expect(wb.backlog).toBe(0);
      expect(wb.failed).toBe(0);
      expect(await contents(pgStore.cc)).toEqual(await contents(store));
      expect((await pgStore.cc.agents())[0]!.state).toBe('available');
      expect((await pgStore.cc.auditLog()).map((a) => a.action)).toEqual(['force-state']);
    } finally {
      db.close();
      await pgStore.close();
    }
  });

  it("a node taking over copies PostgreSQL's rows into its SQLite, replacing its own old ones", async () => {
    const url = await server.createDatabase(`import_${++n}`);
    const pgStore = await openPostgres(url, { node: 'edge-a' });
    const leaderDb = openDb(':memory:');
    const nextDb = openDb(':memory:');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await withUsers(leaderDb, pgStore);
      await withUsers(nextDb);
      const wb = new CcWriteBehind(pgStore.cc, (err) => {
        throw err;
      });
      const store = new MirroredCcStore(leaderDb, wb.push);
      store.ensureAgent('1001', '2026-12-01T09:00:00.000Z');
      store.setConfigMembership('1001', [{ name: 'sales', penalty: 1 }]);
      store.insertQueueCall(salesCall('q1', 'c1', '+1555', 'A', '2026-12-01T09:00:01.000Z'));
      store.event({
        at: '2026-12-01T09:00:01.000Z',
        event: 'entered',
        queueCallId: 'q1',
        queue: 'sales',
        data: { position: 1 },
      });
      store.addQualitySample('q1', { mos: 3.2, jitterMs: 9, lossPct: 1.5, rttMs: 80 }, true);
      await wb.flush();
      // the next node's own rows from an earlier term are replaced
      const stale = new CcStore(nextDb);
      stale.ensureAgent('1002', '2026-11-30T09:00:00.000Z');
      stale.insertQueueCall(salesCall('old', 'c0', '+1', '', '2026-11-30T09:00:00.000Z'));

      const copied = await importCcState((sql, params) => client.query(sql, params), nextDb);
      expect(copied).toEqual({ agents: 1, members: 1, queueCalls: 1, queueEvents: 1 });
      expect(await contents(new CcStore(nextDb))).toEqual(await contents(store));
    } finally {
      await client.end();
      leaderDb.close();
      nextDb.close();
      await pgStore.close();
    }
  });
});

describe('contact center leadership (PostgreSQL advisory lock)', () => {
  const node = (url: string, name: string, events: string[], leaders: (LeaderInfo | undefined)[]) =>
    new Leadership({
      url,
      node: name,
      self: {
        address: `10.0.0.${name === 'a' ? 1 : 2}`,
        port: 5065,
        https: `https://${name}:8443`,
      },
      pollMs: 100,
      onLead: async () => {
        events.push(`${name} leads`);
      },
      onLost: (why) => events.push(`${name} lost: ${why}`),
      onLeaderChanged: (l) => leaders.push(l),
      log: quiet,
    });

  it('one node leads; when it lets go the other takes over with a new term; a leader whose lock connection dies stands aside', async () => {
    const url = await server.createDatabase(`leader_${++n}`);
    // the schema (cc_leader) comes with the storage's migrations
    await (await openPostgres(url)).close();
    const events: string[] = [];
    const seenByB: (LeaderInfo | undefined)[] = [];
    const a = node(url, 'a', events, []);
    const b = node(url, 'b', events, seenByB);
    try {
      await a.start();
      await b.start();
      expect(a.leading).toBe(true);
      expect(b.leading).toBe(false);
      expect(events).toEqual(['a leads']);
      expect(b.leader).toMatchObject({ node: 'a', address: '10.0.0.1', port: 5065, term: 1 });

      const t0 = Date.now();
      await a.stop();
      await waitFor(() => b.leading, 5000);
      const takeoverMs = Date.now() - t0;
      expect(takeoverMs).toBeLessThan(5000);
      await waitFor(() => b.leader?.node === 'b', 2000);
      expect(b.leader).toMatchObject({ node: 'b', term: 2, https: 'https://b:8443' });
      expect(seenByB.map((l) => l?.node)).toEqual(['a', 'b']);

      // b's lock connection is cut (as by a network partition): b stops at once
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gateway-cc-leader:b'",
      );
      await admin.end();
      await waitFor(() => b.stoodDown, 5000);
      expect(b.leading).toBe(false);
      expect(events.at(-1)).toMatch(/^b lost: /);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
