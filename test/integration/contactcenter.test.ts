import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { portsFor, type Stack } from './harness/stack.js';
import { SipUA, hdr, plainSdp, type Dialog, type IncomingRequest } from './harness/sipua.js';
import { udpUser, noMediaSessions, type DemoUser } from './harness/phones.js';
import { RtpEndpoint, envelopeMatch, fileEnvelope, sdpAudio } from './harness/rtp.js';
import { until } from './harness/wait.js';
import type { ContactCenter } from '../../gateway/src/contactcenter/contactCenter.js';
import { startContactCenterStack } from './harness/carrier.js';

// The contact center end to end through the real stack: a carrier caller
// (a Node SIP client on the trunk's address with its own RTP endpoint) dials
// DIDs; Kamailio routes them to the call-control tier; the IVR takes a digit,
// the queue answers, rtpengine plays the real Asterisk prompts and music;
// agents 1003 and 1004 are Node SIP clients registered through Kamailio, each
// answering with its own tone. Outcomes are read from what the caller heard
// and from the queue's stored records.

const BASE = 18250;
const ports = portsFor(BASE);
const SOUNDS = '/usr/share/asterisk/sounds/en_US_f_Allison';
const DID_IVR = '+15550100800';
const DID_SALES = '+15550100801';

let stack: Stack;
let cc: ContactCenter;
let carrier: SipUA;
const cleanups: (() => Promise<unknown> | void)[] = [];
let mediaSlot = 0;

beforeAll(async () => {
  ({ stack, cc, carrier } = await startContactCenterStack('contactcenter', BASE, {
    ivrs: [
      {
        name: 'main',
        dids: [DID_IVR],
        greeting: ['vm-press', 'digits/1'],
        options: { '1': { queue: 'sales' } },
        timeoutSec: 5,
        repeat: 2,
      },
    ],
    queues: [
      {
        name: 'sales',
        dids: [DID_SALES],
        strategy: 'longest-idle',
        ringTimeoutSec: 5,
        maxLength: 2,
        overflow: { queue: 'overflow' },
        announce: { everySec: 4, position: true, estimatedWait: false },
        exitKey: { key: '9', destination: { queue: 'overflow' } },
        wrapUpSec: 2,
        autoPauseAfter: 1,
      },
      { name: 'overflow', announce: { everySec: 0 } },
    ],
    agents: [
      { username: '1003', queues: [{ name: 'sales', penalty: 0 }] },
      { username: '1004', queues: [{ name: 'sales', penalty: 0 }] },
    ],
  }));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  // clientMedia has ten slots: each test's endpoints are closed above, so their ports are free again
  mediaSlot = 0;
  // Every test starts with both agents offline (after any wrap-up has run out).
  for (const u of ['1003', '1004']) {
    await until(
      `${u} free`,
      () => !['offered', 'on-call', 'wrap-up'].includes(cc.view(u).state),
      6000,
    );
    cc.setState(u, 'offline');
  }
});

afterAll(async () => {
  await carrier?.close();
  await stack?.stop();
});

interface CarrierCall {
  rtp: RtpEndpoint;
  dialog: Dialog;
  callId: string;
  ourMedia: { host: string; port: number };
  hangup(): Promise<number>;
}

/** The carrier dials `did` with its own tone (1000 Hz) and starts sending RTP once answered. */
async function dial(did: string, callerNumber = '+15550109999'): Promise<CarrierCall> {
  const rtp = await RtpEndpoint.open(ports.clientMedia(mediaSlot++), 1000);
  const callId = `cc-${Date.now()}-${mediaSlot}@carrier`;
  const inv = await carrier.request('INVITE', {
    uri: `sip:${did}@127.0.0.1:${ports.sip}`,
    from: `"Caller" <sip:${callerNumber}@127.0.0.2>`,
    body: plainSdp(rtp.port),
    contentType: 'application/sdp',
    authenticate: false,
    timeoutMs: 15_000,
    callId,
  });
  expect(inv.final.status).toBe(200);
  const ourMedia = sdpAudio(inv.final.body);
  rtp.sendTo(ourMedia.host, ourMedia.port);
  let up = true;
  const call: CarrierCall = {
    rtp,
    dialog: inv.dialog!,
    callId,
    ourMedia,
    async hangup() {
      if (!up) return 0;
      up = false;
      const r = await carrier.inDialog(inv.dialog!, 'BYE');
      return r.status;
    },
  };
  cleanups.push(
    () => rtp.close(),
    () => call.hangup().catch(() => undefined),
  );
  return call;
}

