import { describe, expect, it } from 'vitest';
import { callRecords, parseMessageLog } from './messages.js';

const entry = (time: string, dir: 'sent' | 'received', text: string) =>
  `----------------------------------------------- 2026-11-30 ${time}\nUDP message ${dir === 'sent' ? 'sent (100 bytes)' : 'received [100] bytes'} :\n\n${text}\n\n`;

const msg = (first: string, cseq: string, extra = '', body = '') =>
  `${first}\nVia: SIP/2.0/UDP 127.0.0.1:5070\nCall-ID: abc@1\nCSeq: ${cseq}\n${extra}Content-Length: ${body.length}\n\n${body}`;

const sdp = (port: number) =>
  `v=0\no=x 1 1 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio ${port} RTP/AVP 0\n`;

const log = [
  entry('10:00:00.000000', 'sent', msg('INVITE sip:1002@x SIP/2.0', '1 INVITE', '', sdp(4000))),
  entry(
    '10:00:00.002000',
    'received',
    msg('SIP/2.0 407 Proxy Authentication Required', '1 INVITE'),
  ),
  entry('10:00:00.003000', 'sent', msg('ACK sip:1002@x SIP/2.0', '1 ACK')),
  entry('10:00:00.004000', 'sent', msg('INVITE sip:1002@x SIP/2.0', '2 INVITE', '', sdp(4000))),
  entry('10:00:00.150000', 'received', msg('SIP/2.0 180 Ringing', '2 INVITE')),
  entry(
    '10:00:00.400000',
    'received',
    msg('SIP/2.0 200 OK', '2 INVITE', 'Server: pbx\n', sdp(30000)),
  ),
  entry('10:00:00.401000', 'sent', msg('ACK sip:1002@y SIP/2.0', '2 ACK')),
  entry('10:00:00.500000', 'sent', msg('INFO sip:1002@y SIP/2.0', '3 INFO', '', 'Signal=5\n')),
  entry('10:00:03.401000', 'sent', msg('BYE sip:1002@y SIP/2.0', '4 BYE')),
].join('');

describe('sipp message log', () => {
  it('parses time, direction, first line, Call-ID and CSeq method', () => {
    const m = parseMessageLog(log);
    expect(m).toHaveLength(9);
    expect(m[1]).toMatchObject({
      dir: 'received',
      code: 407,
      cseqMethod: 'INVITE',
      callId: 'abc@1',
    });
    expect(m[5]!.t - m[0]!.t).toBe(400);
    expect(m[5]!.body).toContain('m=audio 30000');
  });

  it('one record per call: PDD from the first INVITE to 180 (challenge excluded), final, media, BYE', () => {
    const [r] = callRecords(parseMessageLog(log));
    expect(r).toMatchObject({
      method: 'INVITE',
      side: 'uac',
      finalCode: 200,
      pddMs: 150,
      durationMs: 3001,
      hangupBy: 'self',
      byeAnswered: false,
      remoteMedia: { ip: '127.0.0.1', port: 30000 },
      localMedia: { ip: '127.0.0.1', port: 4000 },
    });
    expect(r!.finalText).toContain('Server: pbx');
  });

  it('the callee side: INFO digits received, BYE from the far end answered', () => {
    const flip = log
      .replace(/message sent \(100 bytes\)/g, 'TMP')
      .replace(/message received \[100\] bytes/g, 'message sent (100 bytes)')
      .replace(/TMP/g, 'message received [100] bytes');
    const withOk = flip + entry('10:00:03.402000', 'sent', msg('SIP/2.0 200 OK', '4 BYE'));
    const [r] = callRecords(parseMessageLog(withOk));
    expect(r).toMatchObject({
      side: 'uas',
      hangupBy: 'remote',
      byeAnswered: true,
      infoDigits: '5',
    });
  });
});
