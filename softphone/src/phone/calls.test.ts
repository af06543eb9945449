import { afterEach, describe, expect, it } from 'vitest';
import { CallStateError, IllegalTransitionError } from './call-state';
import { Call } from './call';
import type { Phone } from './phone';
import { FakeRTCPeerConnection } from './testing/fake-webrtc';
import type { FakeDtmfSender } from './testing/fake-webrtc';
import { answerSdp } from './testing/fake-sip-server';
import { makePhone, until } from './testing/harness';
import type { CallHandle, CallState, PhoneConfig } from './types';

let phone: Phone | undefined;
afterEach(async () => {
  await phone?.stop();
  phone = undefined;
});

async function started(config: Partial<PhoneConfig> = {}) {
  const h = makePhone(config);
  phone = h.phone;
  await h.phone.start();
  return h;
}

function states(call: CallHandle): CallState[] {
  const seen: CallState[] = [call.state];
  call.on('state', ({ to }) => seen.push(to));
  return seen;
}

const established = (call: CallHandle) => until(() => call.state === 'established');

describe('outgoing call', () => {
  it('goes calling → ringing → established, holds with a=sendonly and hangs up with BYE', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    const seen = states(call);
    await established(call);
    expect(seen).toEqual(['calling', 'ringing', 'established']);
    const invite = h.server.requests('INVITE')[0];
    expect(invite?.requestUri).toBe('sip:1002@localhost');
    expect(invite?.body).toContain('m=audio');
    expect(invite?.body).toContain('a=sendrecv');
    expect(call.timestamps.ringingAt).toBeDefined();
    expect(call.timestamps.establishedAt).toBeGreaterThanOrEqual(call.timestamps.ringingAt ?? 0);
    expect(call.remoteStream?.getAudioTracks()).toHaveLength(1);

    await call.hold();
    expect(call.state).toBe('held');
    const reinvite = h.server.requests('INVITE')[1];
    expect(reinvite?.header('call-id')).toBe(invite?.header('call-id'));
    expect(reinvite?.body).toMatch(/a=sendonly/);

    await call.unhold();
    expect(call.state).toBe('established');
    expect(h.server.requests('INVITE')[2]?.body).toMatch(/a=sendrecv/);

    await call.hangup();
    await until(() => call.state === 'ended');
    expect(h.server.requests('BYE')).toHaveLength(1);
    expect(call.endCause).toEqual({ reason: 'Local hangup', by: 'local' });
    expect(h.events.callEnded).toContain(call);
    expect(h.phone.calls).toHaveLength(0);
  });

  it('refuses actions and transitions that do not fit the state', async () => {
    const h = await started();
    h.server.inviteBehavior = 'ring';
    const call = h.phone.call('1002');
    await until(() => call.state === 'ringing');
    await expect(call.hold()).rejects.toBeInstanceOf(CallStateError);
    await expect(call.blindTransfer('1003')).rejects.toBeInstanceOf(CallStateError);
    await expect(call.answer()).rejects.toThrow(/incoming/);
    expect(() => (call as Call).transition('held')).toThrow(IllegalTransitionError);

    await call.hangup();
    const cancel = await h.server.waitForRequest('CANCEL');
    expect(cancel.header('call-id')).toBe(h.server.requests('INVITE')[0]?.header('call-id'));
    await until(() => call.state === 'ended');
    expect(call.endCause).toMatchObject({ code: 487, by: 'local' });
    expect(() => (call as Call).transition('established')).toThrow(IllegalTransitionError);
  });

  it("ends with the far end's status when rejected", async () => {
    const h = await started();
    h.server.inviteBehavior = { reject: 486, reason: 'Busy Here' };
    const call = h.phone.call('1002');
    await until(() => call.state === 'ended');
    expect(call.endCause).toEqual({ code: 486, reason: 'Busy Here', by: 'remote' });
  });

  it('plays early media: 183 with SDP → early → established', async () => {
    const h = await started();
    h.server.handlers.INVITE = (req, ws) => {
      if (/;tag=/.test(req.header('to') ?? '')) return false;
      h.server.reply(ws, req, 183, 'Session Progress', {
        toTag: 'em1',
        body: answerSdp(req.body),
        headers: ['Contact: <sip:ivr@127.0.0.1>'],
      });
      setTimeout(
        () =>
          h.server.reply(ws, req, 200, 'OK', {
            toTag: 'em1',
            body: answerSdp(req.body),
            headers: ['Contact: <sip:ivr@127.0.0.1>'],
          }),
        30,
      );
      return true;
    };
    const call = h.phone.call('9196');
    const seen = states(call);
    await until(() => call.state === 'early');
    // DTMF into an IVR during early media goes in-band (RFC 4733).
    await call.sendDtmf('1');
    await established(call);
    expect(seen).toEqual(['calling', 'early', 'established']);
  });

  it('ends when the far end sends BYE, with the Reason text', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    await established(call);
    h.server.sendInDialog(h.server.requests('INVITE')[0]?.header('call-id') ?? '', 'BYE', {
      headers: ['Reason: Q.850;cause=16;text="Normal call clearing"'],
    });
    await until(() => call.state === 'ended');
    expect(call.endCause).toEqual({ reason: 'Normal call clearing', by: 'remote' });
    expect(
      h.server.received.some((m) => m.statusCode === 200 && /BYE/.test(m.header('cseq') ?? '')),
    ).toBe(true);
  });

  it('notices when the far end holds us (re-INVITE with a=sendonly)', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    await established(call);
    const callId = h.server.requests('INVITE')[0]?.header('call-id') ?? '';
    h.server.sendInDialog(callId, 'INVITE', {
      body: answerSdp('a=recvonly'), // an offer whose audio is a=sendonly
      contentType: 'application/sdp',
    });
    await until(() => call.remoteHold);
    const answer = await h.server.waitFor(
      (m) =>
        m.statusCode === 200 &&
        /INVITE/.test(m.header('cseq') ?? '') &&
        m.header('call-id') === callId,
    );
    expect(answer.body).toMatch(/a=recvonly/);
    expect(call.state).toBe('established');
  });

  it('applies the RTCPeerConnection settings and reuses the warm microphone', async () => {
    const h = await started({
      iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'c' }],
      iceTransportPolicy: 'relay',
      iceCandidatePoolSize: 4,
    });
    const first = h.phone.call('1002');
    await established(first);
    await first.hangup();
    const second = h.phone.call('1002');
    await established(second);
    const pc = FakeRTCPeerConnection.instances[0];
    expect(pc?.configuration).toMatchObject({
      iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'c' }],
      iceTransportPolicy: 'relay',
      bundlePolicy: 'balanced',
      rtcpMuxPolicy: 'require',
      iceCandidatePoolSize: 4,
    });
    expect(h.mediaDevices.getUserMediaCalls.filter((c) => c.audio)).toHaveLength(1);
    expect(h.mediaDevices.getUserMediaCalls[0]?.audio).toMatchObject({
      echoCancellation: true,
      autoGainControl: true,
    });
  });
});