interface Agent {
  ua: SipUA;
  rtp: RtpEndpoint;
  invites: IncomingRequest[];
  /** How this agent answers the next INVITE. */
  mode: 'answer' | 'ignore';
  dialog?: Dialog;
}

/** A demo agent registered from a Node SIP client; answers with its own tone or lets it ring. */
async function agent(user: DemoUser, slot: number, toneHz: number): Promise<Agent> {
  const ua = await udpUser(stack, user, slot);
  const rtp = await RtpEndpoint.open(ports.clientMedia(mediaSlot++), toneHz);
  const a: Agent = { ua, rtp, invites: [], mode: 'answer' };
  ua.onRequest((req) => {
    if (req.msg.method === 'INVITE') {
      a.invites.push(req);
      req.reply(180, 'Ringing');
      if (a.mode === 'answer') {
        a.dialog = req.reply(200, 'OK', {
          body: plainSdp(rtp.port),
          contentType: 'application/sdp',
        });
        const to = sdpAudio(req.msg.body);
        rtp.sendTo(to.host, to.port);
      }
    } else if (req.msg.method === 'CANCEL') {
      req.reply(200, 'OK');
    } else if (req.msg.method !== 'ACK') {
      req.reply(200, 'OK');
    }
  });
  expect((await ua.register({ expires: 300 })).final.status).toBe(200);
  await until(
    `${user} registered in the service`,
    () => stack.gw.registrations.isRegistered(user),
    3000,
  );
  cleanups.push(
    () => rtp.close(),
    () => ua.close(),
    () => ua.register({ expires: 0 }).catch(() => undefined),
  );
  return a;
}

const queueCallOf = (callId: string) => cc.store.queueCalls().find((r) => r.callId === callId);

