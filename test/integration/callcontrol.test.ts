import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { portsFor, startStack, type Stack } from './harness/stack.js';
import { SipUA, hdr, parseSip, plainSdp, type IncomingRequest } from './harness/sipua.js';
import { udpUser, noMediaSessions } from './harness/phones.js';
import { RtpEndpoint, sdpAudio } from './harness/rtp.js';
import { until } from './harness/wait.js';
import { CallMedia } from '../../gateway/src/callcontrol/media.js';
import type { InboundCall } from '../../gateway/src/callcontrol/types.js';
import { carrierTrunk, carrierUA } from './harness/carrier.js';

// The call-control tier (B2BUA) through the real stack: a carrier (a Node SIP
// client on 127.0.0.2, the trunk's address) dials the contact center's DID;
// Kamailio routes it to the B2BUA over TCP; rtpengine anchors the caller's
// media, plays music and is re-pointed at an agent (demo user 1003, a Node SIP
// client with its own RTP endpoint) when the agent answers. Each side sends
// its own tone, so crossed or looped media is caught.

const BASE = 18000;
const ports = portsFor(BASE);
const MUSIC = '/usr/share/asterisk/moh/macroform-cold_day.wav';
const DID = '+15550100800';

let stack: Stack;
let carrier: SipUA;
let handler: (call: InboundCall) => void = () => undefined;
// RTP endpoints: the caller's on clientMedia(0), the agent's on clientMedia(1); afterEach closes them.
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  stack = await startStack('callcontrol', BASE, {
    trunks: [carrierTrunk(ports)],
  });
  // The contact center's flows are not under test here: this file drives calls itself.
  stack.gw.callControl!.onCall((call) => handler(call));
  carrier = await carrierUA(ports);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  handler = () => undefined;
});

afterAll(async () => {
  await carrier?.close();
  await stack?.stop();
});

/** The carrier dials the DID with its own RTP endpoint in the SDP. */
async function carrierCall(
  rtp: RtpEndpoint,
  opts: {
    onProvisional?: (m: ReturnType<typeof parseSip>, branch: string) => void;
    callId?: string;
    fromTag?: string;
  } = {},
) {
  return carrier.request('INVITE', {
    ...(opts.callId && { callId: opts.callId, fromTag: opts.fromTag }),
    uri: `sip:${DID}@127.0.0.1:${ports.sip}`,
    from: `<sip:+15550109999@127.0.0.2>`,
    body: plainSdp(rtp.port),
    contentType: 'application/sdp',
    authenticate: false,
    timeoutMs: 15_000,
    ...(opts.onProvisional && { onProvisional: opts.onProvisional }),
  });
}

/**
 * A carrier call the B2BUA answers (the test's own handler, no flow), with the
 * caller's RTP endpoint sending toward our SDP and an agent endpoint ready;
 * both closed and the call hung up after the test.
 */
async function answeredByB2bua(onCall?: (c: InboundCall) => void) {
  const callerRtp = await RtpEndpoint.open(ports.clientMedia(0), 1000);
  const agentRtp = await RtpEndpoint.open(ports.clientMedia(1), 600);
  cleanups.push(
    () => callerRtp.close(),
    () => agentRtp.close(),
  );
  let answered: InboundCall | undefined;
  handler = (c) => {
    answered = c;
    onCall?.(c);
    void c.answer();
  };
  const inv = await carrierCall(callerRtp);
  expect(inv.final.status).toBe(200);
  const ourMedia = sdpAudio(inv.final.body);
  callerRtp.sendTo(ourMedia.host, ourMedia.port);
  cleanups.push(() => carrier.inDialog(inv.dialog!, 'BYE').catch(() => undefined));
  return { call: answered!, inv, callerRtp, agentRtp, ourMedia };
}

/** Demo user 1003 registered from a Node SIP client; each test tells it how to answer. */
async function agentPhone(slot: number) {
  const ua = await udpUser(stack, '1003', slot);
  cleanups.push(() => ua.close());
  const reg = await ua.register({ expires: 300 });
  expect(reg.final.status).toBe(200);
  cleanups.push(() => ua.register({ expires: 0 }).catch(() => undefined));
  return ua;
}

