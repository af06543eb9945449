import { describe, expect, it, vi } from 'vitest';
import { SipWebSocketTransport, type WebSocketConstructor } from './transport';

class EarlySocket extends EventTarget {
  readyState = 1;
  binaryType = 'blob';
  sent: string[] = [];
  send(m: string) {
    this.sent.push(m);
  }
  close() {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event('close'), { code: 1000 }));
  }
}

const logger = {
  warn: vi.fn(),
  log: vi.fn(),
  debug: vi.fn(),
  error: vi.fn(),
} as unknown as ConstructorParameters<typeof SipWebSocketTransport>[0];

describe('SipWebSocketTransport', () => {
  it('takes a socket that is already open (opened while the app booted)', async () => {
    const early = new EarlySocket();
    const Ctor = vi.fn(function () {
      return early;
    }) as unknown as WebSocketConstructor;
    const t = new SipWebSocketTransport(logger, {
      servers: ['wss://gw.example.com/ws'],
      WebSocket: Ctor,
      keepAliveIntervalSec: 0,
      connectionTimeoutMs: 1000,
    });
    await t.connect();
    expect(t.isConnected()).toBe(true);
    await t.send('OPTIONS sip:x SIP/2.0\r\n\r\n');
    expect(early.sent).toHaveLength(1);
    expect(early.binaryType).toBe('arraybuffer');
  });

  it('moves to the next edge when one refuses or drops the connection, and stays on one that works', async () => {
    const tried: string[] = [];
    const sockets: EarlySocket[] = [];
    // edge-a refuses every attempt; edge-b accepts.
    const Ctor = vi.fn(function (url: string) {
      tried.push(url);
      const s = new EarlySocket();
      sockets.push(s);
      s.readyState = 0;
      queueMicrotask(() => {
        if (url.includes('edge-a')) s.close();
        else {
          s.readyState = 1;
          s.dispatchEvent(new Event('open'));
        }
      });
      return s;
    }) as unknown as WebSocketConstructor;
    const t = new SipWebSocketTransport(logger, {
      servers: ['wss://edge-a.example.com/ws', 'wss://edge-b.example.com/ws'],
      WebSocket: Ctor,
      keepAliveIntervalSec: 0,
      connectionTimeoutMs: 1000,
    });
    await expect(t.connect()).rejects.toThrow(/edge-a/);
    await t.connect();
    expect(t.server).toBe('wss://edge-b.example.com/ws');
    expect(t.protocol).toBe('WSS');
    // A working edge is kept across a planned disconnect…
    await t.disconnect();
    await t.connect();
    // …and left when it drops the connection: the next attempt goes round to edge-a.
    const lost = vi.fn();
    t.onDisconnect = lost;
    sockets.at(-1)!.close();
    expect(lost).toHaveBeenCalledWith(expect.any(Error));
    expect(t.server).toBe('wss://edge-a.example.com/ws');
    expect(tried.map((u) => new URL(u).hostname)).toEqual([
      'edge-a.example.com',
      'edge-b.example.com',
      'edge-b.example.com',
    ]);
  });

  it('refuses a list with a URL that is not ws:// or wss://', () => {
    expect(
      () =>
        new SipWebSocketTransport(logger, {
          servers: ['wss://a/ws', 'https://b/ws'],
          WebSocket: vi.fn() as unknown as WebSocketConstructor,
          keepAliveIntervalSec: 0,
          connectionTimeoutMs: 1000,
        }),
    ).toThrow(/WebSocket server URL/);
  });
});
