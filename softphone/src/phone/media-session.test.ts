import { afterEach, describe, expect, it } from 'vitest';
import { withoutAudioSsrc } from './media-session';
import type { Phone } from './phone';
import { answerSdp } from './testing/fake-sip-server';
import { FakeRTCPeerConnection } from './testing/fake-webrtc';
import { makePhone, until } from './testing/harness';

// A far end's a=ssrc in an audio m-line is dropped before the browser sees it:
// rtpengine passes a carrier's a=ssrc through but sends its own SSRC once it
// transcodes, and Chromium then plays the audio nowhere (media-session.ts).

const CARRIER_ANSWER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=audio 22216 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 127.0.0.1',
  'a=mid:0',
  'a=sendrecv',
  'a=rtpmap:111 opus/48000/2',
  'a=ssrc:1807690468 cname:sip:+15551230000@localhost',
  'a=ssrc-group:FID 1807690468 1807690469',
  'm=video 22218 UDP/TLS/RTP/SAVPF 96 97',
  'c=IN IP4 127.0.0.1',
  'a=mid:1',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=ssrc-group:FID 11 12',
  'a=ssrc:11 cname:x',
  'a=ssrc:12 cname:x',
  '',
].join('\r\n');

describe('withoutAudioSsrc', () => {
  it('drops a=ssrc and a=ssrc-group from audio m-lines only, keeping CRLF', () => {
    const out = withoutAudioSsrc(CARRIER_ANSWER);
    const [, audio = '', video = ''] = out.split('\r\nm=');
    expect(audio).not.toMatch(/a=ssrc/);
    expect(audio).toMatch(/a=rtpmap:111 opus\/48000\/2$/);
    expect(video).toContain('a=ssrc-group:FID 11 12\r\na=ssrc:11 cname:x\r\na=ssrc:12 cname:x\r\n');
    expect(out).not.toMatch(/[^\r]\n/);
    expect(out.split('\r\n').length).toBe(CARRIER_ANSWER.split('\r\n').length - 2);
  });

  it('leaves an SDP without a=ssrc as it is (LF line ends too)', () => {
    const sdp = answerSdp('a=sendrecv');
    expect(withoutAudioSsrc(sdp)).toBe(sdp);
    const lf = CARRIER_ANSWER.replace(/\r\n/g, '\n');
    expect(withoutAudioSsrc(lf)).toBe(withoutAudioSsrc(CARRIER_ANSWER).replace(/\r\n/g, '\n'));
  });
});

describe('the far end SDP the browser gets', () => {
  let phone: Phone | undefined;
  afterEach(async () => {
    await phone?.stop();
    phone = undefined;
  });

  const withSsrc = (sdp: string) =>
    sdp.replace(
      'a=rtpmap:111 opus/48000/2\r\n',
      'a=rtpmap:111 opus/48000/2\r\na=ssrc:42 cname:c\r\n',
    );
  const remoteSdp = () =>
    FakeRTCPeerConnection.instances.find((p) => p.remoteDescription && !p.closed)?.remoteDescription
      ?.sdp;

  it('has no audio a=ssrc in the answer to our INVITE', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    h.server.handlers.INVITE = (req, ws) => {
      if (/;tag=/.test(req.header('to') ?? '')) return false;
      h.server.reply(ws, req, 200, 'OK', {
        toTag: 'ss1',
        body: withSsrc(answerSdp(req.body)),
        headers: ['Contact: <sip:carrier@127.0.0.1>'],
      });
      return true;
    };
    const call = h.phone.call('+15551230000');
    await until(() => call.state === 'established');
    expect(withSsrc(answerSdp('a=sendrecv'))).toMatch(/a=ssrc:42/);
    expect(remoteSdp()).toMatch(/a=rtpmap:111 opus/);
    expect(remoteSdp()).not.toMatch(/a=ssrc/);
  });

  it('has no audio a=ssrc in an incoming offer', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    h.server.sendInvite('1001', { body: withSsrc(answerSdp('a=sendrecv')) });
    await until(() => (h.events.incomingCall?.length ?? 0) === 1);
    await h.events.incomingCall?.[0]?.answer();
    await until(() => h.events.incomingCall?.[0]?.state === 'established');
    expect(remoteSdp()).toMatch(/a=rtpmap:111 opus/);
    expect(remoteSdp()).not.toMatch(/a=ssrc/);
  });
});
