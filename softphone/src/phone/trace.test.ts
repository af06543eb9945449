import { describe, expect, it } from 'vitest';
import { TraceRecorder, redactSip } from './trace';

const REGISTER = [
  'REGISTER sip:localhost SIP/2.0',
  'Via: SIP/2.0/WSS abc.invalid;branch=z9hG4bK1',
  'Call-ID: reg-1',
  'CSeq: 3 REGISTER',
  'Authorization: Digest username="1001", realm="localhost", nonce="n1",',
  '  uri="sip:localhost", response="0123456789abcdef0123456789abcdef"',
  'Proxy-Authorization: Digest username="1001", response="fedcba"',
  'Contact: <sip:x@abc.invalid;transport=ws>',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

describe('redactSip', () => {
  it('keeps credential header names and replaces their values, including folded lines', () => {
    const out = redactSip(REGISTER);
    expect(out).toContain('Authorization: [REDACTED]');
    expect(out).toContain('Proxy-Authorization: [REDACTED]');
    expect(out).not.toContain('0123456789abcdef');
    expect(out).not.toContain('fedcba');
    expect(out).not.toContain('uri="sip:localhost"');
    // Everything else survives unchanged.
    expect(out).toContain('Contact: <sip:x@abc.invalid;transport=ws>');
    expect(out.split('\r\n')[0]).toBe('REGISTER sip:localhost SIP/2.0');
  });

  it('removes the password wherever it appears, and password= pairs', () => {
    const text =
      'MESSAGE sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\nmy pass is hunter2 and password=hunter3; {"password":"x"}';
    const out = redactSip(text, ['hunter2']);
    expect(out).not.toContain('hunter2');
    expect(out).not.toContain('hunter3');
    expect(out).not.toContain('"x"');
    expect(out).toContain('[REDACTED]');
  });

  it('does not treat body lines that look like headers as credentials', () => {
    const text = 'MESSAGE sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\nAuthorization: please';
    expect(redactSip(text)).toContain('Authorization: please');
  });
});

describe('TraceRecorder', () => {
  it('records direction, first line, Call-ID and CSeq method, redacted', () => {
    const t = new TraceRecorder(
      () => ['demo-1001-pw'],
      10,
      () => 42,
    );
    const e = t.record('sent', REGISTER);
    expect(e).toMatchObject({
      seq: 1,
      direction: 'sent',
      time: 42,
      firstLine: 'REGISTER sip:localhost SIP/2.0',
      callId: 'reg-1',
      method: 'REGISTER',
    });
    expect(e.text).toContain('Authorization: [REDACTED]');
    const r = t.record('received', 'SIP/2.0 200 OK\r\ni: reg-1\r\nCSeq: 3 REGISTER\r\n\r\n');
    expect(r.callId).toBe('reg-1');
    expect(r.method).toBe('REGISTER');
  });

  it('exportTrace redacts and lists every message in order', () => {
    const t = new TraceRecorder(() => ['demo-1001-pw']);
    t.record('sent', REGISTER);
    t.record('received', 'SIP/2.0 401 Unauthorized\r\nCSeq: 2 REGISTER\r\n\r\n');
    const out = t.exportTrace();
    expect(out.indexOf('>>> sent')).toBeLessThan(out.indexOf('<<< received'));
    expect(out).not.toMatch(/response="/);
    expect(out).toContain('Authorization: [REDACTED]');
  });

  it('keeps at most `limit` entries', () => {
    const t = new TraceRecorder(() => [], 3);
    for (let i = 0; i < 5; i++) t.record('sent', `OPTIONS sip:x SIP/2.0\r\nCall-ID: ${i}\r\n\r\n`);
    expect(t.list().map((e) => e.callId)).toEqual(['2', '3', '4']);
  });
});
