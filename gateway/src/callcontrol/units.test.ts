import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SipStreamFramer } from './framing.js';
import { answerDirection, isHold, joinedPrompt, legParams, placeholderAnswer } from './media.js';
import { dtmfFromInfo, outcomeOf } from './call.js';
import {
  splitSdp,
  splitSupervisorAnswer,
  supervisorOfferSdp,
  talkPlaceholderSdp,
  withConnection,
} from './monitor.js';

const msg = (body = '') =>
  `INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('SIP stream framing', () => {
  it('splits back-to-back messages, waits for a partial body, skips CRLF keep-alives', () => {
    const f = new SipStreamFramer();
    const a = msg('v=0\r\n');
    const b = msg('');
    const wire = Buffer.from(`\r\n\r\n${a}${b}`);
    expect(f.push(wire.subarray(0, 20))).toEqual([]);
    expect(f.push(wire.subarray(20, wire.length - 3))).toEqual([a]);
    expect(f.push(wire.subarray(wire.length - 3))).toEqual([b]);
  });

  it('counts the body in bytes, not characters', () => {
    const body = 'é€\r\n';
    expect(new SipStreamFramer().push(Buffer.from(msg(body)))).toEqual([msg(body)]);
  });

  it('refuses a stream without Content-Length or with an absurd one', () => {
    expect(() => new SipStreamFramer().push(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'))).toThrow(
      /Content-Length/,
    );
    expect(() =>
      new SipStreamFramer().push(Buffer.from('OPTIONS sip:x SIP/2.0\r\nl: 99999999\r\n\r\n')),
    ).toThrow(/refused/);
  });
});

const offer = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 30000 RTP/AVP 8 0 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
  '',
].join('\r\n');

describe('media helpers', () => {
  it('the placeholder answers PCMU and telephone-event out of the offer, RTP to the discard port', () => {
    const sdp = placeholderAnswer(offer, '127.0.0.1');
    expect(sdp).toMatch(/^m=audio 9 RTP\/AVP 0 101$/m);
    expect(sdp).toMatch(/a=rtpmap:101 telephone-event\/8000/);
  });

  it('mirrors a hold offer in the answer (RFC 3264 §8.4)', () => {
    const hold = offer.replace('a=sendrecv', 'a=sendonly');
    expect(isHold(hold)).toBe(true);
    expect(isHold(offer)).toBe(false);
    expect(answerDirection(hold, offer)).toMatch(/a=recvonly/);
    expect(answerDirection(hold, offer)).not.toMatch(/a=sendrecv/);
    expect(answerDirection(offer, hold)).toMatch(/a=sendrecv/);
  });

  it('flags: WebRTC toward a browser, plain RTP toward SIP, DTLS-reverse from a browser, port-latching always', () => {
    expect(legParams(true, false)).toMatchObject({ ICE: 'force', DTLS: 'passive' });
    expect(legParams(false, true)).toMatchObject({ ICE: 'remove', 'DTLS-reverse': 'passive' });
    expect(legParams(false, false).flags).toContain('port-latching');
  });
});

describe('SIP to contact-center words', () => {
  it('maps final responses to offer outcomes', () => {
    expect([486, 600, 603, 480, 404, 408, 487, 500].map(outcomeOf)).toEqual([
      'busy',
      'busy',
      'declined',
      'unavailable',
      'unavailable',
      'no-answer',
      'no-answer',
      'failed',
    ]);
  });

  it('reads INFO digits of both common bodies', () => {
    expect(dtmfFromInfo('Signal=5\r\nDuration=160', 'application/dtmf-relay')).toBe('5');
    expect(dtmfFromInfo('Signal= #', 'application/dtmf-relay')).toBe('#');
    expect(dtmfFromInfo('7', 'application/dtmf')).toBe('7');
    expect(dtmfFromInfo('hello', 'text/plain')).toBeUndefined();
  });
});

describe('prompt lists', () => {
  it('are joined once with sox into one cached file (gapless); a single file is used as it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-join-'));
    const a = join(dir, 'a.wav');
    const b = join(dir, 'b.wav');
    for (const f of [a, b])
      execFileSync('sox', ['-n', '-r', '8000', '-c', '1', f, 'synth', '0.25', 'sine', '440']);
    expect(await joinedPrompt([a], join(dir, 'cache'))).toBe(a);
    const joined = await joinedPrompt([a, b], join(dir, 'cache'));
    expect(joined).toMatch(/cache\/prompt-[0-9a-f]{20}\.wav$/);
    expect(existsSync(joined)).toBe(true);
    expect(Number(execFileSync('soxi', ['-D', joined]).toString())).toBeCloseTo(0.5, 2);
    expect(await joinedPrompt([a, b], join(dir, 'cache'))).toBe(joined);
    await expect(joinedPrompt([a, join(dir, 'missing.wav')], join(dir, 'cache'))).rejects.toThrow(
      /sox could not join/,
    );
  });
});

describe('monitoring SDP (rtpengine 10.5 subscribe request + talk offer)', () => {
  // What rtpengine 10.5.3.5 answered to `subscribe request` with from-tags [caller, agent].
  const subscription = [
    'v=0',
    'o=- 7714053987112758035 7714053987112758035 IN IP4 127.0.0.1',
    's=rtpengine-10-5-3-5-1-deb12u1',
    't=0 0',
    'm=audio 30034 RTP/AVP 0 101',
    'c=IN IP4 127.0.0.1',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=sendonly',
    'a=rtcp:30035',
    'm=audio 30050 RTP/AVP 0 101',
    'c=IN IP4 127.0.0.1',
    'a=rtpmap:0 PCMU/8000',
    'a=sendonly',
    '',
  ].join('\r\n');
  const talk =
    'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
    'm=audio 30068 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\na=rtcp:30069\r\n';

  it('splits an SDP into its session part and media sections', () => {
    const s = splitSdp(subscription.replace(/\r\n/g, '\n'));
    expect(s.session).toMatch(/^v=0\r\n.*t=0 0\r\n$/s);
    expect(s.media.map((m) => /^m=audio (\d+)/.exec(m)?.[1])).toEqual(['30034', '30050']);
    expect(s.media.every((m) => m.endsWith('\r\n'))).toBe(true);
  });

  it("offers the supervisor talk first (with its own c=), then the caller's and the agent's copies", () => {
    const offer = supervisorOfferSdp(subscription, talk);
    expect([...offer.matchAll(/^m=audio (\d+)/gm)].map((m) => m[1])).toEqual([
      '30068',
      '30034',
      '30050',
    ]);
    expect([...offer.matchAll(/^a=(sendrecv|sendonly)/gm)].map((m) => m[1])).toEqual([
      'sendrecv',
      'sendonly',
      'sendonly',
    ]);
    expect(splitSdp(offer).media[0]).toMatch(/^m=audio 30068[^\r]*\r\nc=IN IP4 127\.0\.0\.1\r\n/);
    expect(() => supervisorOfferSdp(talk, talk)).toThrow(/2 subscribed and 1 talk/);
  });

  it("splits the supervisor's answer back into talk and subscription answers", () => {
    const answer =
      'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
      'm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\nm=audio 4002 RTP/AVP 0\r\na=recvonly\r\n' +
      'm=audio 4004 RTP/AVP 0\r\na=recvonly\r\n';
    const { talk: t, subscription: sub } = splitSupervisorAnswer(answer);
    expect([...t.matchAll(/^m=audio (\d+)/gm)].map((m) => m[1])).toEqual(['4000']);
    expect([...sub.matchAll(/^m=audio (\d+)/gm)].map((m) => m[1])).toEqual(['4002', '4004']);
    expect(t).toMatch(/^c=IN IP4 127\.0\.0\.1$/m);
    expect(() => splitSupervisorAnswer(talk)).toThrow(/answered 1 m-lines/);
  });

  it("the talk placeholder offers the caller's codecs, sendrecv, to the discard port", () => {
    const p = talkPlaceholderSdp(subscription, '127.0.0.1');
    expect(p).toMatch(/^m=audio 9 RTP\/AVP 0 101$/m);
    expect(p).toMatch(/^a=rtpmap:101 telephone-event\/8000$/m);
    expect(p).toMatch(/^a=sendrecv$/m);
    expect(p).not.toMatch(/a=rtcp:|a=sendonly/);
  });

  it('adds a session c= to a media section that has none, and keeps one that has', () => {
    const session = 'v=0\r\nc=IN IP4 10.0.0.1\r\n';
    expect(withConnection('m=audio 1 RTP/AVP 0\r\n', session)).toBe(
      'm=audio 1 RTP/AVP 0\r\nc=IN IP4 10.0.0.1\r\n',
    );
    const own = 'm=audio 1 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\n';
    expect(withConnection(own, session)).toBe(own);
  });
});
