import { describe, expect, it } from 'vitest';
import { parseScenario } from '../scenario/load.js';
import { offerHas, uacCall, uacOptions, uacRegister, uas } from './generate.js';

const scenario = parseScenario(
  `
name: t
legs:
  - id: callee
    role: uas
    codecs: [PCMU, PCMA]
    answer: { code: 200, ring_ms: 250 }
    media: { tone_hz: 600 }
  - id: caller
    role: uac
    to: '2001'
    hold_ms: 3000
    codecs: [PCMA]
    media: { tone_hz: 1000, info_dtmf: '5#' }
    hold: { at_ms: 500, duration_ms: 1000 }
`,
  't.yaml',
);
const [callee, caller] = scenario.legs;

/** The XML has balanced scenario tags and every CDATA block is closed. */
function wellFormed(xml: string): void {
  expect(xml.startsWith('<?xml')).toBe(true);
  expect(xml.match(/<!\[CDATA\[/g)?.length).toBe(xml.match(/\]\]>/g)?.length);
  expect(xml.match(/<scenario /g)?.length).toBe(1);
  expect(xml.trim().endsWith('</scenario>')).toBe(true);
  // every jump target exists
  for (const m of xml.matchAll(/next="([^"]+)"/g)) expect(xml).toContain(`<label id="${m[1]}" />`);
  // sipp 3.6.1 refuses a timewait anywhere but last
  const tw = xml.indexOf('<timewait');
  if (tw >= 0) expect(xml.slice(tw)).toMatch(/^<timewait[^>]*\/>\s*<\/scenario>\s*$/);
}

describe('YAML → sipp XML', () => {
  it('caller: INVITE with the leg codecs, digest on 401/407, allowed finals only, ACK/BYE on the route set', () => {
    const xml = uacCall(caller!, { finals: [200, 486], toneFile: 'tone-1000.ulaw' });
    wellFormed(xml);
    expect(xml).toContain('INVITE sip:[service]@[field2] SIP/2.0');
    expect(xml).toContain('m=audio [rtpstream_audio_port] RTP/AVP 8 101');
    expect(xml).toContain('a=rtpmap:8 PCMA/8000');
    expect(xml).toMatch(/<recv response="407" optional="true" auth="true" next="challenged" \/>/);
    expect(xml).toContain('[authentication]');
    expect(xml).toMatch(/<recv response="200" optional="true" rrs="true" next="ok" \/>/);
    expect(xml).toMatch(/<recv response="486" next="refused" \/>/);
    expect(xml).not.toMatch(/response="487"/);
    expect(xml).toContain('<exec rtp_stream="tone-1000.ulaw,-1,0" />');
    expect(xml).toContain('BYE [next_url] SIP/2.0');
    expect(xml).toContain('[routes]');
    // hold: sendonly re-INVITE, then a sendrecv one; stream paused and resumed
    expect(xml).toContain('a=sendonly');
    expect(xml).toContain('<exec rtp_stream="pause" />');
    expect(xml).toContain('<exec rtp_stream="resume" />');
    // INFO DTMF, one request per digit
    expect(xml.match(/Signal=/g)?.length).toBe(2);
    expect(xml).toContain('Signal=#');
    // the hang-up pause is what is left of hold_ms after hold (1500) and DTMF
    expect(xml).toContain('<pause milliseconds="1500" />');
    // a BYE that is never answered ends the wait (calltest reports it)
    expect(xml).toMatch(
      /<recv response="200" crlf="true" timeout="5000" ontimeout="end" next="end" \/>/,
    );
  });

  it('cancel: CANCEL after ringing, then 487', () => {
    const leg = { ...caller!, cancel_after_ms: 400, hold: undefined };
    const xml = uacCall(leg, { finals: [487] });
    wellFormed(xml);
    expect(xml).toContain('<pause milliseconds="400" />');
    expect(xml).toContain('CANCEL sip:[service]@[field2] SIP/2.0');
    expect(xml).toContain('CSeq: [last_cseq_number] CANCEL');
    expect(xml).toMatch(/<recv response="487" next="refused" \/>/);
  });

  it('callee: 488 unless the offer has one of its codecs, rings, answers, keeps the call until BYE', () => {
    const xml = uas(callee!, { finals: [200], toneFile: 'tone-600.ulaw' });
    wellFormed(xml);
    expect(xml).toContain(`regexp="${offerHas('PCMU')}"`);
    expect(xml).toContain(`regexp="${offerHas('PCMA')}"`);
    expect(xml).toContain('<nop test="codec0" next="accept" />');
    expect(xml).toContain('<nop test="codec1" next="accept" />');
    expect(xml).toContain('SIP/2.0 488 Not Acceptable Here');
    expect(xml).toContain('SIP/2.0 180 Ringing');
    expect(xml).toContain('<pause milliseconds="250" />');
    expect(xml).toContain('m=audio [rtpstream_audio_port] RTP/AVP 0 8 101');
    expect(xml).toContain('<recv request="BYE" timeout="3600000" />');
    // the group's first recv sets its wait: a call held past -recv_timeout (15 s) stays up
    expect(xml).toContain(
      '<recv request="INVITE" optional="true" next="reinvite" timeout="3600000" />',
    );
  });

  it('codec regexes match the offers they should (POSIX ERE, as sipp uses)', () => {
    const re = (c: string) => new RegExp(offerHas(c));
    const offer = 'v=0\r\nm=audio 4000 RTP/AVP 18 0 101\r\na=rtpmap:0 PCMU/8000\r\n';
    expect(re('PCMU').test(offer)).toBe(true);
    expect(re('G729').test(offer)).toBe(true);
    expect(re('PCMA').test(offer)).toBe(false);
    expect(re('PCMU').test('m=audio 4000 RTP/AVP 18 101\r\n')).toBe(false);
    expect(re('OPUS').test('a=rtpmap:111 opus/48000/2')).toBe(true);
  });

  it('callee that refuses, or never answers and handles CANCEL', () => {
    const busy = uas(
      { ...callee!, answer: { ...callee!.answer, code: 486, ring_ms: 0, never: false } },
      { finals: [] },
    );
    wellFormed(busy);
    expect(busy).toContain('SIP/2.0 486 Busy Here');
    expect(busy).not.toContain(
      'SIP/2.0 200 OK\n      [last_Via:]\n      [last_Record-Route:]\n      [last_From:]\n      [last_To:];tag',
    );
    const never = uas(
      { ...callee!, answer: { ...callee!.answer, code: 200, ring_ms: 0, never: true } },
      { finals: [] },
    );
    wellFormed(never);
    expect(never).toContain('<recv request="CANCEL" timeout="3600000" />');
    expect(never).toContain('SIP/2.0 487 Request Terminated');
    expect(never).toContain('CSeq: [last_cseq_number] INVITE');
  });

  it('REGISTER and OPTIONS', () => {
    const reg = uacRegister({ finals: [200] });
    wellFormed(reg);
    expect(reg).toContain(
      'Contact: <sip:[field0]@[local_ip]:[contact_port];transport=[transport]>',
    );
    expect(reg).toContain('Expires: [expires]');
    // a wrong password: the second challenge is the final answer
    const bad = uacRegister({ finals: [401, 403] });
    expect(bad).toMatch(
      /<recv response="403" optional="true" next="refused" \/>\n {2}<recv response="401" next="refused" \/>/,
    );
    const opt = uacOptions({ finals: [200] });
    wellFormed(opt);
    expect(opt).toContain('OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0');
  });
});
