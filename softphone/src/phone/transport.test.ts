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
      server: 'wss://gw.example.com/ws',
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
});
