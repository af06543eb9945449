import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { takeNetstrings, KamailioEvents } from './events.js';
import { CallRecords } from '../records/callRecords.js';
import { openDb } from '../store/db.js';
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
    const records = new CallRecords(openDb(':memory:'));
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
    await until(() => records.recent(5)[0]?.status === 'ended');
    expect(records.recent(5)[0]).toMatchObject({
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
    await until(() => records.recent(5)[0]?.callId === 'c2' && records.recent(5)[0]?.code === 487);
    expect(records.recent(5)[0]).toMatchObject({ status: 'failed', reason: 'Cancelled' });
  });
});

async function until(ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
