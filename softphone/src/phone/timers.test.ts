import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Phone } from './phone';
import { answerSdp } from './testing/fake-sip-server';
import { FakeRTCPeerConnection } from './testing/fake-webrtc';
import { makePhone } from './testing/harness';
import type { CallHandle, PhoneConfig } from './types';

let phone: Phone | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await phone?.stop();
  phone = undefined;
});

const tick = (ms = 1) => vi.advanceTimersByTimeAsync(ms);

async function started(config: Partial<PhoneConfig> = {}) {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
  const h = makePhone(config);
  phone = h.phone;
  const p = h.phone.start();
  await tick(10);
  await p;
  return h;
}

describe('RFC 4028 session timers', () => {
  it('asks for Session-Expires and refreshes at half the interval when it is the refresher', async () => {
    const h = await started({ pbxPreset: 'asterisk' });
    h.server.handlers.INVITE = (req, ws) => {
      const inDialog = /;tag=/.test(req.header('to') ?? '');
      h.server.reply(ws, req, 200, 'OK', {
        toTag: 'st1',
        body: answerSdp(req.body),
        headers: [
          'Contact: <sip:peer@127.0.0.1>',
          'Session-Expires: 120;refresher=uac',
          'Require: timer',
        ],
      });
      return inDialog || true;
    };
    const call = h.phone.call('1002');
    await tick(50);
    expect(call.state).toBe('established');
    const invite = h.server.requests('INVITE')[0];
    expect(invite?.header('session-expires')).toBe('1800');
    expect(invite?.header('supported')).toMatch(/\btimer\b/);
    await tick(59_000);
    expect(h.server.requests('INVITE')).toHaveLength(1);
    await tick(1_100);
    const refresh = h.server.requests('INVITE')[1];
    expect(refresh?.header('call-id')).toBe(invite?.header('call-id'));
    expect(refresh?.header('session-expires')).toBe('120;refresher=uac');
    expect(call.state).toBe('established');
  });

  it('hangs up when the far end, as refresher, lets the session expire', async () => {
    const h = await started({ pbxPreset: 'asterisk' });
    h.server.handlers.INVITE = (req, ws) => {
      h.server.reply(ws, req, 200, 'OK', {
        toTag: 'st2',
        body: answerSdp(req.body),
        headers: ['Contact: <sip:peer@127.0.0.1>', 'Session-Expires: 90;refresher=uas'],
      });
      return true;
    };
    const call = h.phone.call('1002');
    await tick(50);
    expect(call.state).toBe('established');
    // BYE at Session-Expires − min(32, 90/3) = 60 s
    await tick(59_000);
    expect(h.server.requests('BYE')).toHaveLength(0);
    await tick(1_100);
    expect(h.server.requests('BYE')).toHaveLength(1);
    await tick(10);
    expect(call.endCause).toMatchObject({
      code: 408,
      reason: 'Session timer expired',
      by: 'system',
    });
  });

  it('lets a timer-capable caller refresh an incoming call (refresher=uac, Require: timer)', async () => {
    const h = await started({ pbxPreset: 'asterisk' });
    const callId = h.server.sendInvite('1001', {
      headers: ['Session-Expires: 300', 'Supported: timer'],
    });
    await tick(20);
    const call = h.events.incomingCall?.[0] as CallHandle;
    await call.answer();
    await tick(20);
    const ok = h.server.received.find(
      (m) => m.statusCode === 200 && m.header('call-id') === callId,
    );
    expect(ok?.header('session-expires')).toBe('300;refresher=uac');
    expect(ok?.header('require')).toBe('timer');
  });

  it('sends no session timer headers for Kamailio (timers off)', async () => {
    const h = await started({ pbxPreset: 'kamailio' });
    h.phone.call('1002');
    await tick(50);
    expect(h.server.requests('INVITE')[0]?.header('session-expires')).toBeUndefined();
  });
});

describe('media recovery', () => {
  it('restarts ICE with a re-INVITE when the ICE connection fails', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    await tick(50);
    expect(call.state).toBe('established');
    const pc = FakeRTCPeerConnection.instances.find((p) => p.localDescription);
    pc?.setIceConnectionState('failed');
    await tick(50);
    expect(h.server.requests('INVITE')).toHaveLength(2);
    expect(pc?.offerOptions.at(-1)).toEqual({ iceRestart: true });
  });

  it('restarts ICE when the browser moves the media to another pair by itself (ICE still connected)', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    await tick(50);
    expect(call.state).toBe('established');
    const pc = FakeRTCPeerConnection.instances.find((p) => p.localDescription)!;
    pc.setIceConnectionState('connected');
    pc.iceTransport.selectPair(50000);
    // An early switch to a better pair is the browser settling: no restart.
    await tick(1000);
    pc.iceTransport.selectPair(50002);
    await tick(50);
    expect(h.server.requests('INVITE')).toHaveLength(1);
    // Later, its host path died and it moved to a relay pair: the far end must follow.
    await tick(10_000);
    pc.iceTransport.selectPair(50004, 'relay');
    await tick(50);
    expect(h.server.requests('INVITE')).toHaveLength(2);
    expect(pc.offerOptions.at(-1)).toEqual({ iceRestart: true });
    // The pair chosen after the restart is the new baseline, not another move.
    pc.iceTransport.selectPair(50006, 'relay');
    await tick(50);
    expect(h.server.requests('INVITE')).toHaveLength(2);
  });

  it('waits out a short ICE disconnection before restarting', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    await tick(50);
    const pc = FakeRTCPeerConnection.instances.find((p) => p.localDescription);
    pc?.setIceConnectionState('disconnected');
    await tick(1000);
    pc?.setIceConnectionState('connected');
    await tick(5000);
    expect(h.server.requests('INVITE')).toHaveLength(1);
    pc?.setIceConnectionState('disconnected');
    await tick(3100);
    expect(h.server.requests('INVITE')).toHaveLength(2);
    expect(call.state).toBe('established');
  });

  it('moves live calls to a newly selected microphone without renegotiating', async () => {
    const h = await started();
    const call = h.phone.call('1002');
    await tick(50);
    const pc = FakeRTCPeerConnection.instances.find((p) => p.localDescription);
    const before = pc?.getTransceivers()[0]?.sender.track;
    h.phone.devices.select('microphone', 'mic-2');
    await tick(10);
    const after = pc?.getTransceivers()[0]?.sender.track;
    expect(after).not.toBe(before);
    expect(before?.readyState).toBe('ended');
    expect(h.mediaDevices.getUserMediaCalls.at(-1)?.audio).toMatchObject({
      deviceId: { exact: 'mic-2' },
    });
    expect(h.server.requests('INVITE')).toHaveLength(1);
    expect(call.localStream?.getAudioTracks()).toEqual([after]);
  });
});
