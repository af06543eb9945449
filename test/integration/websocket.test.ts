import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sdpTransform from 'sdp-transform';
import { portsFor, startStack, type Stack } from './harness/stack.js';
import { explain, receivedRequestTexts, runSipp, startUas, ulawFile } from './harness/sipp.js';
import { DEMO, artifacts, noMediaSessions, registerSipp, sippPhone } from './harness/phones.js';
import {
  SipUA,
  hdr,
  parseSip,
  verifyDigest,
  webrtcAnswer,
  webrtcOffer,
  wsTransport,
  type IncomingRequest,
  type SipMessage,
} from './harness/sipua.js';

// A browser's SIP and SDP, without a browser: a Node SIP client speaks raw SIP
// over WebSocket (RFC 7118) with WebRTC-style SDP (a fixed, random DTLS
// fingerprint, host candidates nobody listens on), straight to Kamailio's WS
// listener and through the gateway's WSS terminator. No DTLS, ICE or audio ever
// runs on that client: these tests check signalling and SDP only ("WebRTC-SDP
// client" below); real WebRTC media is e2e/'s job. What must hold: toward the
// WebRTC side DTLS-SRTP with ICE, a=mid and rtcp-mux; toward plain SIP, RTP/AVP
// without ICE or fingerprints; a G.711-only carrier gets G.711 while the
// WebRTC side keeps Opus (rtpengine transcodes).

let stack: Stack;
const CARRIER = { user: 'gw-account', password: 'trunk-secret-1' };

beforeAll(async () => {
  stack = await startStack('websocket', 16000, {
    trunks: [
      {
        name: 'carrier',
        host: '127.0.0.2',
        port: portsFor(16000).client(20),
        inboundAddresses: ['127.0.0.2'],
        auth: { username: CARRIER.user, password: CARRIER.password },
        prefixes: ['+1555'],
        codecs: ['PCMU', 'PCMA'],
      },
    ],
  });
});

afterAll(async () => {
  await stack?.stop();
});

async function wsUser(user: keyof typeof DEMO, via: 'ws' | 'wss' = 'ws'): Promise<SipUA> {
  const url =
    via === 'ws' ? `ws://127.0.0.1:${stack.ports.ws}` : `wss://127.0.0.1:${stack.ports.http}/ws`;
  return new SipUA(await wsTransport(url), { user, password: DEMO[user] });
}

/** What a browser must get: DTLS-SRTP over ICE with a=mid and rtcp-mux. */
function expectWebrtcSdp(sdp: string): void {
  const s = sdpTransform.parse(sdp);
  const audio = s.media.find((m) => m.type === 'audio');
  expect(audio, sdp).toBeDefined();
  expect(audio!.protocol).toBe('UDP/TLS/RTP/SAVPF');
  expect(audio!.iceUfrag ?? s.iceUfrag).toBeTruthy();
  expect(audio!.icePwd ?? s.icePwd).toBeTruthy();
  expect(audio!.candidates?.length ?? 0).toBeGreaterThan(0);
  expect(audio!.fingerprint ?? s.fingerprint).toBeTruthy();
  expect(audio!.setup).toMatch(/^(active|passive|actpass)$/);
  expect(String(audio!.mid ?? '')).not.toBe('');
  expect(audio!.rtcpMux).toBe('rtcp-mux');
}

/** What a plain SIP phone must get: RTP/AVP, no ICE, no DTLS fingerprint, no a=mid bundle attributes. */
function expectPlainSdp(sdp: string): void {
  const s = sdpTransform.parse(sdp);
  const audio = s.media.find((m) => m.type === 'audio');
  expect(audio, sdp).toBeDefined();
  expect(audio!.protocol, sdp).toBe('RTP/AVP');
  expect(audio!.iceUfrag ?? s.iceUfrag, sdp).toBeUndefined();
  expect(audio!.candidates ?? [], sdp).toHaveLength(0);
  expect(audio!.fingerprint ?? s.fingerprint, sdp).toBeUndefined();
  expect(audio!.setup, sdp).toBeUndefined();
}

/** The audio port of `sdp` is one of rtpengine's (the media is anchored, not end to end). */
function rtpenginePort(sdp: string): boolean {
  const port = sdpTransform.parse(sdp).media.find((m) => m.type === 'audio')?.port ?? 0;
  return port >= stack.cfg.rtpengine.portMin && port <= stack.cfg.rtpengine.portMax;
}