describe('DTMF', () => {
  it('uses RFC 4733 telephone-events by default and sends no INFO', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    await established(call);
    await call.sendDtmf('5');
    const pc = FakeRTCPeerConnection.instances.find((p) => !p.closed && p.localDescription);
    const dtmf = pc?.getTransceivers()[0]?.sender.dtmf as FakeDtmfSender;
    expect(dtmf.inserted).toEqual([{ tones: '5', duration: 160, gap: 70 }]);
    expect(h.server.requests('INFO')).toHaveLength(0);
  });

  it('sends SIP INFO application/dtmf-relay in info mode', async () => {
    const h = await started({ dtmfMode: 'info' });
    const call = h.phone.call('1002');
    await established(call);
    await call.sendDtmf('5');
    const info = await h.server.waitForRequest('INFO');
    expect(info.header('content-type')).toBe('application/dtmf-relay');
    expect(info.body).toBe('Signal=5\r\nDuration=160\r\n');
    const pc = FakeRTCPeerConnection.instances.find((p) => p.localDescription);
    expect((pc?.getTransceivers()[0]?.sender.dtmf as FakeDtmfSender).inserted).toHaveLength(0);
    await expect(call.sendDtmf('x')).rejects.toThrow(/invalid DTMF/);
  });

  it('reports DTMF received by INFO', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    await established(call);
    const digits: string[] = [];
    call.on('dtmf', (d) => digits.push(d.digit));
    h.server.sendInDialog(h.server.requests('INVITE')[0]?.header('call-id') ?? '', 'INFO', {
      contentType: 'application/dtmf-relay',
      body: 'Signal=7\r\nDuration=160\r\n',
    });
    await until(() => digits.length > 0);
    expect(digits).toEqual(['7']);
  });
});

