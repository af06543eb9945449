import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness/stack.js';
import { explain, runSipp, ulawFile, type SippOptions } from './harness/sipp.js';
import {
  DEMO,
  artifacts,
  noMediaSessions,
  registerSipp,
  sippPhone,
  udpUser,
  type DemoUser,
} from './harness/phones.js';
import {
  SipUA,
  cseqOf,
  hdr,
  plainSdp,
  type Dialog,
  type IncomingRequest,
  type SipMessage,
} from './harness/sipua.js';
import { until, waitForRecord } from './harness/wait.js';
import { RtpEndpoint, audioTarget } from './harness/rtpflow.js';

// Calls between plain SIP phones (sipp) through the real Kamailio, rtpengine
// and decision service: media anchoring, CANCEL, BYE from either side,
// hold/resume, REFER, MESSAGE, the built-in echo and tone, failures, records,
// and nothing left behind in rtpengine or Kamailio's dialog table.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('calls', 15000, { sip: { allowedUriDomains: ['partner.test'] } });
});

afterAll(async () => {
  await stack?.stop();
});

/** sipp caller: 1001 (or `from`) calls `to` with `scenario`. */
function call(
  scenario: string,
  to: string,
  extra: Partial<SippOptions> = {},
  from: DemoUser = '1001',
) {
  ulawFile(artifacts(stack), 'caller.ulaw', 1000);
  return runSipp({
    scenario,
    label: `${scenario.replace('.xml', '')}-${from}-${to}`,
    artifacts: artifacts(stack),
    remote: `127.0.0.1:${stack.ports.sip}`,
    localPort: stack.ports.client(0),
    mediaPort: stack.ports.clientMedia(0),
    service: to,
    auth: { user: from, password: DEMO[from] },
    keys: { domain: stack.cfg.domain, from_user: from, refer_to: stack.cfg.services.echoExtension },
    durationMs: 2000,
    timeoutSec: 20,
    ...extra,
  });
}

const relayed = async () => (await stack.gw.rtpengine.statistics()).relayedPackets;

describe('calls between registered SIP phones', () => {
  it('connects 1001 to 1002 (sipp) through rtpengine, which relays their RTP; caller hangs up', async () => {
    const phone = await sippPhone(stack, { user: '1002', slot: 1 });
    const before = await relayed();
    const caller = await call('uac-call.xml', '1002');
    expect(caller.code, explain(caller)).toBe(0);
    const callee = await phone.done;
    expect(callee.code, explain(callee)).toBe(0);
    // 2 s of 20 ms packets from the caller, echoed back by the callee: ~200 relayed
    // (rtpengine's total, both directions: which way each went is measured in
    // "media per direction" below)
    expect(await relayed()).toBeGreaterThan(before + 150);
    expect(await noMediaSessions(stack)).toBe(0);
  });

  it('lets the callee hang up (BYE from the called side)', async () => {
    const phone = await sippPhone(stack, {
      user: '1002',
      slot: 1,
      scenario: 'uas-hangup.xml',
      durationMs: 1000,
    });
    const caller = await call('uac-wait-bye.xml', '1002');
    expect(caller.code, explain(caller)).toBe(0);
    const callee = await phone.done;
    expect(callee.code, explain(callee)).toBe(0);
    expect(await noMediaSessions(stack)).toBe(0);
  });

  it('cancels a ringing call: 487 to the caller, nothing left in rtpengine', async () => {
    const phone = await sippPhone(stack, { user: '1002', slot: 1, scenario: 'uas-ring.xml' });
    const caller = await call('uac-cancel.xml', '1002');
    expect(caller.code, explain(caller)).toBe(0);
    const callee = await phone.done;
    expect(callee.code, explain(callee)).toBe(0);
    expect(await noMediaSessions(stack)).toBe(0);
  });

  it('answers 9196 with the echo service: our RTP comes back', async () => {
    const before = await relayed();
    const caller = await call('uac-call.xml', stack.cfg.services.echoExtension);
    expect(caller.code, explain(caller)).toBe(0);
    expect(await relayed()).toBeGreaterThan(before + 150);
    expect(await noMediaSessions(stack)).toBe(0);
  });

  it('answers 9198 with the tone service: RTP flows toward the caller', async () => {
    const before = await relayed();
    const caller = await call('uac-call.xml', stack.cfg.services.toneExtension);
    expect(caller.code, explain(caller)).toBe(0);
    // caller's stream plus the tone: ~200 packets in 2 s
    expect(await relayed()).toBeGreaterThan(before + 150);
    expect(await noMediaSessions(stack)).toBe(0);
  });
});