describe('rtpengine media model (one rtpengine call per caller, agent re-offered with port-latching)', () => {
  it('moves a caller from music to an agent with no re-INVITE: the caller-facing port stays and audio flows both ways', async () => {
    const caller = await RtpEndpoint.open(ports.clientMedia(0), 1000);
    const agent = await RtpEndpoint.open(ports.clientMedia(1), 600);
    cleanups.push(
      () => caller.close(),
      () => agent.close(),
    );
    const media = new CallMedia(
      stack.gw.rtpengine,
      `media-model-${Date.now()}`,
      'caller-tag',
      '127.0.0.1',
    );
    cleanups.push(() => media.delete());

    const toCaller = sdpAudio(await media.answerCaller(plainSdp(caller.port)));
    caller.sendTo(toCaller.host, toCaller.port);
    const ms = await media.play(MUSIC, 1);
    expect(ms).toBeGreaterThan(10_000);
    await until('music at the caller', () => caller.audible().length >= 25, 5000);

    // The agent's leg: a new tag in the same rtpengine call. Music goes on while it "rings".
    const ringFrom = Date.now();
    const toAgent = sdpAudio(await media.offerToward('agent-1'));
    expect(toAgent.port).not.toBe(toCaller.port);
    await new Promise((r) => setTimeout(r, 400));
    agent.sendTo(toAgent.host, toAgent.port);
    const switchAt = Date.now();
    await media.answerFrom('agent-1', plainSdp(agent.port));
    await media.stop();
    await until(
      'agent tone at the caller',
      () => caller.toneFrom(600, switchAt).length >= 25,
      5000,
    );
    await until(
      'caller tone at the agent',
      () => agent.toneFrom(1000, switchAt).length >= 25,
      5000,
    );

    // Same port toward the caller throughout: what the carrier saw in our 200 OK.
    const fromPorts = new Set(caller.received.map((p) => p.fromPort));
    expect([...fromPorts]).toEqual([toCaller.port]);
    // The caller heard audio the whole time: music while ringing, the agent after.
    const gap = caller.longestGap(ringFrom, Date.now());
    console.log(`media move: longest silence at the caller ${gap} ms across ring + answer`);
    expect(gap).toBeLessThan(500);
    // The agent hears the caller, never the music.
    expect(agent.toneFrom(1000, switchAt).length).toBeGreaterThan(
      agent.audible(switchAt).length * 0.8,
    );
  });
});

describe('registrations reach the service', () => {
  it('REGISTER and un-REGISTER of an agent change what the service knows, at once', async () => {
    const ua = await udpUser(stack, '1004', 14);
    cleanups.push(() => ua.close());
    expect(stack.gw.registrations.isRegistered('1004')).toBe(false);
    expect((await ua.register({ expires: 300 })).final.status).toBe(200);
    await until(
      '1004 registered in the service',
      () => stack.gw.registrations.isRegistered('1004'),
      3000,
    );
    expect((await ua.register({ expires: 0 })).final.status).toBe(200);
    await until(
      '1004 gone in the service',
      () => !stack.gw.registrations.isRegistered('1004'),
      3000,
    );
  });
});