describe('transfer', () => {
  it('blind transfer sends REFER with Refer-To and follows the NOTIFY sipfrag to success', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    await established(call);
    const callId = h.server.requests('INVITE')[0]?.header('call-id') ?? '';
    const progress: string[] = [];
    call.on('transfer', (p) => progress.push(p.state));
    const result = call.blindTransfer('1003');
    const refer = await h.server.waitForRequest('REFER');
    expect(refer.header('refer-to')).toBe('sip:1003@localhost');
    expect(refer.header('referred-by')).toBe('<sip:1001@localhost>');
    expect(refer.header('call-id')).toBe(callId);
    await until(() => progress.includes('accepted'));
    h.server.sendInDialog(callId, 'NOTIFY', {
      headers: ['Event: refer', 'Subscription-State: active;expires=60'],
      contentType: 'message/sipfrag;version=2.0',
      body: 'SIP/2.0 100 Trying\r\n',
    });
    await until(() => progress.includes('trying'));
    h.server.sendInDialog(callId, 'NOTIFY', {
      headers: ['Event: refer', 'Subscription-State: terminated;reason=noresource'],
      contentType: 'message/sipfrag;version=2.0',
      body: 'SIP/2.0 200 OK\r\n',
    });
    await expect(result).resolves.toMatchObject({ kind: 'blind', state: 'succeeded', code: 200 });
    expect(progress).toEqual(['requested', 'accepted', 'trying', 'succeeded']);
    // The transferor leaves once the transferee reached the target.
    await h.server.waitForRequest('BYE');
    await until(() => call.state === 'ended');
  });

  it('blind transfer reports a failed sipfrag and keeps the call', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    await established(call);
    const callId = h.server.requests('INVITE')[0]?.header('call-id') ?? '';
    const result = call.blindTransfer('1099');
    await h.server.waitForRequest('REFER');
    await until(() => call.transfer?.state === 'accepted');
    h.server.sendInDialog(callId, 'NOTIFY', {
      headers: ['Event: refer', 'Subscription-State: terminated'],
      contentType: 'message/sipfrag',
      body: 'SIP/2.0 486 Busy Here',
    });
    await expect(result).resolves.toMatchObject({
      state: 'failed',
      code: 486,
      reason: 'Busy Here',
    });
    expect(call.state).toBe('established');
  });

  it('attended transfer sends Refer-To with Replaces naming the consultation dialog', async () => {
    const h = await started();
    const transferee = h.phone.call('1002');
    await established(transferee);
    await transferee.hold();
    const target = h.phone.call('1003');
    await established(target);
    const targetInvite = h.server
      .requests('INVITE')
      .find((m) => m.requestUri === 'sip:1003@localhost');
    const callId = targetInvite?.header('call-id') ?? '';
    const fromTag = /;tag=([^;>]+)/.exec(targetInvite?.header('from') ?? '')?.[1];
    const toTag = h.server.dialogs.get(callId)?.serverTag;

    void transferee.attendedTransfer(target);
    const refer = await h.server.waitForRequest('REFER');
    expect(refer.header('call-id')).toBe(h.server.requests('INVITE')[0]?.header('call-id'));
    const referTo = refer.header('refer-to') ?? '';
    // The target's AOR, not its Contact (sip:peer@127.0.0.1…, which is not a GRUU).
    expect(referTo).toMatch(/^<sip:1003@localhost\?Replaces=/);
    const replaces = decodeURIComponent(/Replaces=([^>]+)>/.exec(referTo)?.[1] ?? '');
    expect(replaces).toBe(`${callId};to-tag=${toTag};from-tag=${fromTag}`);
  });

  it('refers to the AOR when the peer Contact is a WebRTC .invalid host', async () => {
    const h = await started();
    h.server.handlers.INVITE = (req, ws) => {
      if (/;tag=/.test(req.header('to') ?? '')) return false;
      const contact = ['Contact: <sip:k3j2h@df7jal23ls0d.invalid;transport=ws>'];
      h.server.reply(ws, req, 200, 'OK', {
        toTag: 'tt1',
        body: answerSdp(req.body),
        headers: contact,
      });
      return true;
    };
    const a = h.phone.call('1002');
    await established(a);
    h.server.handlers.INVITE = (req, ws) => {
      if (/;tag=/.test(req.header('to') ?? '')) return false;
      const contact = ['Contact: <sip:zz9@qq.invalid;transport=ws>'];
      h.server.reply(ws, req, 200, 'OK', {
        toTag: 'tt2',
        body: answerSdp(req.body),
        headers: contact,
      });
      return true;
    };
    const b = h.phone.call('1003');
    await established(b);
    expect(Call.replacesReferTo(b as Call)).toMatch(
      /^<sip:1003@localhost\?Replaces=.*to-tag%3Dtt2%3Bfrom-tag%3D/,
    );
  });

  it('refers to the Contact when it is a GRUU (RFC 5627)', async () => {
    const h = await started();
    h.server.handlers.INVITE = (req, ws) => {
      if (/;tag=/.test(req.header('to') ?? '')) return false;
      h.server.reply(ws, req, 200, 'OK', {
        toTag: 'tt3',
        body: answerSdp(req.body),
        headers: ['Contact: <sip:1003@localhost;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>'],
      });
      return true;
    };
    const c = h.phone.call('1003');
    await established(c);
    expect(Call.replacesReferTo(c as Call)).toMatch(
      /^<sip:1003@localhost;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6\?Replaces=/,
    );
  });
});

