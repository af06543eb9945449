import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { ContactCenter } from '../contactcenter/contactCenter.js';
import { FakeCallControl } from '../contactcenter/testing/fakeCallControl.js';
import { soundDirs } from '../contactcenter/testing/harness.js';
import type { Principal, Wallboard } from '../contactcenter/supervisor.js';
import type { AgentView } from '../contactcenter/types.js';
import { Directory, joinClusterDirectory, userRow } from '../directory/directory.js';
import { createLogger } from '../log.js';
import { PgBus } from './bus.js';
import { openDb } from './db.js';
import { openPostgres } from './postgres.js';
import { startTestPostgres, type TestPostgres } from './testing/postgres.js';

// Live fan-out between cluster nodes (issue 10): two contact centers (two
// nodes) on one database, each with its own connection to PostgreSQL's
// LISTEN/NOTIFY. A change made on node A reaches the agent stream and the
// wallboard stream of node B, which is what their SSE clients are sent.
// The throwaway PostgreSQL listens on 127.0.0.1:18752 (run in a loopback
// namespace, like the whole suite).

let server: TestPostgres;
const tmp = mkdtempSync(join(tmpdir(), 'gw-fanout-'));
beforeAll(async () => {
  server = await startTestPostgres(18752);
}, 60_000);
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const BOSS: Principal = { actor: '1001', queues: ['sales'] };