describe('B2BUA through Kamailio', () => {
  it('answers a carrier call to the DID, plays music, takes RFC 4733 and INFO digits, bridges an agent, and both hang-ups clean up', async () => {
    const callerRtp = await RtpEndpoint.open(ports.clientMedia(0), 1000);
    const agentRtp = await RtpEndpoint.open(ports.clientMedia(1), 600);
    cleanups.push(
      () => callerRtp.close(),
      () => agentRtp.close(),
    );
    const agent = await agentPhone(1);

    const digits: string[] = [];
    let call: InboundCall | undefined;
    let ended: string | undefined;
    handler = (c) => {
      call = c;
      c.on('dtmf', (d, via) => digits.push(`${d}/${via}`));
      c.on('ended', (r) => (ended = r));
      void c.answer().then(() => c.play([MUSIC], { repeat: 5 }));
    };

    // The agent answers after a short ring with its own tone.
    let agentInvite: IncomingRequest | undefined;
    agent.onRequest((req) => {
      if (req.msg.method === 'INVITE') {
        agentInvite = req;
        req.reply(180, 'Ringing');
        setTimeout(() => {
          const sdp = plainSdp(agentRtp.port);
          req.reply(200, 'OK', { body: sdp, contentType: 'application/sdp' });
          agentRtp.sendTo(sdpAudio(req.msg.body).host, sdpAudio(req.msg.body).port);
        }, 500);
      } else if (req.msg.method !== 'ACK') req.reply(200, 'OK');
    });

    const inv = await carrierCall(callerRtp);
    expect(inv.final.status).toBe(200);
    expect(call?.dialled).toBe(DID);
    expect(call?.caller.user).toBe('+15550109999');
    const ourMedia = sdpAudio(inv.final.body);
    callerRtp.sendTo(ourMedia.host, ourMedia.port);
    await until('music toward the caller', () => callerRtp.audible().length >= 25, 5000);

    callerRtp.sendDigit('5');
    await until(
      'RFC 4733 digit 5',
      () => digits.includes('5/rfc4733'),
      3000,
      50,
      () => digits.join(','),
    );
    const info = await carrier.inDialog(inv.dialog!, 'INFO', {
      body: 'Signal=7\r\nDuration=160\r\n',
      contentType: 'application/dtmf-relay',
    });
    expect(info.status).toBe(200);
    await until('INFO digit 7', () => digits.includes('7/info'), 3000);

    const bridgedFrom = Date.now();
    const offer = call!.offer('1003', { timeoutSec: 10, headers: { 'X-Queue': 'sales' } });
    expect(await offer.outcome).toBe('answered');
    expect(call!.state).toBe('bridged');
    expect(call!.agent).toBe('1003');
    expect(hdr(agentInvite!.msg, 'x-queue')).toBe('sales');
    // the token that let the offer through never reaches the agent
    expect(hdr(agentInvite!.msg, 'x-callcontrol-token')).toBeUndefined();
    await until(
      'agent tone at the caller',
      () => callerRtp.toneFrom(600, bridgedFrom).length >= 25,
      5000,
    );
    await until(
      'caller tone at the agent',
      () => agentRtp.toneFrom(1000, bridgedFrom).length >= 25,
      5000,
    );
    expect(new Set(callerRtp.received.map((p) => p.fromPort))).toEqual(new Set([ourMedia.port]));

    // The carrier hangs up: the agent gets a BYE, rtpengine lets go of everything.
    const agentBye = new Promise<void>((resolve) => {
      agent.onRequest((req) => {
        req.reply(200, 'OK');
        if (req.msg.method === 'BYE') resolve();
      });
    });
    const bye = await carrier.inDialog(inv.dialog!, 'BYE');
    expect(bye.status).toBe(200);
    await agentBye;
    await until('call ended', () => ended === 'caller-hangup', 3000);
    expect(await noMediaSessions(stack, 5000)).toBe(0);
    expect(stack.gw.callControl!.activeCalls).toBe(0);
  });

  it('a caller who hangs up before we answer gets 487, and the call ends as cancelled', async () => {
    const callerRtp = await RtpEndpoint.open(ports.clientMedia(0), 1000);
    cleanups.push(() => callerRtp.close());
    let ended: string | undefined;
    handler = (c) => {
      c.on('ended', (r) => (ended = r));
      void c.ringing();
    };
    let branch = '';
    const callId = `cancel-${Date.now()}@carrier`;
    const fromTag = 'cxl1';
    const pending = carrierCall(callerRtp, {
      callId,
      fromTag,
      onProvisional: (m, b) => {
        if (m.status === 180) branch = b;
      },
    });
    await until('180 from the B2BUA', () => branch, 5000);
    const cancel = await carrier.cancel({
      uri: `sip:${DID}@127.0.0.1:${ports.sip}`,
      branch,
      callId,
      from: `<sip:+15550109999@127.0.0.2>`,
      fromTag,
      to: `<sip:${DID}@127.0.0.1:${ports.sip}>`,
      cseq: 1,
    });
    expect(cancel.status).toBe(200);
    expect((await pending).final.status).toBe(487);
    await until('ended as cancelled', () => ended === 'cancelled', 3000);
    expect(stack.gw.callControl!.activeCalls).toBe(0);
  });

  it('offer outcomes: an agent who is not registered is unavailable, one who answers 486 is busy, one who never answers is no-answer', async () => {
    const { call } = await answeredByB2bua();

    // 1004 has no registration in this stack
    expect(await call.offer('1004', { timeoutSec: 5 }).outcome).toBe('unavailable');

    const agent = await agentPhone(7);
    agent.onRequest((req) => {
      if (req.msg.method === 'INVITE') req.reply(486, 'Busy Here');
    });
    expect(await call.offer('1003', { timeoutSec: 5 }).outcome).toBe('busy');

    let cancelled = false;
    agent.onRequest((req) => {
      if (req.msg.method === 'INVITE') req.reply(180, 'Ringing');
      if (req.msg.method === 'CANCEL') cancelled = true;
    });
    const started = Date.now();
    expect(await call.offer('1003', { timeoutSec: 2 }).outcome).toBe('no-answer');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    await until('the ringing agent got a CANCEL', () => cancelled, 3000);
    expect(call.state).toBe('answered');
  });

  it('CANCEL racing the agent’s 200: the late 200 is ACKed and BYEd at once, the outcome is cancelled', async () => {
    const { call, agentRtp } = await answeredByB2bua();

    const agent = await agentPhone(10);
    const offerCancel: { fn?: () => void } = {};
    let gotBye = false;
    let gotAck = false;
    agent.onRequest((req) => {
      if (req.msg.method === 'INVITE') {
        req.reply(180, 'Ringing');
        // we cancel the offer, and the agent's 200 crosses our CANCEL on the wire
        offerCancel.fn!();
        agent.waitAck(hdr(req.msg, 'call-id') ?? '').then(
          () => (gotAck = true),
          () => undefined,
        );
        req.reply(200, 'OK', { body: plainSdp(agentRtp.port), contentType: 'application/sdp' });
      } else if (req.msg.method === 'CANCEL') {
        // already answered: the INVITE transaction is over (RFC 3261 §9.2)
        req.reply(481, 'Call/Transaction Does Not Exist');
      } else {
        req.reply(200, 'OK');
        if (req.msg.method === 'BYE') gotBye = true;
      }
    });
    const offer = call.offer('1003', { timeoutSec: 10 });
    offerCancel.fn = offer.cancel;
    expect(await offer.outcome).toBe('cancelled');
    await until('ACK and BYE for the late 200', () => gotAck && gotBye, 5000);
    expect(call.state).toBe('answered');
    expect(call.agent).toBeUndefined();
  });

  it('a caller’s session refresh (re-INVITE with the same SDP) is answered without touching the agent leg; BYE from the agent ends only the agent leg', async () => {
    const left: string[] = [];
    const { call, inv, callerRtp, agentRtp, ourMedia } = await answeredByB2bua((c) => {
      c.on('agentLeft', (u) => left.push(u));
    });

    const agent = await agentPhone(13);
    let agentDialog: ReturnType<IncomingRequest['reply']>;
    let agentInvites = 0;
    agent.onRequest((req) => {
      if (req.msg.method === 'INVITE') {
        agentInvites++;
        agentDialog = req.reply(200, 'OK', {
          body: plainSdp(agentRtp.port),
          contentType: 'application/sdp',
        });
        agentRtp.sendTo(sdpAudio(req.msg.body).host, sdpAudio(req.msg.body).port);
      } else if (req.msg.method !== 'ACK') req.reply(200, 'OK');
    });
    expect(await call.offer('1003', { timeoutSec: 5 }).outcome).toBe('answered');

    const refresh = await carrier.inDialog(inv.dialog!, 'INVITE', {
      body: plainSdp(callerRtp.port),
      contentType: 'application/sdp',
    });
    expect(refresh.status).toBe(200);
    expect(sdpAudio(refresh.body).port).toBe(ourMedia.port);
    expect(agentInvites).toBe(1);
    const after = Date.now();
    await until(
      'agent still heard after the refresh',
      () => callerRtp.toneFrom(600, after).length >= 10,
      5000,
    );

    const bye = await agent.inDialog(agentDialog!, 'BYE');
    expect(bye.status).toBe(200);
    await until('agentLeft', () => left.includes('1003'), 3000);
    expect(call.state).toBe('answered');
    // the caller is tied to the placeholder again: music can play
    const musicFrom = Date.now();
    void call.play([MUSIC]);
    await until(
      'music again after the agent left',
      () => callerRtp.audible(musicFrom).length >= 10,
      5000,
    );
  });

  it('the agent holds (caller hears music), resumes (caller hears the agent), then blind-transfers: 202, NOTIFY 200, transfer event', async () => {
    const transfers: string[] = [];
    const { call, callerRtp, agentRtp } = await answeredByB2bua((c) => {
      c.on('transfer', (t) => transfers.push(t.user));
    });

    const agent = await agentPhone(17);
    let agentDialog: ReturnType<IncomingRequest['reply']>;
    const notifies: string[] = [];
    agent.onRequest((req) => {
      if (req.msg.method === 'INVITE') {
        agentDialog = req.reply(200, 'OK', {
          body: plainSdp(agentRtp.port),
          contentType: 'application/sdp',
        });
        agentRtp.sendTo(sdpAudio(req.msg.body).host, sdpAudio(req.msg.body).port);
      } else if (req.msg.method !== 'ACK') {
        req.reply(200, 'OK');
        if (req.msg.method === 'NOTIFY') notifies.push(req.msg.body.trim());
      }
    });
    const offer = call.offer('1003', { timeoutSec: 5, holdMusic: MUSIC });
    expect(await offer.outcome).toBe('answered');
    const bridged = Date.now();
    await until('agent heard', () => callerRtp.toneFrom(600, bridged).length >= 10, 5000);

    // Hold: the agent's phone goes on sending nothing; the caller must not sit in silence.
    agentRtp.stopSending();
    const hold = await agent.inDialog(agentDialog!, 'INVITE', {
      body: plainSdp(agentRtp.port, 'sendonly'),
      contentType: 'application/sdp',
    });
    expect(hold.status).toBe(200);
    expect(hold.body).toMatch(/a=recvonly/);
    const heldAt = Date.now();
    await until('music while held', () => callerRtp.audible(heldAt).length >= 50, 5000);
    // packets in flight at the moment of the hold aside, what the caller hears is music, not the agent
    const settled = heldAt + 300;
    expect(callerRtp.toneFrom(600, settled).length).toBeLessThan(
      callerRtp.audible(settled).length * 0.1,
    );

    const resume = await agent.inDialog(agentDialog!, 'INVITE', {
      body: plainSdp(agentRtp.port),
      contentType: 'application/sdp',
    });
    expect(resume.status).toBe(200);
    expect(resume.body).toMatch(/a=sendrecv/);
    agentRtp.sendTo(sdpAudio(resume.body).host, sdpAudio(resume.body).port);
    const resumedAt = Date.now();
    await until('agent heard again', () => callerRtp.toneFrom(600, resumedAt).length >= 10, 5000);

    const refer = await agent.inDialog(agentDialog!, 'REFER', {
      headers: ['Refer-To: <sip:8002@localhost>', 'Referred-By: <sip:1003@localhost>'],
    });
    expect(refer.status).toBe(202);
    await until('transfer event', () => transfers.includes('8002'), 3000);
    await until('NOTIFY 200 to the agent', () => notifies.includes('SIP/2.0 200 OK'), 3000);
  });
});