describe('incoming call', () => {
  it('auto-answers when the INVITE carries Call-Info answer-after=0', async () => {
    const h = await started();
    const callId = h.server.sendInvite('1001', {
      headers: ['Call-Info: <sip:localhost>;answer-after=0'],
    });
    await until(() => (h.events.incomingCall?.length ?? 0) === 1);
    const call = h.events.incomingCall?.[0] as CallHandle;
    expect(call.autoAnswerRequested).toBe(true);
    expect(call.direction).toBe('incoming');
    expect(call.remoteUri).toBe('sip:1002@localhost');
    expect(call.remoteDisplayName).toBe('Bob');
    const ok = await h.server.waitFor(
      (m) => m.statusCode === 200 && m.header('call-id') === callId,
    );
    expect(ok.body).toContain('a=sendrecv');
    await established(call);
  });

  it('auto-answers on Alert-Info info=alert-autoanswer', async () => {
    const h = await started();
    h.server.sendInvite('1001', {
      headers: ['Alert-Info: <http://www.notused.com>;info=alert-autoanswer;delay=0'],
    });
    await until(() => h.events.incomingCall?.[0]?.state === 'established');
  });

  it('auto-answer can be switched on and off while signed in', async () => {
    const h = await started();
    expect(h.phone.autoAnswerEnabled).toBe(false);
    h.phone.setAutoAnswer(true);
    const first = h.server.sendInvite('1001');
    await until(() => h.events.incomingCall?.[0]?.state === 'established');
    const ok = await h.server.waitFor((m) => m.statusCode === 200 && m.header('call-id') === first);
    expect(ok.body).toContain('a=sendrecv');
    // Call waiting: with a call in progress, a second call rings.
    h.server.sendInvite('1001', { from: 'sip:1003@localhost' });
    await until(() => (h.events.incomingCall?.length ?? 0) === 2);
    await new Promise((r) => setTimeout(r, 30));
    expect(h.events.incomingCall?.[1]?.state).toBe('incoming');
    await h.events.incomingCall?.[1]?.decline();
    await h.events.incomingCall?.[0]?.hangup();
    await until(() => h.phone.calls.length === 0);

    h.phone.setAutoAnswer(false);
    h.server.sendInvite('1001');
    await until(() => (h.events.incomingCall?.length ?? 0) === 3);
    await new Promise((r) => setTimeout(r, 30));
    expect(h.events.incomingCall?.[2]?.state).toBe('incoming');
  });

  it('auto-answer from the config applies from the start', async () => {
    const h = await started({ autoAnswer: true });
    expect(h.phone.autoAnswerEnabled).toBe(true);
    h.server.sendInvite('1001');
    await until(() => h.events.incomingCall?.[0]?.state === 'established');
  });

  it('rings without auto-answer headers, and decline() answers 486', async () => {
    const h = await started();
    const callId = h.server.sendInvite('1001');
    await until(() => (h.events.incomingCall?.length ?? 0) === 1);
    const call = h.events.incomingCall?.[0] as CallHandle;
    expect(call.autoAnswerRequested).toBe(false);
    expect(call.state).toBe('incoming');
    await h.server.waitFor((m) => m.statusCode === 180 && m.header('call-id') === callId);
    await call.decline();
    await h.server.waitFor((m) => m.statusCode === 486 && m.header('call-id') === callId);
    await until(() => call.state === 'ended');
    expect(call.endCause).toMatchObject({ code: 486, by: 'local' });
  });

  it('answers on request: incoming → answering → established', async () => {
    const h = await started();
    h.server.sendInvite('1001');
    await until(() => (h.events.incomingCall?.length ?? 0) === 1);
    const call = h.events.incomingCall?.[0] as CallHandle;
    const seen = states(call);
    await call.answer();
    await established(call);
    expect(seen).toEqual(['incoming', 'answering', 'established']);
  });

  it('ends when the caller cancels, with the CANCEL Reason', async () => {
    const h = await started();
    const callId = h.server.sendInvite('1001');
    await until(() => (h.events.incomingCall?.length ?? 0) === 1);
    const call = h.events.incomingCall?.[0] as CallHandle;
    h.server.cancelInvite(callId, 'SIP;cause=200;text="Call completed elsewhere"');
    await until(() => call.state === 'ended');
    expect(call.endCause).toEqual({ code: 487, reason: 'Call completed elsewhere', by: 'remote' });
  });
});

describe('messaging', () => {
  it('receives and sends SIP MESSAGE', async () => {
    const h = await started();
    const target = h.server.bindings.get('1001') ?? '';
    h.server.sendRequest(
      [
        `MESSAGE ${target} SIP/2.0`,
        'Via: SIP/2.0/WSS 127.0.0.1:8443;branch=z9hG4bKm1',
        'Max-Forwards: 70',
        'From: "Bob" <sip:1002@localhost>;tag=m1',
        'To: <sip:1001@localhost>',
        'Call-ID: msg-1',
        'CSeq: 1 MESSAGE',
        'Content-Type: text/plain',
      ],
      'hello',
    );
    await until(() => (h.events.message?.length ?? 0) === 1);
    expect(h.events.message?.[0]).toMatchObject({
      from: 'sip:1002@localhost',
      fromDisplayName: 'Bob',
      body: 'hello',
      contentType: 'text/plain',
    });
    await h.phone.sendMessage('1002', 'hi there');
    const sent = h.server.requests('MESSAGE')[0];
    expect(sent?.requestUri).toBe('sip:1002@localhost');
    expect(sent?.body).toBe('hi there');
  });
});
