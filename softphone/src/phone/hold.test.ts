import { afterEach, describe, expect, it } from 'vitest';
import { fitAnswerDirections } from './media-session';
import type { Phone } from './phone';
import { answerSdp } from './testing/fake-sip-server';
import { FakeRTCPeerConnection } from './testing/fake-webrtc';
import type { FakeTrack } from './testing/fake-webrtc';
import { makePhone, until } from './testing/harness';
import type { CallHandle, PhoneConfig } from './types';

let phone: Phone | undefined;
afterEach(async () => {
  await phone?.stop();
  phone = undefined;
});

async function inCall(config: Partial<PhoneConfig> = {}) {
  const h = makePhone(config);
  phone = h.phone;
  await h.phone.start();
  const call = h.phone.call('1002');
  await until(() => call.state === 'established');
  const pc = FakeRTCPeerConnection.instances.find((p) => p.localDescription && !p.closed);
  if (!pc) throw new Error('no peer connection');
  /** What the audio (or video) sender carries right now. */
  const sent = (kind: 'audio' | 'video' = 'audio') =>
    pc.getTransceivers().find((t) => t.kind === kind)?.sender.track as FakeTrack | null;
  return { ...h, call, pc, sent };
}

const callId = (h: Awaited<ReturnType<typeof inCall>>) =>
  h.server.requests('INVITE')[0]?.header('call-id') ?? '';

describe('hold stops our outgoing media', () => {
  it('disables the audio we send while held and enables it again on resume', async () => {
    const h = await inCall();
    const mic = h.sent();
    expect(mic?.enabled).toBe(true);

    await h.call.hold();
    expect(h.call.state).toBe('held');
    expect(h.server.requests('INVITE')[1]?.body).toMatch(/a=sendonly/);
    // Same track (no renegotiation), but silent: the held party hears nothing.
    expect(h.sent()).toBe(mic);
    expect(mic?.enabled).toBe(false);
    // Hold is not the user's mute.
    expect(h.call.muted).toBe(false);

    await h.call.unhold();
    expect(h.call.state).toBe('established');
    expect(mic?.enabled).toBe(true);
    expect(h.call.muted).toBe(false);
  });

  it('is silent from the moment hold() is called, before the far end answers', async () => {
    const h = await inCall();
    h.server.handlers.INVITE = () => true; // the re-INVITE stays unanswered
    void h.call.hold().catch(() => undefined);
    await h.server.waitForRequest('INVITE', 1);
    expect(h.sent()?.enabled).toBe(false);
  });

  it('keeps the user’s mute apart: resume does not unmute, and a mute while held sticks', async () => {
    const h = await inCall();
    const mic = h.sent();
    h.call.mute();
    await h.call.hold();
    expect(mic?.enabled).toBe(false);
    await h.call.unhold();
    expect(h.call.muted).toBe(true);
    expect(mic?.enabled).toBe(false);
    h.call.unmute();
    expect(mic?.enabled).toBe(true);

    await h.call.hold();
    h.call.mute();
    expect(h.call.muted).toBe(true);
    await h.call.unhold();
    expect(mic?.enabled).toBe(false);
    // Unmuting while held does not send before the resume.
    h.call.unmute();
    await h.call.hold();
    h.call.unmute();
    expect(mic?.enabled).toBe(false);
    await h.call.unhold();
    expect(mic?.enabled).toBe(true);
  });

  it('stops the camera we send too', async () => {
    const h = await inCall();
    await h.call.startVideo();
    const camera = h.sent('video');
    expect(camera?.kind).toBe('video');
    expect(camera?.enabled).toBe(true);
    await h.call.hold();
    expect(camera?.enabled).toBe(false);
    await h.call.unhold();
    expect(camera?.enabled).toBe(true);
  });

  it('sends again when the far end refuses the hold (the call stays established)', async () => {
    const h = await inCall();
    h.server.handlers.INVITE = (req, ws) => {
      if (!/;tag=/.test(req.header('to') ?? '')) return false;
      h.server.reply(ws, req, 488, 'Not Acceptable Here');
      return true;
    };
    await expect(h.call.hold()).rejects.toThrow(/488/);
    expect(h.call.state).toBe('established');
    expect(h.sent()?.enabled).toBe(true);
  });
});

