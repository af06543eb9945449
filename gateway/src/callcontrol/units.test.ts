import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SipStreamFramer } from './framing.js';
import { answerDirection, isHold, joinedPrompt, legParams, placeholderAnswer } from './media.js';
import { dtmfFromInfo, outcomeOf } from './call.js';

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
