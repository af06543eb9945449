import { afterEach, describe, expect, it } from 'vitest';
import type { Storage, UserRow } from './storage.js';

// One test body for every implementation of storage.ts (issue 10): SQLite
// (sqlite.test.ts) and PostgreSQL (postgres.test.ts) must give the same
// answers to the same operations. `fresh` gives an empty database; its opener
// can be called twice to act as two cluster nodes on that one database.

export type FreshDatabase = () => Promise<(node: string | null) => Promise<Storage>>;

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const at = (sec: number) => new Date(T0 + sec * 1000).toISOString();

/** A local call from 1001 to 1002. */
const localCall = (callId: string, startedAt: string) => ({
  callId,
  fromUser: '1001',
  toUser: '1002',
  direction: 'local',
  trunk: null,
  startedAt,
});

/** A user for the contact center's rows to reference. */
const user = (username: string): UserRow => ({
  username,
  displayName: '',
  ha1: 'h',
  realm: 'r',
  callerId: null,
  demo: false,
});

/** A queue call of a caller with no name. */
const queueCall = (id: string, queue: string, enteredAt: string) => ({
  id,
  callId: 's',
  queue,
  callerNumber: '1',
  callerName: '',
  enteredAt,
});

export function describeStorageContract(backend: string, fresh: FreshDatabase): void {
  describe(`storage contract: ${backend}`, () => {
    const open: Storage[] = [];
    const storage = async (node: string | null = null) => {
      const s = await (await fresh())(node);
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });

    it('call records: a call starts, is answered and ends once; repeats change nothing', async () => {
      const s = await storage('edge-a');
      expect(await s.ping()).toBe(true);
      const r = s.callRecords;
      const start = localCall('c1', at(0));
      await r.start(start);
      await r.start({ ...start, startedAt: at(5), toUser: 'other' });
      await r.answered('c1', at(2));
      await r.answered('c1', at(3));
      await r.ended('c1', at(10));
      await r.failed('c1', at(11), 500, 'late');
      expect(await r.get('c1')).toEqual({
        id: expect.any(Number) as number,
        callId: 'c1',
        fromUser: '1001',
        toUser: '1002',
        direction: 'local',
        trunk: null,
        startedAt: at(0),
        answeredAt: at(2),
        endedAt: at(10),
        status: 'ended',
        code: 200,
        reason: null,
        node: 'edge-a',
      });
      await r.start({
        ...start,
        callId: 'c2',
        startedAt: at(20),
        direction: 'outbound',
        trunk: 'carrier',
      });
      await r.failed('c2', at(21), 486, 'Busy Here');
      await r.start({ ...start, callId: 'c3', startedAt: at(30) });
      await r.start({ ...start, callId: 'c4', startedAt: at(40) });
      await r.answered('c4', at(41));
      expect(await r.get('c2')).toMatchObject({
        status: 'failed',
        code: 486,
        reason: 'Busy Here',
        trunk: 'carrier',
      });
      expect(await r.openCount()).toBe(2);
      expect(await r.openBefore(at(35))).toEqual([{ callId: 'c3', answeredAt: null }]);
      expect((await r.recent(3)).map((x) => x.callId)).toEqual(['c4', 'c3', 'c2']);
      expect((await r.between(at(10), at(40))).map((x) => x.callId)).toEqual(['c2', 'c3']);
      expect(await r.get('nope')).toBeUndefined();
    });

    it('call records from two nodes on one database: none lost, none doubled (retried writes included)', async () => {
      const open2 = await fresh();
      const a = await open2('edge-a');
      const b = await open2('edge-b');
      open.push(a, b);
      const N = 40;
      const write = (s: Storage, prefix: string) =>
        Array.from({ length: N }, async (_, i) => {
          const callId = `${prefix}-${i}`;
          const rec = localCall(callId, at(i));
          await s.callRecords.start(rec);
          // A retried write (the first's reply was lost) arrives again.
          await s.callRecords.start(rec);
          await s.callRecords.answered(callId, at(i + 1));
          await s.callRecords.ended(callId, at(i + 2));
          await s.callRecords.ended(callId, at(i + 3));
        });
      await Promise.all([...write(a, 'a'), ...write(b, 'b')]);
      const all = await a.callRecords.between(at(-1), at(N + 10));
      expect(all).toHaveLength(2 * N);
      expect(new Set(all.map((x) => x.callId)).size).toBe(2 * N);
      expect(all.filter((x) => x.node === 'edge-a')).toHaveLength(N);
      expect(all.filter((x) => x.node === 'edge-b')).toHaveLength(N);
      expect(
        all.every(
          (x) => x.status === 'ended' && x.endedAt === at(Number(x.callId.split('-')[1]) + 2),
        ),
      ).toBe(true);
      expect(await b.callRecords.openCount()).toBe(0);
      // A call in progress on B is B's to close after a reconnect, never A's.
      await b.callRecords.start(localCall('b-open', at(1)));
      expect(await a.callRecords.openBefore(at(N + 10))).toEqual([]);
      expect(await b.callRecords.openBefore(at(N + 10))).toEqual([
        { callId: 'b-open', answeredAt: null },
      ]);
    });

    it('directory: users by realm, DIDs, demo users, trunks', async () => {
      const d = (await storage()).directory;
      const alice = {
        username: '1001',
        displayName: 'Alice',
        ha1: 'h1',
        realm: 'example.test',
        callerId: '+15550101001',
        demo: true,
      };
      await d.upsertUser(alice);
      await d.upsertUser({
        ...alice,
        username: '2001',
        displayName: 'Zed',
        demo: false,
        callerId: null,
      });
      await d.upsertUser({ ...alice, displayName: 'Alice B' });
      expect(await d.findUser('1001', 'example.test')).toEqual({
        ...alice,
        displayName: 'Alice B',
      });
      expect(await d.findUser('1001', 'other.realm')).toBeUndefined();
      await d.setDid('+15550100100', '1001');
      await d.setDid('+15550100100', '2001');
      expect(await d.findDid('+15550100100')).toBe('2001');
      await d.setDid('+15550100101', '1001');
      expect(await d.removeDemoUsers()).toBe(1);
      expect((await d.listUsers()).map((u) => u.username)).toEqual(['2001']);
      // A user's DIDs go with the user.
      expect(await d.listDids()).toEqual([{ number: '+15550100100', username: '2001' }]);
      expect(await d.removeUser('2001')).toBe(true);
      expect(await d.removeUser('2001')).toBe(false);
      const trunk = {
        name: 'carrier',
        host: '192.0.2.1',
        port: 5060,
        transport: 'udp',
        register: true,
        prefixes: ['+1', ''],
      };
      await d.replaceTrunks([trunk, { ...trunk, name: 'backup', register: false }]);
      await d.replaceTrunks([trunk]);
      expect(await d.listTrunks()).toEqual([trunk]);
    });

    it('contact center: agents, membership from config and admin, logins', async () => {
      const s = await storage();
      for (const u of ['1001', '1002']) await s.directory.upsertUser(user(u));
      const cc = s.cc;
      await cc.ensureAgent('1001', at(0));
      await cc.ensureAgent('1001', at(9));
      await cc.ensureAgent('1002', at(0));
      await cc.setConfigMembership('1001', [
        { name: 'sales', penalty: 0 },
        { name: 'support', penalty: 2 },
      ]);
      await cc.upsertAdminMembership('1001', 'vip', 1);
      await cc.setConfigMembership('1001', [{ name: 'sales', penalty: 3 }]);
      await cc.setConfigMembership('1002', [{ name: 'support', penalty: 0 }]);
      expect(await cc.members('1001')).toEqual([
        { username: '1001', queue: 'sales', penalty: 3, loggedIn: true, source: 'config' },
        { username: '1001', queue: 'vip', penalty: 1, loggedIn: true, source: 'admin' },
      ]);
      expect(await cc.setLoggedIn('1001', 'sales', false)).toBe(1);
      expect(await cc.setLoggedIn('1001', undefined, false)).toBe(2);
      expect(await cc.setLoggedIn('1001', 'nope', true)).toBe(0);
      await cc.pruneMembership(new Set(['1001']), new Set(['sales', 'support']));
      expect((await cc.members()).map((m) => `${m.username}:${m.queue}:${m.loggedIn}`)).toEqual([
        '1001:sales:false',
      ]);
      const row = {
        username: '1001',
        state: 'wrap-up' as const,
        reason: null,
        since: at(5),
        idleSince: at(4),
        unanswered: 2,
        nextState: 'not-ready' as const,
        nextReason: 'break',
        wrapCallId: 'q1',
        wrapEndsAt: at(60),
      };
      await cc.saveAgent(row);
      expect(await cc.agents()).toEqual([
        row,
        {
          username: '1002',
          state: 'offline',
          reason: null,
          since: at(0),
          idleSince: null,
          unanswered: 0,
          nextState: null,
          nextReason: null,
          wrapCallId: null,
          wrapEndsAt: null,
        },
      ]);
    });

    it('contact center: queue calls, their outcomes, history and figures', async () => {
      const cc = (await storage()).cc;
      const base = {
        callId: 'sip-1',
        queue: 'sales',
        callerNumber: '+15550001',
        callerName: 'Caller',
      };
      await cc.insertQueueCall({ ...base, id: 'q1', enteredAt: at(0) });
      await cc.insertQueueCall({ ...base, id: 'q2', callId: 'sip-2', enteredAt: at(10) });
      await cc.insertQueueCall({
        ...base,
        id: 'q3',
        callId: 'sip-3',
        enteredAt: at(20),
        queue: 'support',
      });
      await cc.markAnswered('q1', '1001', at(6), 6);
      await cc.markLeft('q1', 'abandoned', at(7), 7); // already answered: no change
      await cc.markEnded('q1', at(66));
      await cc.markEnded('q1', at(99));
      await cc.markLeft('q2', 'abandoned', at(15), 5);
      await cc.markAnswered('q3', '1002', at(24), 4);
      await cc.setCallAgent('q3', '1001');
      await cc.saveDisposition('q1', 'sale', 'n1', at(70));
      await cc.saveDisposition('q1', 'no-sale', null, at(80));
      expect(await cc.queueCall('q1')).toEqual({
        ...base,
        id: 'q1',
        enteredAt: at(0),
        answeredAt: at(6),
        agent: '1001',
        endedAt: at(66),
        outcome: 'answered',
        waitSec: 6,
        disposition: 'no-sale',
        notes: null,
        wrappedUpAt: at(70),
      });
      expect(await cc.queueCall('q2')).toMatchObject({
        outcome: 'abandoned',
        endedAt: at(15),
        waitSec: 5,
        agent: null,
      });
      expect(await cc.queueCall('nope')).toBeUndefined();
      expect((await cc.queueCalls()).map((c) => c.id)).toEqual(['q1', 'q2', 'q3']);
      expect((await cc.openQueueCalls()).map((c) => c.id)).toEqual(['q3']);
      expect((await cc.lastAnsweredBy('1001'))?.id).toBe('q3');
      expect((await cc.history('+15550001', 'q3')).map((c) => c.id)).toEqual(['q2', 'q1']);
      expect((await cc.history('+15550001', 'q3', 1)).map((c) => c.id)).toEqual(['q2']);
      expect(await cc.agentDay('1001', at(0))).toEqual({ handled: 2, avgHandleSec: 60 });
      expect(await cc.handledSince(at(0))).toEqual(new Map([['1001', 2]]));
      expect(await cc.averageAnsweredWait('sales', at(0))).toBe(6);
      expect(await cc.averageAnsweredWait('nobody', at(0))).toBeNull();
      expect((await cc.queueCallsBetween(at(5), at(20))).map((c) => c.id)).toEqual(['q2']);
      expect((await cc.answeredBetween(at(0), at(30))).map((c) => c.id)).toEqual(['q1', 'q3']);
    });

    it('contact center: quality summary and recordings', async () => {
      const cc = (await storage()).cc;
      await cc.insertQueueCall(queueCall('q1', 'sales', at(0)));
      expect(await cc.quality('q1')).toBeNull();
      await cc.addQualitySample('q1', { mos: 4.2, jitterMs: 5, lossPct: 0, rttMs: 40 }, false);
      await cc.addQualitySample('q1', { mos: 3.1, jitterMs: 30, lossPct: 2.5, rttMs: 20 }, true);
      await cc.addQualitySample('q1', { mos: 4.0, jitterMs: 10, lossPct: 1, rttMs: 35 }, false);
      expect(await cc.quality('q1')).toEqual({
        samples: 3,
        mosMin: 3.1,
        mosAvg: 3.77,
        jitterMaxMs: 30,
        lossMaxPct: 2.5,
        rttMaxMs: 40,
        flagged: true,
      });
      await cc.setRecording('q1', 'sales/q1.wav');
      expect(await cc.recordingsBefore('sales', at(1))).toEqual([
        { id: 'q1', file: 'sales/q1.wav' },
      ]);
      expect(await cc.recordingsBefore('sales', at(0))).toEqual([]);
      await cc.recordingDeleted('q1', at(9));
      expect(await cc.recording('q1')).toEqual({ file: 'sales/q1.wav', deletedAt: at(9) });
      expect(await cc.recordingsBefore('sales', at(1))).toEqual([]);
    });

    it('contact center: the audit trail, newest first, filtered', async () => {
      const cc = (await storage()).cc;
      await cc.audit({
        at: at(0),
        actor: 'sup1',
        action: 'monitor',
        target: '1001',
        allowed: true,
        detail: { mode: 'listen' },
      });
      await cc.audit({ at: at(5), actor: 'sup2', action: 'force-state', allowed: false });
      await cc.audit({
        at: at(9),
        actor: 'sup1',
        action: 'recording-deleted',
        target: 'q1',
        allowed: true,
      });
      expect(await cc.auditLog({ actor: 'sup1' })).toEqual([
        {
          id: expect.any(Number) as number,
          at: at(9),
          actor: 'sup1',
          action: 'recording-deleted',
          target: 'q1',
          allowed: true,
          detail: null,
        },
        {
          id: expect.any(Number) as number,
          at: at(0),
          actor: 'sup1',
          action: 'monitor',
          target: '1001',
          allowed: true,
          detail: { mode: 'listen' },
        },
      ]);
      expect((await cc.auditLog({ from: at(1), to: at(9) })).map((a) => a.actor)).toEqual(['sup2']);
      expect(await cc.auditLog({ limit: 1 })).toHaveLength(1);
    });

    it('contact center: events for reports, agents’ states at a time', async () => {
      const cc = (await storage()).cc;
      const agentState = (sec: number, agent: string, state: string) =>
        cc.event({ at: at(sec), event: 'agent-state', agent, data: { state } });
      await agentState(0, '1001', 'available');
      await cc.event({ at: at(1), event: 'entered', queueCallId: 'q1', queue: 'sales' });
      await agentState(2, '1002', 'not-ready');
      await agentState(3, '1001', 'on-call');
      await cc.event({
        at: at(4),
        event: 'answered',
        queueCallId: 'q1',
        queue: 'sales',
        agent: '1001',
        data: { waitSec: 3 },
      });
      expect(await cc.agentStatesAt(at(3))).toEqual(
        new Map([
          ['1001', 'available'],
          ['1002', 'not-ready'],
        ]),
      );
      expect(await cc.agentStatesAt(at(9))).toEqual(
        new Map([
          ['1001', 'on-call'],
          ['1002', 'not-ready'],
        ]),
      );
      expect((await cc.eventsBetween(at(1), at(4))).map((e) => e.event)).toEqual([
        'entered',
        'agent-state',
        'agent-state',
      ]);
      expect((await cc.eventsBetween(at(0), at(9), 'answered'))[0]).toEqual({
        id: expect.any(Number) as number,
        at: at(4),
        event: 'answered',
        queueCallId: 'q1',
        queue: 'sales',
        agent: '1001',
        data: { waitSec: 3 },
      });
      expect((await cc.events({ queueCallId: 'q1' })).map((e) => e.event)).toEqual([
        'entered',
        'answered',
      ]);
      expect((await cc.events({ event: 'agent-state' })).map((e) => e.agent)).toEqual([
        '1001',
        '1002',
        '1001',
      ]);
    });

    it('contact center: a transaction commits together or not at all', async () => {
      const s = await storage();
      await s.directory.upsertUser(user('1001'));
      await s.cc.transaction(async (tx) => {
        await tx.ensureAgent('1001', at(0));
        await tx.setConfigMembership('1001', [{ name: 'sales', penalty: 0 }]);
      });
      await expect(
        s.cc.transaction(async (tx) => {
          await tx.upsertAdminMembership('1001', 'vip', 0);
          await tx.insertQueueCall(queueCall('q1', 'vip', at(0)));
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect((await s.cc.members()).map((m) => m.queue)).toEqual(['sales']);
      expect(await s.cc.queueCalls()).toEqual([]);
    });
  });
}
