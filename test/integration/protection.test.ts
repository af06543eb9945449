import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portsFor, startStack, type Stack } from './harness/stack.js';
import { DEMO } from './harness/phones.js';
import { SipUA, parseSip, udpTransport, wsTransport, type SipMessage } from './harness/sipua.js';

// What Kamailio does before anything is asked of the decision service:
// malformed requests get a 400 and nothing else breaks, scanners get silence,
// an address that keeps failing digest authentication is refused for a while,
// a flood from one address is cut off (pike) without touching others, and a
// trunk's address is never cut off. Each case uses its own loopback address.

const BASE = 16250;
const ports = portsFor(BASE);
const AUTH_LIMIT = 3;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack('protection', BASE, {
    protection: { pikeReqsDensity: 10, failedAuthLimit: AUTH_LIMIT, failedAuthWindowSec: 10 },
    trunks: [
      { name: 'carrier', host: '127.0.0.9', inboundAddresses: ['127.0.0.8'], prefixes: ['+1555'] },
    ],
  });
});

afterAll(async () => {
  await stack?.stop();
});

/** Send raw datagrams from `from`, collect whatever answers arrive within `waitMs`. */
async function raw(from: string, messages: string[], waitMs = 500): Promise<SipMessage[]> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, from, () => resolve()));
  const answers: SipMessage[] = [];
  sock.on('message', (m) => answers.push(parseSip(m.toString())));
  for (const m of messages) sock.send(m, ports.sip, '127.0.0.1');
  await new Promise((r) => setTimeout(r, waitMs));
  sock.close();
  return answers;
}

let seq = 0;
function options(opts: { userAgent?: string; cseq?: string } = {}): string {
  seq += 1;
  return [
    `OPTIONS sip:127.0.0.1:${ports.sip} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-prot-${seq};rport`,
    'Max-Forwards: 70',
    `From: <sip:probe@127.0.0.1>;tag=t${seq}`,
    `To: <sip:127.0.0.1:${ports.sip}>`,
    `Call-ID: prot-${seq}@test`,
    `CSeq: ${opts.cseq ?? '1 OPTIONS'}`,
    ...(opts.userAgent ? [`User-Agent: ${opts.userAgent}`] : []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('malformed requests', () => {
  it('answers 400 to a request with a broken CSeq and keeps serving', async () => {
    const [bad] = await raw('127.0.0.2', [options({ cseq: 'abc OPTIONS' })]);
    expect(bad?.status).toBe(400);
    const [ok] = await raw('127.0.0.2', [options()]);
    expect(ok?.status).toBe(200);
  });

  it('survives garbage and a bodiless INVITE with a bogus Content-Length', async () => {
    const invite = [
      `INVITE sip:1001@localhost SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-bogus;rport`,
      'Max-Forwards: 70',
      'From: <sip:x@localhost>;tag=x',
      'To: <sip:1001@localhost>',
      'Call-ID: bogus@test',
      'CSeq: 1 INVITE',
      'Content-Length: 500',
      '',
      'short',
    ].join('\r\n');
    await raw('127.0.0.2', ['\x00\x01 not sip at all \xff', 'SIP/2.0 999\r\n\r\n', invite]);
    const [ok] = await raw('127.0.0.2', [options()]);
    expect(ok?.status).toBe(200);
    expect(stack.gw.supervisor.status().find((c) => c.name === 'kamailio')?.restarts).toBe(0);
  });
});

describe('scanners', () => {
  it('gets no answer at all from a known scanner User-Agent', async () => {
    expect(await raw('127.0.0.3', [options({ userAgent: 'friendly-scanner' })])).toHaveLength(0);
    expect(await raw('127.0.0.3', [options({ userAgent: 'sipvicious 0.3' })])).toHaveLength(0);
    const [ok] = await raw('127.0.0.3', [options({ userAgent: 'Linphone/5.0' })]);
    expect(ok?.status).toBe(200);
  });
});

describe('failed authentication throttling', () => {
  it(`refuses an address after ${AUTH_LIMIT} failed digests, even with the right password; others unaffected`, async () => {
    const guesser = new SipUA(
      await udpTransport({
        localHost: '127.0.0.5',
        remoteHost: '127.0.0.1',
        remotePort: ports.sip,
      }),
      {
        user: '1001',
        password: DEMO['1001'],
      },
    );
    const other = new SipUA(
      await udpTransport({
        localHost: '127.0.0.6',
        remoteHost: '127.0.0.1',
        remotePort: ports.sip,
      }),
      {
        user: '1002',
        password: DEMO['1002'],
      },
    );
    try {
      for (let i = 0; i < AUTH_LIMIT; i++) {
        const r = await guesser.register({ credentials: { user: '1001', password: `guess-${i}` } });
        expect(r.final.status).toBe(403);
      }
      const right = await guesser.register();
      expect(right.final.status).toBe(403);
      expect(right.final.reason).toMatch(/Too Many Failed Authentications/);
      expect((await other.register()).final.status).toBe(200);
    } finally {
      await guesser.close();
      await other.close();
    }
  });
});

describe('WebSocket clients behind the WSS terminator', () => {
  it('are judged by the X-Forwarded-For address of their connection, not by the proxy address', async () => {
    const ws = (xff: string) =>
      wsTransport(`ws://127.0.0.1:${ports.ws}`, { headers: { 'X-Forwarded-For': xff } }).then(
        (t) => new SipUA(t, { user: '1003', password: DEMO['1003'] }),
      );
    const guesser = await ws('198.51.100.7');
    const neighbour = await ws('198.51.100.8');
    try {
      for (let i = 0; i < AUTH_LIMIT; i++) {
        const r = await guesser.register({ credentials: { user: '1003', password: `guess-${i}` } });
        expect(r.final.status).toBe(403);
      }
      expect((await guesser.register()).final.reason).toMatch(/Too Many Failed Authentications/);
      // same proxy address (127.0.0.1), another client: unaffected
      expect((await neighbour.register()).final.status).toBe(200);
      expect((await neighbour.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await guesser.close();
      await neighbour.close();
    }
  });
});

describe('flood protection (pike)', () => {
  const burst = () => Array.from({ length: 80 }, () => options());

  it('cuts off an address that floods, and keeps answering the others', async () => {
    const flood = await raw('127.0.0.7', burst(), 1000);
    expect(flood.length).toBeGreaterThan(0);
    expect(flood.length).toBeLessThan(80);
    // banned for a while: even one polite request goes unanswered
    expect(await raw('127.0.0.7', [options()])).toHaveLength(0);
    const [ok] = await raw('127.0.0.4', [options()]);
    expect(ok?.status).toBe(200);
  });

  it("never cuts off a trunk's address", async () => {
    const flood = await raw('127.0.0.8', burst(), 1000);
    expect(flood).toHaveLength(80);
  });
});