/** Every media flag rtpengine reports for a call (query command). */
function mediaFlags(query: Record<string, unknown>): string[] {
  const tags = Object.values(
    (query.tags ?? {}) as Record<string, { medias?: { flags?: string[] }[] }>,
  );
  return tags.flatMap((t) => (t.medias ?? []).flatMap((m) => m.flags ?? []));
}

function codecsOf(sdp: string): string[] {
  const audio = sdpTransform.parse(sdp).media.find((m) => m.type === 'audio');
  return (audio?.rtp ?? []).map((r) => r.codec.toLowerCase());
}

describe('SIP over WebSocket', () => {
  it('registers over WS straight to Kamailio', async () => {
    const ua = await wsUser('1003');
    try {
      const r = await ua.register();
      expect(r.final.status).toBe(200);
      expect(hdr(r.final, 'contact')).toMatch(/transport=ws/);
      expect((await ua.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await ua.close();
    }
  });

  it('registers through the WSS terminator (wss://…/ws)', async () => {
    const ua = await wsUser('1003', 'wss');
    try {
      expect((await ua.register()).final.status).toBe(200);
      expect((await ua.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await ua.close();
    }
  });

  it('rejects a wrong password over WS with 403', async () => {
    const ua = await wsUser('1003');
    try {
      const r = await ua.register({ credentials: { user: '1003', password: 'not-it' } });
      expect(r.final.status).toBe(403);
    } finally {
      await ua.close();
    }
  });

  it('a WebRTC-SDP client calls a SIP phone: DTLS/ICE toward the client, plain RTP toward the phone', async () => {
    const phone = await sippPhone(stack, { user: '1002', slot: 1 });
    const ua = await wsUser('1003');
    try {
      const r = await ua.request('INVITE', { uri: 'sip:1002@localhost', body: webrtcOffer() });
      expect(r.final.status, r.final.raw).toBe(200);
      expectWebrtcSdp(r.final.body);
      expect(codecsOf(r.final.body)).toContain('pcmu');
      expect((await ua.inDialog(r.dialog!, 'BYE')).status).toBe(200);
      // uas.xml fails the call if its INVITE had ICE, a fingerprint or SAVPF
      const callee = await phone.done;
      expect(callee.code, explain(callee)).toBe(0);
      expect(await noMediaSessions(stack)).toBe(0);
    } finally {
      await ua.close();
    }
  });

  it('a SIP phone calls a WebRTC-SDP client: the client gets a WebRTC offer, the phone plain RTP', async () => {
    const ua = await wsUser('1003');
    try {
      expect((await ua.register()).final.status).toBe(200);
      const offer = new Promise<SipMessage>((resolve) =>
        ua.onRequest((req) => {
          if (req.msg.method === 'INVITE') {
            req.reply(180, 'Ringing');
            req.reply(200, 'OK', { body: webrtcAnswer(req.msg.body) });
            resolve(req.msg);
          } else {
            req.reply(200, 'OK');
          }
        }),
      );
      ulawFile(artifacts(stack), 'caller.ulaw', 1000);
      const caller = await runSipp({
        scenario: 'uac-call.xml',
        label: 'sip-to-ws',
        artifacts: artifacts(stack),
        remote: `127.0.0.1:${stack.ports.sip}`,
        localPort: stack.ports.client(0),
        mediaPort: stack.ports.clientMedia(0),
        service: '1003',
        auth: { user: '1001', password: DEMO['1001'] },
        keys: { domain: 'localhost', from_user: '1001' },
        durationMs: 1000,
      });
      // uac-call.xml checks the 200 OK it got is plain RTP/AVP without ICE
      expect(caller.code, explain(caller)).toBe(0);
      expectWebrtcSdp((await offer).body);
      expect((await ua.register({ expires: 0 })).final.status).toBe(200);
      expect(await noMediaSessions(stack)).toBe(0);
    } finally {
      await ua.close();
    }
  });

  it('forks to a WebRTC-SDP client and a SIP phone of the same user, each branch offered its own kind of media', async () => {
    const phone = await sippPhone(stack, { user: '1004', slot: 2 });
    const ua = await wsUser('1004');
    try {
      expect((await ua.register()).final.status).toBe(200);
      let invite: IncomingRequest | undefined;
      const wsOffer = new Promise<string>((resolve) =>
        ua.onRequest((req) => {
          if (req.msg.method === 'INVITE') {
            invite = req;
            req.reply(180, 'Ringing');
            resolve(req.msg.body);
          } else if (req.msg.method === 'CANCEL') {
            req.reply(200, 'OK');
            invite?.reply(487, 'Request Terminated');
          } else {
            req.reply(200, 'OK');
          }
        }),
      );
      ulawFile(artifacts(stack), 'caller.ulaw', 1000);
      const caller = await runSipp({
        scenario: 'uac-call.xml',
        label: 'fork',
        artifacts: artifacts(stack),
        remote: `127.0.0.1:${stack.ports.sip}`,
        localPort: stack.ports.client(0),
        mediaPort: stack.ports.clientMedia(0),
        service: '1004',
        auth: { user: '1001', password: DEMO['1001'] },
        keys: { domain: 'localhost', from_user: '1001' },
        durationMs: 1000,
      });
      expect(caller.code, explain(caller)).toBe(0);
      // the WebRTC branch got WebRTC media from rtpengine ...
      const webrtcBranch = await wsOffer;
      expectWebrtcSdp(webrtcBranch);
      expect(rtpenginePort(webrtcBranch), 'WebRTC branch offer from rtpengine').toBe(true);
      // ... and the phone's branch plain RTP/AVP from rtpengine, nothing of WebRTC
      const callee = await phone.done;
      expect(callee.code, explain(callee)).toBe(0);
      const phoneInvites = receivedRequestTexts(callee.messages, 'INVITE').map(parseSip);
      expect(phoneInvites.length, 'the phone branch got an INVITE').toBeGreaterThan(0);
      const phoneBranch = phoneInvites[0]!.body;
      expectPlainSdp(phoneBranch);
      expect(rtpenginePort(phoneBranch), `phone branch offer from rtpengine\n${phoneBranch}`).toBe(
        true,
      );
      expect((await ua.register({ expires: 0 })).final.status).toBe(200);
      await registerSipp(stack, '1004', 2, 0);
      expect(await noMediaSessions(stack)).toBe(0);
    } finally {
      await ua.close();
    }
  });

  it('gives a G.711-only carrier G.711 and the Opus-only WebRTC-SDP client Opus (transcoded)', async () => {
    const carrier = await startUas({
      scenario: 'carrier-uas.xml',
      label: 'carrier-g711',
      artifacts: artifacts(stack),
      localIp: '127.0.0.2',
      localPort: stack.ports.client(20),
      mediaPort: stack.ports.clientMedia(7),
      rtpEcho: true,
      keys: { carrier_user: CARRIER.user, carrier_pass: CARRIER.password },
    });
    const ua = await wsUser('1003');
    try {
      const r = await ua.request('INVITE', {
        uri: 'sip:+15551234567@localhost',
        body: webrtcOffer({ codecs: 'opus-only' }),
      });
      expect(r.final.status, r.final.raw).toBe(200);
      expectWebrtcSdp(r.final.body);
      expect(codecsOf(r.final.body)[0]).toBe('opus');
      // rtpengine's own view: both legs transcoding, passive DTLS toward the browser
      const flags = mediaFlags(await stack.gw.rtpengine.query(r.dialog!.callId));
      expect(flags).toContain('transcoding');
      expect(flags).toContain('DTLS role passive');
      // hold: the re-INVITE toward the carrier is G.711 too (carrier-uas.xml checks)
      const hold = await ua.inDialog(r.dialog!, 'INVITE', {
        body: webrtcOffer({ codecs: 'opus-only' }).replace('a=sendrecv', 'a=sendonly'),
      });
      expect(hold.status, hold.raw).toBe(200);
      expect(hold.body).toMatch(/a=recvonly/);
      expect(codecsOf(hold.body)[0]).toBe('opus');
      expect((await ua.inDialog(r.dialog!, 'BYE')).status).toBe(200);
      // carrier-uas.xml fails unless it got only PCMU/PCMA and a P-Asserted-Identity
      const c = await carrier.done;
      expect(c.code, explain(c)).toBe(0);
      // the retried INVITE answers the carrier's 407 with the trunk's credentials
      // (then comes the re-INVITE for hold)
      const invites = receivedRequestTexts(c.messages, 'INVITE').map(parseSip);
      expect(invites).toHaveLength(3);
      const answer = hdr(invites[1]!, 'proxy-authorization') ?? '';
      expect(verifyDigest(answer, { ...CARRIER, method: 'INVITE' }), answer).toBe(true);
      expect(await noMediaSessions(stack)).toBe(0);
    } finally {
      await carrier.stop();
      await ua.close();
    }
  });
});