describe('a far end whose answer to the hold does not fit', () => {
  it('answers a=sendonly with a=sendrecv (sipp echo): the call stays up and is held', async () => {
    const h = await inCall();
    h.server.reinviteAnswerDirection = 'sendrecv';
    await h.call.hold();
    expect(h.call.state).toBe('held');
    expect(h.sent()?.enabled).toBe(false);
    // Read as a=recvonly, which the browser accepts; the re-INVITE was ACKed, no BYE.
    expect(h.pc.remoteDescription?.sdp).toMatch(/a=recvonly/);
    await h.server.waitFor((m) => m.method === 'ACK' && /^2 ACK/.test(m.header('cseq') ?? ''));
    expect(h.server.requests('BYE')).toHaveLength(0);

    await h.call.unhold();
    expect(h.call.state).toBe('established');
    expect(h.sent()?.enabled).toBe(true);
    expect(h.server.requests('INVITE')[2]?.body).toMatch(/a=sendrecv/);
    expect(h.server.requests('BYE')).toHaveLength(0);
  });

  it('an answer the browser refuses anyway is rolled back: held locally, the call goes on', async () => {
    const h = await inCall();
    h.pc.refuseNextAnswer = 'Failed to set remote answer sdp: something else';
    await h.call.hold();
    expect(h.call.state).toBe('held');
    expect(h.pc.rollbacks).toBe(1);
    expect(h.pc.signalingState).toBe('stable');
    expect(h.sent()?.enabled).toBe(false);
    await until(() => h.server.requests('ACK').length >= 2);
    expect(h.server.requests('BYE')).toHaveLength(0);

    // Other re-INVITEs report the failure, and keep the call too.
    h.pc.refuseNextAnswer = 'Failed to set remote answer sdp: nope';
    await expect(h.call.unhold()).rejects.toThrow(/not usable.*nope/);
    expect(h.call.state).toBe('held');
    expect(h.sent()?.enabled).toBe(false);
    await h.call.unhold();
    expect(h.call.state).toBe('established');
    expect(h.sent()?.enabled).toBe(true);
    expect(h.server.requests('BYE')).toHaveLength(0);

    // Still a working dialog: the far end can hang up normally.
    h.server.sendInDialog(callId(h), 'BYE');
    await until(() => h.call.state === 'ended');
    expect((h.call as CallHandle).endCause).toMatchObject({ by: 'remote' });
  });

  it('an unusable answer to the first INVITE still ends the call', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    h.server.handlers.INVITE = (req, ws) => {
      if (/;tag=/.test(req.header('to') ?? '')) return false;
      const pc = FakeRTCPeerConnection.instances.find(
        (p) => p.signalingState === 'have-local-offer',
      );
      if (pc) pc.refuseNextAnswer = 'Failed to set remote answer sdp: bad';
      h.server.reply(ws, req, 200, 'OK', {
        toTag: 'x1',
        body: answerSdp(req.body),
        headers: ['Contact: <sip:peer@127.0.0.1:5060;transport=ws>'],
      });
      return true;
    };
    const call = h.phone.call('1002');
    await until(() => call.state === 'ended');
    expect(call.endCause?.reason).toMatch(/bad/);
  });
});

describe('fitAnswerDirections', () => {
  const offer = (dir: string) =>
    ['v=0', 's=-', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', `a=${dir}`, 'm=video 0 RTP/AVP 96', ''].join(
      '\r\n',
    );
  const answer = (dir: string | undefined) =>
    [
      'v=0',
      's=-',
      'm=audio 4000 RTP/SAVPF 111',
      'a=rtpmap:111 opus/48000/2',
      ...(dir ? [`a=${dir}`] : []),
      'm=video 0 RTP/AVP 96',
      '',
    ].join('\r\n');

  it('reads a=sendrecv (or no direction) to our a=sendonly as a=recvonly', () => {
    expect(fitAnswerDirections(answer('sendrecv'), offer('sendonly'))).toBe(answer('recvonly'));
    expect(fitAnswerDirections(answer(undefined), offer('sendonly'))).toBe(answer('recvonly'));
    expect(fitAnswerDirections(answer('sendonly'), offer('sendonly'))).toBe(answer('inactive'));
    expect(fitAnswerDirections(answer('sendrecv'), offer('inactive'))).toBe(answer('inactive'));
  });

  it('leaves fitting answers alone', () => {
    for (const dir of ['sendrecv', 'sendonly', 'recvonly', 'inactive'])
      expect(fitAnswerDirections(answer(dir), offer('sendrecv'))).toBe(answer(dir));
    expect(fitAnswerDirections(answer('recvonly'), offer('sendonly'))).toBe(answer('recvonly'));
  });
});
