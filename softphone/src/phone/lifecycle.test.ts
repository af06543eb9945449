import { afterEach, describe, expect, it } from 'vitest';
import type { Phone } from './phone';
import { makePhone, until } from './testing/harness';

let phone: Phone | undefined;
afterEach(async () => {
  await phone?.stop();
  phone = undefined;
});

describe('phone lifecycle', () => {
  it('can be stopped and started again', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    await h.phone.stop();
    expect(h.phone.connection.state).toBe('disconnected');
    await h.phone.start();
    expect(h.phone.registration.state).toBe('registered');
    expect(h.server.bindings.has('1001')).toBe(true);
  });

  it('ends a call whose microphone is refused, with the reason, and sends no INVITE', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    h.mediaDevices.getUserMedia = async () => {
      throw new DOMException('Permission denied', 'NotAllowedError');
    };
    const call = h.phone.call('1002');
    await until(() => call.state === 'ended');
    expect(call.endCause).toMatchObject({ reason: 'Permission denied', by: 'system' });
    expect(h.server.requests('INVITE')).toHaveLength(0);
    expect(h.phone.calls).toHaveLength(0);
  });

  it('refuses to call while disconnected and rejects bad targets', async () => {
    const h = makePhone();
    phone = h.phone;
    expect(() => h.phone.call('1002')).toThrow(/not connected/);
    await h.phone.start();
    expect(() => h.phone.call('  ')).toThrow(/empty/);
  });
});

describe('presence', () => {
  it('subscribes to the presence package and reports PIDF status', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    h.server.handlers.SUBSCRIBE = (req, ws) => {
      h.server.reply(ws, req, 200, 'OK', {
        toTag: 'p1',
        headers: ['Expires: 600', 'Contact: <sip:pres@127.0.0.1>'],
      });
      const contact = /<([^>]+)>/.exec(req.header('contact') ?? '')?.[1] ?? '';
      const body =
        '<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:1002@localhost">' +
        '<tuple id="t1"><status><basic>open</basic></status><note>On the phone</note></tuple></presence>';
      h.server.sendRequest(
        [
          `NOTIFY ${contact} SIP/2.0`,
          'Via: SIP/2.0/WSS 127.0.0.1:8443;branch=z9hG4bKn1',
          'Max-Forwards: 70',
          `From: ${req.header('to')};tag=p1`,
          `To: ${req.header('from')}`,
          `Call-ID: ${req.header('call-id')}`,
          'CSeq: 1 NOTIFY',
          'Event: presence',
          'Subscription-State: active;expires=600',
          'Contact: <sip:pres@127.0.0.1>',
          'Content-Type: application/pidf+xml',
        ],
        body,
      );
      return true;
    };
    const sub = h.phone.subscribePresence('1002');
    const subscribe = await h.server.waitForRequest('SUBSCRIBE');
    expect(subscribe.header('event')).toBe('presence');
    expect(subscribe.header('accept')).toBe('application/pidf+xml');
    await until(() => (h.events.presence?.length ?? 0) > 0);
    expect(h.events.presence?.[0]).toEqual({
      target: 'sip:1002@localhost',
      status: 'open',
      note: 'On the phone',
      subscription: 'active',
    });
    expect(sub.target).toBe('sip:1002@localhost');
  });
});

describe('presence across reconnects', () => {
  it('waits for the connection and subscribes again after a reconnect', async () => {
    const h = makePhone({ reconnect: { initialDelayMs: 10, maxDelayMs: 20 } });
    phone = h.phone;
    const sub = h.phone.subscribePresence('1003');
    expect(sub.target).toBe('sip:1003@localhost');
    await h.phone.start();
    await h.server.waitForRequest('SUBSCRIBE');
    h.server.socket.drop();
    await h.server.waitForRequest('SUBSCRIBE', 1);
    expect(h.server.sockets).toHaveLength(2);
    const second = h.server.requests('SUBSCRIBE')[1];
    expect(second?.header('call-id')).not.toBe(
      h.server.requests('SUBSCRIBE')[0]?.header('call-id'),
    );
    await sub.unsubscribe();
  });
});

describe('video', () => {
  it('falls back to audio when the camera cannot be opened', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    const gum = h.mediaDevices.getUserMedia.bind(h.mediaDevices);
    h.mediaDevices.getUserMedia = async (c) => {
      if (c.video) throw new DOMException('Requested device not found', 'NotFoundError');
      return gum(c);
    };
    const call = h.phone.call('1002', { video: true });
    await until(() => call.state === 'established');
    expect(call.video).toBe(false);
    expect(h.server.requests('INVITE')[0]?.body).not.toContain('m=video');
  });

  it('adds video mid-call with a re-INVITE and removes it again', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    const call = h.phone.call('1002');
    await until(() => call.state === 'established');
    await call.startVideo();
    expect(call.video).toBe(true);
    expect(h.server.requests('INVITE')[1]?.body).toMatch(/m=video[\s\S]*a=sendrecv/);
    await call.stopVideo();
    expect(call.video).toBe(false);
    expect(h.server.requests('INVITE')[2]?.body).toMatch(/m=video[\s\S]*a=recvonly/);
    expect(call.localStream?.getVideoTracks()).toHaveLength(0);
  });

  it('shares the screen by replacing the camera track, without renegotiation', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    const call = h.phone.call('1002', { video: true });
    await until(() => call.state === 'established');
    expect(call.video).toBe(true);
    await call.startScreenShare();
    expect(call.screenSharing).toBe(true);
    expect(call.localStream?.getVideoTracks().map((t) => t.label)).toEqual(['Screen']);
    expect(h.server.requests('INVITE')).toHaveLength(1);
    await call.stopScreenShare();
    expect(call.screenSharing).toBe(false);
    expect(call.video).toBe(true);
    expect(call.localStream?.getVideoTracks().map((t) => t.label)).toEqual(['Fake camera']);
    expect(h.server.requests('INVITE')).toHaveLength(1);
  });

  it('adds a video m-line for a screen share on an audio-only call', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    const call = h.phone.call('1002');
    await until(() => call.state === 'established');
    await call.startScreenShare();
    expect(h.server.requests('INVITE')[1]?.body).toMatch(/m=video[\s\S]*a=sendrecv/);
    await call.stopScreenShare();
    expect(call.video).toBe(false);
    expect(h.server.requests('INVITE')[2]?.body).toMatch(/m=video[\s\S]*a=recvonly/);
  });
});
