import { afterEach, describe, expect, it } from 'vitest';
import type { Phone } from './phone';
import { buildPidf, parseDialogInfo, parsePidf } from './presence';
import { makePhone, until } from './testing/harness';
import type { FakeSipServer, SipMessage } from './testing/fake-sip-server';

// BLF (RFC 4235 dialog package) and our own presence (RFC 3903 PUBLISH of a
// PIDF) in the core, against the fake SIP server behind a fake WebSocket.

let phone: Phone | undefined;
afterEach(async () => {
  await phone?.stop();
  phone = undefined;
});

const dialogInfo = (entity: string, dialogs: { state: string; direction?: string }[]) =>
  `<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="${entity}">` +
  dialogs
    .map(
      (d, i) =>
        `<dialog id="d${i}" call-id="c${i}"${d.direction ? ` direction="${d.direction}"` : ''}><state>${d.state}</state></dialog>`,
    )
    .join('') +
  '</dialog-info>';

/** Answers SUBSCRIBE with 200 and returns a function that NOTIFYs inside that dialog. */
function acceptSubscribe(server: FakeSipServer): { notify: (body: string) => void } {
  let sub: SipMessage | undefined;
  let seq = 1;
  server.handlers.SUBSCRIBE = (req, ws) => {
    sub = req;
    server.reply(ws, req, 200, 'OK', {
      toTag: 'b1',
      headers: ['Expires: 600', 'Contact: <sip:pres@127.0.0.1>'],
    });
    return true;
  };
  return {
    notify: (body: string) => {
      const req = sub!;
      const contact = /<([^>]+)>/.exec(req.header('contact') ?? '')?.[1] ?? '';
      server.sendRequest(
        [
          `NOTIFY ${contact} SIP/2.0`,
          `Via: SIP/2.0/WSS 127.0.0.1:8443;branch=z9hG4bKb${seq}`,
          'Max-Forwards: 70',
          `From: ${req.header('to')};tag=b1`,
          `To: ${req.header('from')}`,
          `Call-ID: ${req.header('call-id')}`,
          `CSeq: ${seq++} NOTIFY`,
          `Event: ${req.header('event')}`,
          'Subscription-State: active;expires=600',
          'Contact: <sip:pres@127.0.0.1>',
          'Content-Type: application/dialog-info+xml',
        ],
        body,
      );
    },
  };
}

describe('dialog-info and PIDF documents', () => {
  it('a line is busy on a confirmed dialog, ringing on an early one it receives, idle otherwise', () => {
    const e = 'sip:1002@localhost';
    expect(parseDialogInfo(dialogInfo(e, []))).toBe('idle');
    expect(parseDialogInfo(dialogInfo(e, [{ state: 'terminated', direction: 'recipient' }]))).toBe(
      'idle',
    );
    expect(parseDialogInfo(dialogInfo(e, [{ state: 'early', direction: 'recipient' }]))).toBe(
      'ringing',
    );
    // dialling out is busy, and so is any answered call (also while another rings)
    expect(parseDialogInfo(dialogInfo(e, [{ state: 'early', direction: 'initiator' }]))).toBe(
      'busy',
    );
    expect(
      parseDialogInfo(
        dialogInfo(e, [
          { state: 'confirmed', direction: 'initiator' },
          { state: 'early', direction: 'recipient' },
        ]),
      ),
    ).toBe('busy');
  });

  it('reads and writes PIDF with RPID away', () => {
    const doc = buildPidf('sip:1003@localhost', {
      status: 'open',
      away: true,
      note: 'Lunch & <more>',
    });
    expect(doc).toContain('<basic>open</basic>');
    expect(doc).toContain('<rpid:away/>');
    expect(doc).toContain('Lunch &amp; &lt;more&gt;');
    expect(parsePidf(doc)).toEqual({ status: 'open', note: 'Lunch & <more>', away: true });
    expect(parsePidf(buildPidf('sip:1003@localhost', { status: 'open' }))).toEqual({
      status: 'open',
      note: undefined,
    });
  });
});

