import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { takeNetstrings, KamailioEvents } from './events.js';
import { CallRecords } from '../records/callRecords.js';
import { openDb } from '../store/db.js';
import { sqliteStorage } from '../store/sqlite.js';
import { parseHtableDump } from './rpc.js';
import { createMetrics } from '../metrics.js';
import { createLogger } from '../log.js';

const ns = (s: string) => `${Buffer.byteLength(s)}:${s},`;

describe('takeNetstrings', () => {
  it('splits complete frames and keeps an incomplete tail', () => {
    const wire = Buffer.from(ns('{"a":1}') + ns('ü') + '12:{"partial"');
    const { messages, rest } = takeNetstrings(wire);
    expect(messages).toEqual(['{"a":1}', 'ü']);
    expect(rest.toString()).toBe('12:{"partial"');
  });

  it('refuses a stream that is not netstrings', () => {
    expect(() => takeNetstrings(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/netstring length/);
    expect(() => takeNetstrings(Buffer.from('3:abc;'))).toThrow(/closing comma/);
  });
});

// A stand-in for Kamailio's evapi listener: the boundary is a TCP socket
// carrying netstrings, and what is checked is the call record written.
describe('KamailioEvents', () => {
  let server: Server | undefined;
  let events: KamailioEvents | undefined;
  afterEach(async () => {
    events?.stop();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('writes call records from events split across TCP segments, and reconnects after a drop', async () => {
    const sockets: Socket[] = [];
    server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const records = new CallRecords(sqliteStorage(openDb(':memory:')).callRecords);
    events = new KamailioEvents(port, {
      records,
      metrics: createMetrics(),
      log: createLogger('silent'),
    });
    await events.start(2000);
    expect(events.connected).toBe(true);

    const wire =
      ns(JSON.stringify({ event: 'start', call_id: 'c1', from_user: '1001', to_user: '1002' })) +
      ns(JSON.stringify({ event: 'answered', call_id: 'c1' })) +
      ns('not json') +
      ns(JSON.stringify({ event: 'ended', call_id: 'c1' }));
    const cut = 37;
    sockets[0]!.write(wire.slice(0, cut));
    await new Promise((r) => setTimeout(r, 50));
    sockets[0]!.write(wire.slice(cut));
    await until(async () => (await records.recent(5))[0]?.status === 'ended');
    expect((await records.recent(5))[0]).toMatchObject({
      callId: 'c1',
      fromUser: '1001',
      toUser: '1002',
      status: 'ended',
    });

    sockets[0]!.destroy();
    await until(() => sockets.length === 2 && events!.connected);
    sockets[1]!.write(
      ns(JSON.stringify({ event: 'start', call_id: 'c2', from_user: '1003', to_user: '1004' })) +
        ns(JSON.stringify({ event: 'failed', call_id: 'c2', code: 487, reason: 'Cancelled' })),
    );
    await until(async () => {
      const [r] = await records.recent(5);
      return r?.callId === 'c2' && r.code === 487;
    });
    expect((await records.recent(5))[0]).toMatchObject({ status: 'failed', reason: 'Cancelled' });
  });

  it("catches records up from Kamailio's call states after each (re)connect", async () => {
    const sockets: Socket[] = [];
    server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const records = new CallRecords(sqliteStorage(openDb(':memory:')).callRecords);
    // What `kamcmd htable.dump calls` would hold after the outage below.
    let dump = '';
    events = new KamailioEvents(port, {
      records,
      metrics: createMetrics(),
      log: createLogger('silent'),
      callStates: () => Promise.resolve(parseHtableDump(dump)),
    });
    await events.start(2000);
    await events.reconciled;
    const ev = (e: Record<string, unknown>) => ns(JSON.stringify(e));
    sockets[0]!.write(
      ev({ event: 'start', call_id: 'ends-unseen', from_user: 'a', to_user: 'b' }) +
        ev({ event: 'answered', call_id: 'ends-unseen' }) +
        ev({ event: 'start', call_id: 'answered-unseen', from_user: 'a', to_user: 'c' }) +
        ev({ event: 'start', call_id: 'gone', from_user: 'a', to_user: 'd' }),
    );
    await until(async () => (await records.openCount()) === 3);

    // The connection drops; meanwhile one call ends, one is answered, one starts
    // and ends entirely, and Kamailio forgets one (restarted): nothing of it on the wire.
    const item = (e: Record<string, unknown>) =>
      `\t\t{\n\t\t\tname: ${String(e.call_id)}\n\t\t\tvalue: ${JSON.stringify(e)}\n\t\t\ttype: str\n\t\t}\n`;
    dump =
      '{\n\tentry: 1\n\tsize: 4\n\tslot: {\n' +
      item({ event: 'ended', call_id: 'ends-unseen', from_user: 'a', to_user: 'b', ts: 1000 }) +
      item({ event: 'answered', call_id: 'answered-unseen', from_user: 'a', to_user: 'c' }) +
      item({
        event: 'ended',
        call_id: 'whole-call-unseen',
        from_user: 'x',
        to_user: 'y',
        ts: 2000,
        answered_ts: 1990,
      }) +
      item({ event: 'failed', call_id: 'failed-unseen', from_user: 'x', to_user: 'z', code: 486 }) +
      '\t}\n}\n';
    sockets[0]!.destroy();
    await until(() => sockets.length === 2 && events!.connected);
    await events.reconciled;

    const byId = new Map((await records.recent(10)).map((r) => [r.callId, r]));
    expect(byId.get('ends-unseen')).toMatchObject({
      status: 'ended',
      endedAt: new Date(1000_000).toISOString(),
    });
    expect(byId.get('answered-unseen')).toMatchObject({ status: 'answered', endedAt: null });
    expect(byId.get('whole-call-unseen')).toMatchObject({
      fromUser: 'x',
      toUser: 'y',
      status: 'ended',
      startedAt: new Date(2000_000).toISOString(),
      answeredAt: new Date(1990_000).toISOString(),
      endedAt: new Date(2000_000).toISOString(),
    });
    expect(byId.get('failed-unseen')).toMatchObject({ status: 'failed', code: 486 });
    // Kamailio no longer knows it: closed, never left open for ever
    expect(byId.get('gone')).toMatchObject({ status: 'failed' });
    expect(byId.get('gone')?.endedAt).toBeTruthy();
    expect(await records.openCount()).toBe(1); // answered-unseen is still in progress
  });

  it('asks for the whole call to be deleted from rtpengine only when media may be left', async () => {
    const sockets: Socket[] = [];
    server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const over: string[] = [];
    events = new KamailioEvents(port, {
      records: new CallRecords(sqliteStorage(openDb(':memory:')).callRecords),
      metrics: createMetrics(),
      log: createLogger('silent'),
      onCallOver: (callId) => over.push(callId),
    });
    await events.start(2000);
    const ev = (e: Record<string, unknown>) => ns(JSON.stringify(e));
    sockets[0]!.write(
      // a plain call: its one session went with Kamailio's own delete at the BYE
      ev({ event: 'ended', call_id: 'plain' }) +
        ev({ event: 'ended', call_id: 'forked', media_left: 1 }) +
        ev({ event: 'failed', call_id: 'failed', code: 486 }) +
        ev({ event: 'media-left', call_id: 'bye-delete-failed' }) +
        ev({ event: 'ended', call_id: 'last' }),
    );
    await until(() => over.length >= 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(over).toEqual(['forked', 'failed', 'bye-delete-failed']);
  });
});

async function until(ok: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
