import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portsFor, startStack, type Stack } from './harness/stack.js';
import { DEMO, noMediaSessions, udpUser } from './harness/phones.js';
import {
  SipUA,
  hdr,
  plainSdp,
  tcpTransport,
  type IncomingRequest,
  type SipMessage,
} from './harness/sipua.js';

// SIP over TCP (RFC 3261 §18) through the real Kamailio, for phones and for a
// trunk: a phone registers over TCP, gets its calls over TCP and calls out
// over TCP (digest included); a carrier reached over TCP (trunk transport
// tcp) takes an outbound call, and a carrier's call over TCP reaches a DID's
// user. Every other file's SIP clients are UDP (or WebSocket).

const BASE = 17250;
const ports = portsFor(BASE);
const CARRIER_IP = '127.0.0.2';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack('tcp', BASE, {
    trunks: [
      {
        name: 'carrier-tcp',
        host: CARRIER_IP,
        port: ports.client(20),
        transport: 'tcp',
        inboundAddresses: [CARRIER_IP],
        prefixes: ['+1555'],
        codecs: ['PCMU', 'PCMA'],
      },
    ],
  });
});

afterAll(async () => {
  await stack?.stop();
});

/** A demo user's SIP client over TCP, listening on client port `slot`. */
async function tcpUser(user: keyof typeof DEMO, slot: number): Promise<SipUA> {
  const t = await tcpTransport({
    listenPort: ports.client(slot),
    remoteHost: '127.0.0.1',
    remotePort: ports.sip,
  });
  return new SipUA(t, { user, password: DEMO[user] });
}

/** Answers INVITEs with plain SDP on `mediaPort`, everything else 200; remembers what came. */
function answering(ua: SipUA, mediaPort: number): SipMessage[] {
  const got: SipMessage[] = [];
  ua.onRequest((req: IncomingRequest) => {
    if (req.msg.method === 'ACK') return;
    got.push(req.msg);
    if (req.msg.method === 'INVITE') req.reply(200, 'OK', { body: plainSdp(mediaPort) });
    else req.reply(200, 'OK');
  });
  return got;
}

const topVia = (m: SipMessage) => hdr(m, 'via') ?? '';
const inRtpengine = (sdp: string) => {
  const port = Number(/^m=audio (\d+) /m.exec(sdp)?.[1]);
  return port >= stack.cfg.rtpengine.portMin && port <= stack.cfg.rtpengine.portMax;
};