describe("an agent's contact-center state in the aggregated PIDF", () => {
  // What 1001 got from Kamailio's presence server in test/integration/presence-agents.test.ts:
  // the softphone's own publication and the gateway's, aggregated by presence_xml.
  const aggregated = (ccBasic: string, state: string, note: string, extra = '', person = '') =>
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:1003@localhost">\n' +
    '  <tuple id="softphone"><status><basic>open</basic></status></tuple>\n' +
    '  <tuple xmlns="urn:ietf:params:xml:ns:pidf" xmlns:cc="urn:x-webrtc-sip-gateway:contact-center" id="contact-center">' +
    `<status><basic>${ccBasic}</basic></status><cc:state>${state}</cc:state>${extra}<note>${note}</note></tuple>\n` +
    person +
    '</presence>\n';
  const away =
    '  <dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="contact-center">' +
    '<rpid:activities><rpid:away/></rpid:activities></dm:person>\n';

  it('prefers the contact center while the agent is signed in to it', () => {
    expect(parsePidf(aggregated('open', 'wrap-up', 'Wrap-up'))).toEqual({
      status: 'open',
      note: 'Wrap-up',
      agent: { state: 'wrap-up', note: 'Wrap-up' },
    });
    expect(
      parsePidf(
        aggregated('open', 'not-ready', 'Paused: lunch', '<cc:reason>lunch</cc:reason>', away),
      ),
    ).toEqual({
      status: 'open',
      note: 'Paused: lunch',
      away: true,
      agent: { state: 'not-ready', note: 'Paused: lunch', reason: 'lunch' },
    });
  });

  it("shows the phone's own presence once the agent is offline there, closed with nothing else", () => {
    expect(parsePidf(aggregated('closed', 'offline', 'Offline'))).toEqual({
      status: 'open',
      note: undefined,
      agent: { state: 'offline', note: 'Offline' },
    });
    const alone = aggregated('closed', 'offline', 'Offline').replace(
      /<tuple id="softphone">.*\n/,
      '',
    );
    expect(parsePidf(alone)).toEqual({
      status: 'closed',
      note: 'Offline',
      agent: { state: 'offline', note: 'Offline' },
    });
  });

  it("keeps a softphone's own away when there is no contact-center tuple", () => {
    const own = buildPidf('sip:1003@localhost', { status: 'open', away: true, note: 'Away' });
    expect(parsePidf(own)).toEqual({ status: 'open', note: 'Away', away: true });
  });
});

describe('BLF subscriptions', () => {
  it('subscribes to the dialog package and reports idle → ringing → busy → idle', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    const blf = acceptSubscribe(h.server);
    const sub = h.phone.subscribeDialog('1002');
    const subscribe = await h.server.waitForRequest('SUBSCRIBE');
    expect(subscribe.header('event')).toBe('dialog');
    expect(subscribe.header('accept')).toBe('application/dialog-info+xml');
    const e = 'sip:1002@localhost';
    const states = () => (h.events.dialog ?? []).map((d) => d.state);
    blf.notify(dialogInfo(e, []));
    await until(() => states().length === 1);
    blf.notify(dialogInfo(e, [{ state: 'early', direction: 'recipient' }]));
    await until(() => states().length === 2);
    blf.notify(dialogInfo(e, [{ state: 'confirmed', direction: 'recipient' }]));
    await until(() => states().length === 3);
    blf.notify(dialogInfo(e, [{ state: 'terminated', direction: 'recipient' }]));
    await until(() => states().length === 4);
    expect(states()).toEqual(['idle', 'ringing', 'busy', 'idle']);
    expect(h.events.dialog?.[1]).toEqual({ target: e, state: 'ringing', subscription: 'active' });
    expect(sub.target).toBe(e);
  });
});

describe('own presence', () => {
  it('publishes once registered, again only on a change, and withdraws it on sign-out', async () => {
    const h = makePhone();
    phone = h.phone;
    const publishes: SipMessage[] = [];
    h.server.handlers.PUBLISH = (req, ws) => {
      publishes.push(req);
      h.server.reply(ws, req, 200, 'OK', {
        headers: [`SIP-ETag: e${publishes.length}`, `Expires: ${req.header('expires') ?? 600}`],
      });
      return true;
    };
    h.phone.setPresence({ status: 'open' }); // before start: sent once registered
    await h.phone.start();
    await until(() => publishes.length === 1);
    expect(publishes[0]!.header('event')).toBe('presence');
    expect(publishes[0]!.header('content-type')).toBe('application/pidf+xml');
    expect(publishes[0]!.body).toContain('entity="sip:1001@localhost"');
    expect(publishes[0]!.body).toContain('<basic>open</basic>');
    h.phone.setPresence({ status: 'open' });
    h.phone.setPresence({ status: 'open', away: true, note: 'Break' });
    await until(() => publishes.length === 2);
    expect(publishes[1]!.header('sip-if-match')).toBe('e1');
    expect(publishes[1]!.body).toContain('<rpid:away/>');
    expect(publishes[1]!.body).toContain('<note>Break</note>');
    await h.phone.stop();
    phone = undefined;
    // the unpublish: Expires 0 with the last entity tag
    expect(publishes.length).toBe(3);
    expect(publishes[2]!.header('expires')).toBe('0');
    expect(publishes[2]!.header('sip-if-match')).toBe('e2');
  });
});