describe('media per direction, hold and transfer (Node phones with their own RTP)', () => {
  // Each phone sends 20 ms PCMU packets of one repeated byte and counts what it
  // receives by that byte: media is measured at each receiver, per direction,
  // and crossed or looped media shows. Bob behaves like a real phone: he sends
  // only when the offer he *received* (through the gateway) lets him.
  const ALICE = { fill: 0x11, ssrc: 0x1001 };
  const BOB = { fill: 0x22, ssrc: 0x1002 };
  const FLOWING = 15; // packets in 500 ms (25 sent)
  let alice: SipUA;
  let bob: SipUA;
  let aRtp: RtpEndpoint;
  let bRtp: RtpEndpoint;
  /** What Bob received: the INVITEs (offers), REFERs. */
  let bobGot: SipMessage[] = [];
  let bobDialog: Dialog | undefined;

  const answerTo = (dir: string) =>
    ({ sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' })[dir] ?? 'sendrecv';

  beforeAll(async () => {
    alice = await udpUser(stack, '1001', 2);
    bob = await udpUser(stack, '1002', 3);
    aRtp = await RtpEndpoint.open(stack.ports.clientMedia(2));
    bRtp = await RtpEndpoint.open(stack.ports.clientMedia(3));
    // Bob is 1002's only contact: the sipp phone of the tests above (slot 1) is
    // gone, and a call forked to a dead contact is another test (see below)
    await registerSipp(stack, '1002', 1, 0);
    expect((await bob.register()).final.status).toBe(200);
    bob.onRequest((req) => {
      const method = req.msg.method;
      if (method === 'INVITE') {
        bobGot.push(req.msg);
        const offer = audioTarget(req.msg.body);
        const dir = answerTo(offer.direction);
        const d = req.reply(200, 'OK', { body: plainSdp(bRtp.port, dir) });
        bobDialog ??= d;
        if (dir === 'sendrecv' || dir === 'sendonly') bRtp.startSending(offer, BOB.ssrc, BOB.fill);
        else bRtp.stopSending();
      } else if (method === 'REFER') {
        bobGot.push(req.msg);
        req.reply(202, 'Accepted');
      } else if (method === 'BYE') {
        bRtp.stopSending();
        req.reply(200, 'OK');
      } else if (method !== 'ACK') {
        req.reply(200, 'OK');
      }
    });
  });

  afterAll(async () => {
    await bob?.register({ expires: 0 }).catch(() => undefined);
    await Promise.allSettled([alice?.close(), bob?.close(), aRtp?.close(), bRtp?.close()]);
  });

  beforeEach(() => {
    bobGot = [];
    bobDialog = undefined;
  });

  /** Alice calls Bob and sends her RTP where the 200 OK says. */
  async function aliceCallsBob(): Promise<Dialog> {
    const r = await alice.request('INVITE', {
      uri: 'sip:1002@localhost',
      body: plainSdp(aRtp.port),
    });
    expect(r.final.status, r.final.raw).toBe(200);
    aRtp.startSending(audioTarget(r.final.body), ALICE.ssrc, ALICE.fill);
    return r.dialog!;
  }

  /** Packets of each direction over 500 ms: Bob's fill at Alice, Alice's fill at Bob. */
  async function flow() {
    const [atAlice, atBob] = await Promise.all([aRtp.countDuring(500), bRtp.countDuring(500)]);
    return {
      bobToAlice: atAlice.byFill[BOB.fill] ?? 0,
      aliceToBob: atBob.byFill[ALICE.fill] ?? 0,
      atAlice,
      atBob,
    };
  }

  it('carries RTP both ways, each side receiving the other’s stream and never its own', async () => {
    const d = await aliceCallsBob();
    let last = await flow();
    await until(
      'RTP both ways',
      async () => {
        last = await flow();
        return last.bobToAlice >= FLOWING && last.aliceToBob >= FLOWING;
      },
      5000,
      0,
      () => JSON.stringify(last),
    );
    expect(aRtp.withFill(ALICE.fill), 'Alice hears herself (looped)').toBe(0);
    expect(bRtp.withFill(BOB.fill), 'Bob hears himself (looped)').toBe(0);
    aRtp.stopSending();
    expect((await alice.inDialog(d, 'BYE')).status).toBe(200);
    expect(await noMediaSessions(stack)).toBe(0);
  });

  it('hold: Bob is offered sendonly and answers recvonly; no RTP reaches Alice until she resumes', async () => {
    const d = await aliceCallsBob();
    let last = await flow();
    await until('RTP both ways before hold', async () => {
      last = await flow();
      return last.bobToAlice >= FLOWING && last.aliceToBob >= FLOWING;
    });

    const hold = await alice.inDialog(d, 'INVITE', {
      body: plainSdp(aRtp.port, 'sendonly'),
      contentType: 'application/sdp',
    });
    expect(hold.status).toBe(200);
    expect(audioTarget(hold.body).direction, 'the answer Alice gets').toBe('recvonly');
    expect(audioTarget(bobGot.at(-1)!.body).direction, 'the offer Bob got (relayed)').toBe(
      'sendonly',
    );
    aRtp.startSending(audioTarget(hold.body), ALICE.ssrc, ALICE.fill);
    // packets in flight drain, then nothing at all reaches Alice while Alice's still reach Bob
    await until(
      'RTP toward Alice to stop',
      async () => {
        last = await flow();
        return last.atAlice.total === 0;
      },
      5000,
      0,
      () => JSON.stringify(last),
    );
    const held = await flow();
    expect(held.atAlice.total, `held: ${JSON.stringify(held)}`).toBe(0);
    expect(held.aliceToBob, `held: ${JSON.stringify(held)}`).toBeGreaterThanOrEqual(FLOWING);

    const resume = await alice.inDialog(d, 'INVITE', {
      body: plainSdp(aRtp.port, 'sendrecv'),
      contentType: 'application/sdp',
    });
    expect(resume.status).toBe(200);
    expect(audioTarget(resume.body).direction).toBe('sendrecv');
    expect(audioTarget(bobGot.at(-1)!.body).direction).toBe('sendrecv');
    aRtp.startSending(audioTarget(resume.body), ALICE.ssrc, ALICE.fill);
    await until(
      'RTP both ways after resume',
      async () => {
        last = await flow();
        return last.bobToAlice >= FLOWING && last.aliceToBob >= FLOWING;
      },
      5000,
      0,
      () => JSON.stringify(last),
    );
    aRtp.stopSending();
    expect((await alice.inDialog(d, 'BYE')).status).toBe(200);
    expect(await noMediaSessions(stack)).toBe(0);
  });

  // Kamailio's rtpengine_delete on a BYE frees only the answering branch's
  // session; a branch forked to a contact that never answered (a phone gone but
  // still registered) would keep its ports until rtpengine's timeout. The
  // service deletes the whole call by Call-ID when the dialog ends (main.ts).
  it('a callee’s BYE after a fork to a dead contact frees every branch’s rtpengine session', async () => {
    // a second contact for 1002 where nothing listens (slot 1: no sipp runs there now)
    await registerSipp(stack, '1002', 1, 600);
    try {
      await aliceCallsBob();
      aRtp.stopSending();
      expect(bobDialog).toBeDefined();
      expect((await bob.inDialog(bobDialog!, 'BYE')).status).toBe(200);
      expect(await noMediaSessions(stack), 'rtpengine sessions left after the callee’s BYE').toBe(
        0,
      );
    } finally {
      await registerSipp(stack, '1002', 1, 0);
    }
  });

  it('REFER: Bob gets the Refer-To, calls the target through the gateway, and his NOTIFY reaches Alice', async () => {
    const echo = stack.cfg.services.echoExtension;
    const notifies: SipMessage[] = [];
    alice.onRequest((req) => {
      if (req.msg.method === 'ACK') return;
      req.reply(200, 'OK');
      if (req.msg.method === 'NOTIFY') notifies.push(req.msg);
    });
    const d = await aliceCallsBob();
    const refer = await alice.inDialog(d, 'REFER', {
      headers: [`Refer-To: <sip:${echo}@localhost>`, 'Referred-By: <sip:1001@localhost>'],
    });
    expect(refer.status).toBe(202);
    const got = bobGot.find((m) => m.method === 'REFER');
    expect(got, 'the REFER relayed to Bob (not answered by the gateway)').toBeDefined();
    expect(hdr(got!, 'refer-to'), 'Refer-To relayed intact').toBe(`<sip:${echo}@localhost>`);
    expect(hdr(got!, 'referred-by')).toBe('<sip:1001@localhost>');

    // Bob acts on it like a transferee: a new call to the target through the gateway ...
    const target = await bob.request('INVITE', {
      uri: `sip:${echo}@localhost`,
      body: plainSdp(stack.ports.clientMedia(4)),
    });
    expect(target.final.status, target.final.raw).toBe(200);
    const port = audioTarget(target.final.body).port;
    expect(port, 'the target call is anchored by rtpengine').toBeGreaterThanOrEqual(
      stack.cfg.rtpengine.portMin,
    );
    expect(port).toBeLessThanOrEqual(stack.cfg.rtpengine.portMax);
    // ... and reports its outcome to Alice in the original dialog
    expect(bobDialog, 'Bob’s dialog with Alice').toBeDefined();
    // the sipfrag carries the target's own Status-Line: Alice must get exactly it
    const sipfrag = `SIP/2.0 ${target.final.status} ${target.final.reason}\r\n`;
    expect(notifies, 'no NOTIFY before Bob sends his').toEqual([]);
    const notify = await bob.inDialog(bobDialog!, 'NOTIFY', {
      headers: ['Event: refer', 'Subscription-State: terminated;reason=noresource'],
      body: sipfrag,
      contentType: 'message/sipfrag;version=2.0',
    });
    expect(notify.status).toBe(200);
    const n = await until(
      'Bob’s NOTIFY relayed by the gateway to Alice',
      () => notifies[0],
      10_000,
      50,
      () => `NOTIFYs at Alice: ${notifies.length}; Bob’s NOTIFY answered ${notify.status}`,
    );
    expect(hdr(n, 'event')).toMatch(/^refer/);
    expect(n.body, 'the target’s progress as Bob reported it').toBe(sipfrag);
    expect(n.body).toMatch(/^SIP\/2\.0 200/);
    expect(hdr(n, 'from'), 'the NOTIFY is Bob’s (his dialog tag)').toContain(
      `tag=${bobDialog!.localTag}`,
    );

    // transfer done: Bob leaves Alice, then ends the call with the target
    aRtp.stopSending();
    expect((await bob.inDialog(bobDialog!, 'BYE')).status).toBe(200);
    expect((await bob.inDialog(target.dialog!, 'BYE')).status).toBe(200);
    expect(await noMediaSessions(stack)).toBe(0);
  });
});

describe('requests that do not become calls', () => {
  let ua: SipUA;
  beforeAll(async () => {
    ua = await udpUser(stack, '1004', 5);
  });
  afterAll(async () => ua?.close());

  const invite = (uri: string) =>
    ua.request('INVITE', { uri, body: plainSdp(stack.ports.clientMedia(5)) });

  it('says 480 for a user who exists but is not registered', async () => {
    const r = await invite('sip:1003@localhost');
    expect(r.final.status).toBe(480);
  });

  it('says 404 for a number nobody has', async () => {
    const r = await invite('sip:5555@localhost');
    expect(r.final.status).toBe(404);
  });

  it('refuses to relay to a domain the config does not allow (403)', async () => {
    const r = await invite('sip:bob@evil.test');
    expect(r.final.status).toBe(403);
  });

  it('challenges an INVITE without credentials with 407 and a qop=auth digest', async () => {
    const r = await ua.request('INVITE', {
      uri: 'sip:1002@localhost',
      body: plainSdp(stack.ports.clientMedia(5)),
      authenticate: false,
    });
    expect(r.final.status).toBe(407);
    expect(hdr(r.final, 'proxy-authenticate')).toMatch(/Digest realm="localhost".*qop="auth"/);
  });

  it('refuses a caller whose From is not the authenticated user (403)', async () => {
    const r = await ua.request('INVITE', {
      uri: 'sip:9196@localhost',
      from: '<sip:1001@localhost>',
      body: plainSdp(stack.ports.clientMedia(5)),
    });
    expect(r.final.status).toBe(403);
  });

  it('relays MESSAGE between users without touching rtpengine', async () => {
    const bob = await udpUser(stack, '1003', 6);
    try {
      expect((await bob.register()).final.status).toBe(200);
      const got = new Promise<string>((resolve) =>
        bob.onRequest((req) => {
          req.reply(200, 'OK');
          if (req.msg.method === 'MESSAGE') resolve(req.msg.body);
        }),
      );
      const r = await ua.request('MESSAGE', {
        uri: 'sip:1003@localhost',
        body: 'hello from 1004',
        contentType: 'text/plain',
      });
      expect(r.final.status).toBe(200);
      expect(await got).toBe('hello from 1004');
      expect(await stack.gw.rtpengine.sessionCount()).toBe(0);
      expect((await bob.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await bob.close();
    }
  });

  it('relays in-dialog UPDATE (new offer, anchored both ways) and INFO (DTMF relay) to the callee', async () => {
    const bob = await udpUser(stack, '1003', 7);
    const inRange = (sdp: string) => {
      const port = Number(/^m=audio (\d+) /m.exec(sdp)?.[1]);
      return port >= stack.cfg.rtpengine.portMin && port <= stack.cfg.rtpengine.portMax;
    };
    try {
      expect((await bob.register()).final.status).toBe(200);
      const received: { method: string; body: string; contentType?: string }[] = [];
      bob.onRequest((req) => {
        const { method = '', body } = req.msg;
        received.push({ method, body, contentType: hdr(req.msg, 'content-type') });
        if (method === 'INVITE' || method === 'UPDATE') {
          req.reply(200, 'OK', { body: plainSdp(stack.ports.clientMedia(7)) });
        } else {
          req.reply(200, 'OK');
        }
      });
      const call = await ua.request('INVITE', {
        uri: 'sip:1003@localhost',
        body: plainSdp(stack.ports.clientMedia(5)),
      });
      expect(call.final.status).toBe(200);
      const d = call.dialog!;

      const update = await ua.inDialog(d, 'UPDATE', {
        body: plainSdp(stack.ports.clientMedia(5), 'sendonly'),
        contentType: 'application/sdp',
      });
      expect(update.status).toBe(200);
      expect(inRange(update.body), 'the answer to our UPDATE comes from rtpengine').toBe(true);
      const gotUpdate = received.find((r) => r.method === 'UPDATE');
      expect(gotUpdate && inRange(gotUpdate.body), 'the callee is offered rtpengine').toBe(true);
      expect(gotUpdate?.body).toMatch(/^a=sendonly/m);

      const dtmf = 'Signal=5\r\nDuration=160\r\n';
      const info = await ua.inDialog(d, 'INFO', {
        body: dtmf,
        contentType: 'application/dtmf-relay',
      });
      expect(info.status).toBe(200);
      expect(received.find((r) => r.method === 'INFO')).toMatchObject({
        body: dtmf,
        contentType: 'application/dtmf-relay',
      });

      expect((await ua.inDialog(d, 'BYE')).status).toBe(200);
      expect(received.map((r) => r.method)).toEqual(['INVITE', 'UPDATE', 'INFO', 'BYE']);
      expect(await noMediaSessions(stack)).toBe(0);
      expect((await bob.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await bob.close();
    }
  });

  it('anchors a late offer (INVITE without SDP: offer in the 200, answer in the ACK)', async () => {
    const r = await ua.request('INVITE', {
      uri: `sip:${stack.cfg.services.echoExtension}@localhost`,
      ackBody: () => plainSdp(stack.ports.clientMedia(5)),
    });
    expect(r.final.status).toBe(200);
    // the offer we got is rtpengine's (a port from its range), not the echo service's own
    const port = Number(/^m=audio (\d+) RTP\/AVP /m.exec(r.final.body)?.[1]);
    expect(port).toBeGreaterThanOrEqual(stack.cfg.rtpengine.portMin);
    expect(port).toBeLessThanOrEqual(stack.cfg.rtpengine.portMax);
    const tags = Object.keys(
      ((await stack.gw.rtpengine.query(r.dialog!.callId)).tags ?? {}) as object,
    );
    expect(tags).toHaveLength(2);
    expect((await ua.inDialog(r.dialog!, 'BYE')).status).toBe(200);
    expect(await noMediaSessions(stack)).toBe(0);
  });

  it('answers OPTIONS keepalives itself', async () => {
    const r = await ua.request('OPTIONS', {
      uri: `sip:127.0.0.1:${stack.ports.sip}`,
      authenticate: false,
    });
    expect(r.final.status).toBe(200);
  });
});

describe('call records', () => {
  it('records its own answered call as ended and its own cancelled call as failed with 487', async () => {
    // Self-contained: two calls made here, found by their Call-IDs.
    const ua = await udpUser(stack, '1004', 8);
    const callee = await udpUser(stack, '1003', 9);
    try {
      expect((await callee.register()).final.status).toBe(200);
      // the callee rings and never answers; a CANCEL ends the INVITE with 487
      let ringing: IncomingRequest | undefined;
      callee.onRequest((req) => {
        if (req.msg.method === 'INVITE') {
          ringing = req;
          req.reply(180, 'Ringing');
        } else if (req.msg.method === 'CANCEL') {
          req.reply(200, 'OK');
          ringing?.reply(487, 'Request Terminated');
        } else if (req.msg.method !== 'ACK') {
          req.reply(200, 'OK');
        }
      });

      const answered = await ua.request('INVITE', {
        uri: `sip:${stack.cfg.services.echoExtension}@localhost`,
        body: plainSdp(stack.ports.clientMedia(8)),
      });
      expect(answered.final.status).toBe(200);
      expect((await ua.inDialog(answered.dialog!, 'BYE')).status).toBe(200);

      // `"` and `\` are legal in a Call-ID (RFC 3261 word) and need escaping in
      // the record's JSON event: Kamailio's escaping path (route CALL_EVENT_ESCAPED)
      const cancelledId = `cdr-cancel-"q\\${Date.now()}@test`;
      const fromTag = 'cdrcancel';
      let cancelling: Promise<SipMessage> | undefined;
      const cancelled = await ua.request('INVITE', {
        uri: 'sip:1003@localhost',
        callId: cancelledId,
        fromTag,
        body: plainSdp(stack.ports.clientMedia(8)),
        onProvisional: (m, branch) => {
          if (m.status !== 180 || cancelling) return;
          cancelling = ua.cancel({
            uri: 'sip:1003@localhost',
            branch,
            callId: cancelledId,
            from: '<sip:1004@localhost>',
            fromTag,
            to: '<sip:1003@localhost>',
            cseq: cseqOf(m).seq,
          });
        },
      });
      expect(cancelling, 'the callee rang (180), so the call was cancelled').toBeDefined();
      expect((await cancelling!).status).toBe(200);
      expect(cancelled.final.status).toBe(487);

      const ended = await waitForRecord(
        stack,
        `answered call ${answered.dialog!.callId} ended`,
        (r) => r.callId === answered.dialog!.callId && r.status === 'ended',
      );
      expect(ended).toMatchObject({
        fromUser: '1004',
        toUser: stack.cfg.services.echoExtension,
        direction: 'service',
        code: 200,
      });
      expect(ended.answeredAt && ended.endedAt).toBeTruthy();
      const failed = await waitForRecord(
        stack,
        `cancelled call ${cancelledId} failed`,
        (r) => r.callId === cancelledId && r.status === 'failed',
      );
      expect(failed).toMatchObject({ fromUser: '1004', toUser: '1003', code: 487 });
      expect(failed.answeredAt).toBeNull();
      expect(await noMediaSessions(stack)).toBe(0);
      expect((await callee.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await Promise.allSettled([ua.close(), callee.close()]);
    }
  });
});

describe('after all calls', () => {
  it('leaves no session in rtpengine and no dialog in Kamailio', async () => {
    expect(await noMediaSessions(stack)).toBe(0);
    const out = execFileSync(
      'kamcmd',
      ['-s', `unix:${join(stack.gw.dirs.run, 'kamailio_ctl')}`, 'dlg.stats_active'],
      {
        encoding: 'utf8',
      },
    );
    const active = /all:\s*(\d+)/.exec(out)?.[1];
    expect(Number(active), out).toBe(0);
  });
});