async function until<T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('cluster fan-out over PostgreSQL LISTEN/NOTIFY', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function node(name: string, url: string, file: string) {
    const cfg = parseConfig({
      contactCenter: {
        ...soundDirs(),
        queues: [{ name: 'sales', number: '8001', announce: { everySec: 0 } }],
        agents: [{ username: '1003', queues: [{ name: 'sales' }] }],
        supervisors: [{ username: '1001', queues: ['sales'] }],
      },
      log: { level: 'fatal' },
    });
    const db = openDb(file);
    const directory = new Directory(db, cfg.domain);
    directory.syncFromConfig(cfg);
    const bus = await PgBus.connect(url, name);
    const callControl = new FakeCallControl();
    const cc = new ContactCenter({
      cfg,
      db,
      directory,
      callControl,
      log: createLogger('fatal'),
      dataDir: mkdtempSync(join(tmp, `${name}-`)),
      bus,
    });
    cc.start();
    await bus.ready();
    cleanup.push(async () => {
      cc.stop();
      await bus.close();
      db.close();
    });
    return { cc, bus, callControl };
  }

  it("an agent's state changed on node A reaches node B's agent stream and wallboard", async () => {
    const url = await server.createDatabase('fanout_agent');
    // Each node its own contact-center tables: the state crosses through the bus alone.
    const a = await node('edge-a', url, join(tmp, 'agent-a.sqlite'));
    const b = await node('edge-b', url, join(tmp, 'agent-b.sqlite'));

    const viewsOnB: AgentView[] = [];
    const boardsOnB: Wallboard[] = [];
    cleanup.push(b.cc.subscribe('1003', (v) => viewsOnB.push(v)));
    cleanup.push(b.cc.subscribeWallboard(BOSS, (w) => boardsOnB.push(w)));
    expect(viewsOnB.at(-1)?.state).toBe('offline');

    a.cc.setState('1003', 'available');
    await until('available on B', () => viewsOnB.at(-1)?.state === 'available');
    await until('available on B’s wallboard', () =>
      boardsOnB.at(-1)?.agents.some((x) => x.username === '1003' && x.state === 'available'),
    );

    a.cc.setState('1003', 'not-ready', 'Break');
    const v = await until('not-ready on B', () =>
      viewsOnB.at(-1)?.state === 'not-ready' ? viewsOnB.at(-1) : undefined,
    );
    expect(v).toMatchObject({ state: 'not-ready', reason: 'Break' });
    // The same moment on both nodes (B took A's, it did not stamp its own),
    // and kept in B's store for B's next start.
    expect(v.since).toBe(a.cc.view('1003').since);
    expect(b.cc.store.agents()[0]).toMatchObject({
      state: 'not-ready',
      reason: 'Break',
      since: v.since,
    });

    // And back: B's change reaches A; neither echoes the other's change back.
    const viewsOnA: AgentView[] = [];
    cleanup.push(a.cc.subscribe('1003', (x) => viewsOnA.push(x)));
    b.cc.setState('1003', 'available');
    await until('available on A', () => viewsOnA.at(-1)?.state === 'available');
    await new Promise((r) => setTimeout(r, 500));
    const pushes = viewsOnA.length + viewsOnB.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(viewsOnA.length + viewsOnB.length).toBe(pushes);
    expect(viewsOnB.at(-1)?.state).toBe('available');
  }, 30_000);

  it("a caller who abandons on node A shows in node B's wallboard figures", async () => {
    const url = await server.createDatabase('fanout_wallboard');
    const file = join(tmp, 'wallboard.sqlite');
    const a = await node('edge-a', url, file);
    const b = await node('edge-b', url, file);
    const boardsOnB: Wallboard[] = [];
    cleanup.push(b.cc.subscribeWallboard(BOSS, (w) => boardsOnB.push(w)));
    expect(boardsOnB.at(-1)?.queues[0]?.today.abandoned).toBe(0);

    const caller = a.callControl.call('8001', '+15550000001', 'Caller');
    await until('the caller waiting on A', () => a.cc.waiting('sales').length === 1);
    caller.callerHangsUp();
    const w = await until('the abandon on B’s wallboard', () =>
      boardsOnB.at(-1)?.queues[0]?.today.abandoned === 1 ? boardsOnB.at(-1) : undefined,
    );
    expect(w.queues[0]!.today).toMatchObject({ offered: 1, abandoned: 1, answered: 0 });
  }, 30_000);

  it('a node whose connection to PostgreSQL was cut reconnects and receives again', async () => {
    const url = await server.createDatabase('fanout_reconnect');
    const file = join(tmp, 'reconnect.sqlite');
    const a = await node('edge-a', url, file);
    const b = await node('edge-b', url, file);
    const viewsOnB: AgentView[] = [];
    cleanup.push(b.cc.subscribe('1003', (v) => viewsOnB.push(v)));
    let reconnected = false;
    b.bus.onReconnect(() => (reconnected = true));

    // What an administrator's pg_terminate_backend, or a failover, does to B's listener.
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const killed = await c.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gateway-bus:edge-b'`,
    );
    await c.end();
    expect(killed.rowCount).toBe(1);
    await until('B reconnected', () => reconnected);

    a.cc.setState('1003', 'available');
    await until('available on B after the reconnect', () => viewsOnB.at(-1)?.state === 'available');
  }, 30_000);

  it("the directory: a user added on one node can register on the other; the contact center's rows stay", async () => {
    const url = await server.createDatabase('fanout_directory');
    const cfg = parseConfig({ log: { level: 'fatal' } });
    const nodes = [];
    for (const name of ['edge-a', 'edge-b']) {
      const storage = await openPostgres(url, { node: name });
      const bus = await PgBus.connect(url, name);
      const db = openDb(join(tmp, `directory-${name}.sqlite`));
      const directory = new Directory(db, cfg.domain);
      let refreshed = 0;
      await joinClusterDirectory(directory, storage.directory, bus, cfg, {
        afterRefresh: () => Promise.resolve(++refreshed),
      });
      await bus.ready();
      cleanup.push(async () => {
        await bus.close();
        await storage.close();
        db.close();
      });
      nodes.push({ storage, bus, db, directory, refreshed: () => refreshed });
    }
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    // The demo users from the config, on both.
    expect(b.directory.findUser('1001')?.displayName).toBe('Alice (demo)');
    // An agent row on B that references a user (ON DELETE CASCADE): a refresh must not drop it.
    b.db.prepare(`INSERT INTO cc_agents (username, since) VALUES ('1002', 'x')`).run();

    // What `npm run users -- add` does in a cluster: the shared row, then the notification.
    await a.storage.directory.upsertUser(
      userRow({ username: 'carol', password: 'carol-secret-1', displayName: 'Carol' }, cfg.domain),
    );
    await a.storage.directory.setDid('+15550100200', 'carol');
    a.bus.publish('gw_directory', { why: 'user added' });
    const carol = await until('carol on B', () => b.directory.findUser('carol'));
    expect(carol).toEqual(
      userRow({ username: 'carol', password: 'carol-secret-1', displayName: 'Carol' }, cfg.domain),
    );
    expect(b.directory.findDid('+15550100200')).toBe('carol');
    expect(b.db.prepare('SELECT username FROM cc_agents').all()).toEqual([{ username: '1002' }]);

    await a.storage.directory.removeUser('carol');
    a.bus.publish('gw_directory', { why: 'user removed' });
    await until('carol gone from B', () => !b.directory.findUser('carol'));
    expect(b.directory.findDid('+15550100200')).toBeUndefined();
    expect(b.refreshed()).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