describe('phones over TCP', () => {
  it('registers over TCP: the binding keeps transport=tcp', async () => {
    const ua = await tcpUser('1002', 0);
    try {
      const r = await ua.register();
      expect(r.final.status, r.final.raw).toBe(200);
      expect(topVia(r.final)).toMatch(/^SIP\/2\.0\/TCP /);
      expect(hdr(r.final, 'contact')).toMatch(/transport=tcp/);
      expect((await ua.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await ua.close();
    }
  });

  it('a UDP phone calls a TCP phone: the INVITE and the BYE reach it over TCP', async () => {
    const callee = await tcpUser('1002', 1);
    const caller = await udpUser(stack, '1001', 2);
    try {
      expect((await callee.register()).final.status).toBe(200);
      const got = answering(callee, ports.clientMedia(1));
      const r = await caller.request('INVITE', {
        uri: 'sip:1002@localhost',
        body: plainSdp(ports.clientMedia(2)),
      });
      expect(r.final.status, r.final.raw).toBe(200);
      expect(inRtpengine(r.final.body), 'the answer is anchored by rtpengine').toBe(true);
      const invite = got.find((m) => m.method === 'INVITE');
      expect(invite, 'the TCP phone got the INVITE').toBeDefined();
      expect(topVia(invite!), 'Kamailio sent it over TCP').toMatch(/^SIP\/2\.0\/TCP /);
      expect(inRtpengine(invite!.body), 'the offer is anchored by rtpengine').toBe(true);
      expect((await caller.inDialog(r.dialog!, 'BYE')).status).toBe(200);
      const bye = got.find((m) => m.method === 'BYE');
      expect(bye && topVia(bye)).toMatch(/^SIP\/2\.0\/TCP /);
      expect(await noMediaSessions(stack)).toBe(0);
      expect((await callee.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await Promise.allSettled([callee.close(), caller.close()]);
    }
  });

  it('a TCP phone calls out (407 digest over TCP) and hangs up', async () => {
    const ua = await tcpUser('1003', 3);
    try {
      const r = await ua.request('INVITE', {
        uri: `sip:${stack.cfg.services.echoExtension}@localhost`,
        body: plainSdp(ports.clientMedia(3)),
      });
      expect(r.final.status, r.final.raw).toBe(200);
      expect(r.sent, 'the INVITE was retried with credentials').toMatch(
        /^Proxy-Authorization: Digest /m,
      );
      expect(inRtpengine(r.final.body)).toBe(true);
      expect((await ua.inDialog(r.dialog!, 'BYE')).status).toBe(200);
      expect(await noMediaSessions(stack)).toBe(0);
    } finally {
      await ua.close();
    }
  });
});

describe('a trunk over TCP', () => {
  /** The carrier: listens on TCP at its trunk address, sends from there. */
  async function carrier(): Promise<SipUA> {
    const t = await tcpTransport({
      listenHost: CARRIER_IP,
      listenPort: ports.client(20),
      remoteHost: '127.0.0.1',
      remotePort: ports.sip,
      localAddress: CARRIER_IP,
    });
    return new SipUA(t, { user: 'carrier', domain: CARRIER_IP });
  }

  it('an outbound call reaches the carrier over TCP', async () => {
    const c = await carrier();
    const caller = await udpUser(stack, '1001', 4);
    try {
      const got = answering(c, ports.clientMedia(5));
      const r = await caller.request('INVITE', {
        uri: 'sip:+15551234567@localhost',
        body: plainSdp(ports.clientMedia(4)),
      });
      expect(r.final.status, r.final.raw).toBe(200);
      const invite = got.find((m) => m.method === 'INVITE');
      expect(invite, 'the carrier got the INVITE').toBeDefined();
      expect(topVia(invite!), 'sent over TCP').toMatch(/^SIP\/2\.0\/TCP /);
      expect(invite!.uri ?? '').toMatch(/\+15551234567@127\.0\.0\.2/);
      expect(inRtpengine(invite!.body)).toBe(true);
      expect((await caller.inDialog(r.dialog!, 'BYE')).status).toBe(200);
      expect(got.some((m) => m.method === 'BYE')).toBe(true);
      expect(await noMediaSessions(stack)).toBe(0);
    } finally {
      await Promise.allSettled([c.close(), caller.close()]);
    }
  });

  it('a carrier call over TCP to a DID reaches the user the DID rings', async () => {
    const c = await carrier();
    const user = await udpUser(stack, '1001', 6);
    try {
      expect((await user.register()).final.status).toBe(200);
      const got = answering(user, ports.clientMedia(6));
      const r = await c.request('INVITE', {
        uri: `sip:+15550100100@127.0.0.1:${ports.sip};transport=tcp`,
        from: `<sip:+15557654321@${CARRIER_IP}>`,
        body: plainSdp(ports.clientMedia(7)),
        authenticate: false,
      });
      expect(r.final.status, r.final.raw).toBe(200);
      expect(got.some((m) => m.method === 'INVITE')).toBe(true);
      expect(inRtpengine(r.final.body)).toBe(true);
      expect((await c.inDialog(r.dialog!, 'BYE')).status).toBe(200);
      expect(await noMediaSessions(stack)).toBe(0);
      expect((await user.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await Promise.allSettled([c.close(), user.close()]);
    }
  });
});