describe('contact center through the real stack', () => {
  it('IVR digit → queue with no agent: answered, music, the position announcement heard; hanging up is an abandon with its wait', async () => {
    const call = await dial(DID_IVR);
    // the greeting is speech ("press", "one"): energy right away
    await until('greeting heard', () => call.rtp.audible().length >= 25, 5000);
    call.rtp.sendDigit('1');
    const queued = await until('caller in queue sales', () => queueCallOf(call.callId), 5000);
    expect(queued.queue).toBe('sales');
    const inQueueAt = Date.now();

    // Music, then after 4 s the position announcement ("you are next", 5.4 s long)
    // interrupts it: its first 2.5 s must be in what the caller received.
    await new Promise((r) => setTimeout(r, 7500));
    const envelope = call.rtp.envelope(inQueueAt);
    const firstSeconds = (file: string) => fileEnvelope(file).slice(0, 125);
    const match = envelopeMatch(envelope, firstSeconds(`${SOUNDS}/queue-youarenext.wav`));
    console.log(`position announcement: envelope correlation ${match.toFixed(2)}`);
    expect(match).toBeGreaterThan(0.8);
    // a different prompt does not match what was played (the check can fail)
    expect(envelopeMatch(envelope, firstSeconds(`${SOUNDS}/queue-thereare.wav`))).toBeLessThan(0.6);
    const gap = call.rtp.longestGap(inQueueAt, Date.now());
    console.log(`waiting caller: longest silence ${gap} ms over 7.5 s`);
    expect(gap).toBeLessThan(1000);

    expect(await call.hangup()).toBe(200);
    const row = await until('abandon recorded', () => {
      const r = queueCallOf(call.callId);
      return r?.outcome === 'abandoned' ? r : undefined;
    });
    expect(row.waitSec).toBeGreaterThanOrEqual(7);
    expect(cc.store.events({ queueCallId: row.id }).map((e) => e.event)).toEqual(
      expect.arrayContaining(['entered', 'abandoned']),
    );
    expect(await noMediaSessions(stack, 5000)).toBe(0);
  });

  it('longest-idle: the agent idle longer gets the call, two-way audio, wrap-up with a disposition; the next call goes to the other agent', async () => {
    const a3 = await agent('1003', 1, 600);
    const a4 = await agent('1004', 2, 800);
    cc.setState('1003', 'available');
    await new Promise((r) => setTimeout(r, 50));
    cc.setState('1004', 'available');

    const first = await dial(DID_SALES);
    await until('1003 offered', () => a3.invites.length === 1, 5000);
    expect(a4.invites.length).toBe(0);
    const invite = a3.invites[0]!.msg;
    expect(hdr(invite, 'x-queue')).toBe('sales');
    const bridged = Date.now();
    await until(
      '1003 heard by the caller',
      () => first.rtp.toneFrom(600, bridged).length >= 25,
      5000,
    );
    await until('caller heard by 1003', () => a3.rtp.toneFrom(1000, bridged).length >= 25, 5000);
    expect(cc.view('1003').state).toBe('on-call');

    expect(await first.hangup()).toBe(200);
    await until('1003 in wrap-up', () => cc.view('1003').state === 'wrap-up', 3000);
    const row = queueCallOf(first.callId)!;
    expect(row.agent).toBe('1003');
    expect(row.outcome).toBe('answered');
    cc.saveWrapUp('1003', row.id, 'Resolved', 'asked about pricing');
    expect(cc.view('1003').state).toBe('available');
    const saved = queueCallOf(first.callId)!;
    expect([saved.disposition, saved.notes]).toEqual(['Resolved', 'asked about pricing']);

    // 1004 has now been idle longer than 1003, who just finished a call.
    const second = await dial(DID_SALES);
    await until('1004 offered', () => a4.invites.length === 1, 5000);
    expect(a3.invites.length).toBe(1);
    await second.hangup();
  });

  it('no answer: the offer moves on to the next agent after the ring timeout, and the silent agent is paused and told why', async () => {
    const a3 = await agent('1003', 3, 600);
    const a4 = await agent('1004', 4, 800);
    a3.mode = 'ignore';
    cc.setState('1003', 'available');
    await new Promise((r) => setTimeout(r, 50));
    cc.setState('1004', 'available');

    const call = await dial(DID_SALES);
    await until('1003 offered first', () => a3.invites.length === 1, 5000);
    await until('then 1004 after the ring timeout', () => a4.invites.length === 1, 9000);
    const v = cc.view('1003');
    expect([v.state, v.reason]).toEqual(['not-ready', 'no-answer']);
    const bridged = Date.now();
    await until('1004 heard', () => call.rtp.toneFrom(800, bridged).length >= 10, 5000);
    await call.hangup();
  });

  it('queue full → overflow; the exit key takes a waiting caller to its destination', async () => {
    const c1 = await dial(DID_SALES);
    const c2 = await dial(DID_SALES);
    await until('two waiting in sales', () => cc.waiting('sales').length === 2, 5000);
    const c3 = await dial(DID_SALES, '+15550108888');
    const overflowed = await until('third caller in overflow', () => {
      const rows = cc.store.queueCalls().filter((r) => r.callId === c3.callId);
      return rows.find((r) => r.queue === 'overflow');
    });
    expect(overflowed.callerNumber).toBe('+15550108888');
    await until('c3 hears the overflow queue’s music', () => c3.rtp.audible().length >= 25, 5000);

    c1.rtp.sendDigit('9');
    await until('c1 left sales by its exit key', () =>
      cc.store
        .queueCalls()
        .some((r) => r.callId === c1.callId && r.queue === 'sales' && r.outcome === 'exited'),
    );
    await until('c1 now waits in overflow', () =>
      cc.store.queueCalls().some((r) => r.callId === c1.callId && r.queue === 'overflow'),
    );
    expect(cc.waiting('sales').map((w) => w.caller)).toHaveLength(1);
    for (const c of [c1, c2, c3]) expect(await c.hangup()).toBe(200);
  });
});
